// JPEG decoding through libjpeg-turbo, from memory (jpeg_mem_src). Its error_exit must not
// return: ours longjmps back into dyconv_jpeg_decode, which destroys the decompressor.
// Decoding settings are libjpeg's defaults (ISLOW integer IDCT, fancy upsampling), which is
// what Pillow uses when it opens a JPEG.
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "CImageCodecs.h"

typedef struct {
    struct jpeg_error_mgr manager;  // first: libjpeg hands back a pointer to it
    jmp_buf jump;
    int max_scans;
    dyconv_image_result *result;
} jpeg_context;

static void leave(j_common_ptr cinfo, dyconv_image_status status) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    context->result->status = status;
    snprintf(context->result->message, sizeof context->result->message, "%s", text);
    longjmp(context->jump, 1);
}

static void on_error(j_common_ptr cinfo) {
    switch (cinfo->err->msg_code) {
    case JERR_OUT_OF_MEMORY:
    case JERR_NO_BACKING_STORE:  // the coefficient buffer does not fit max_memory_to_use
        leave(cinfo, DYCONV_IMAGE_TOO_LARGE);
        break;
    case JERR_BAD_PRECISION:     // 12- or 16-bit samples: this libjpeg reads 8-bit JPEG
    case JERR_SOF_UNSUPPORTED:   // lossless and hierarchical JPEG
    case JERR_NOT_COMPILED:
        leave(cinfo, DYCONV_IMAGE_UNSUPPORTED);
        break;
    default:
        leave(cinfo, DYCONV_IMAGE_CORRUPT);
    }
}

// Warnings: libjpeg pads a file that ends early with an EOI and goes on with grey blocks; a
// truncated file is an error here (Pillow refuses it too). Corrupt-data warnings inside
// complete files are tolerated, as Pillow and libjpeg's own tools do. Nothing is printed.
static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) leave(cinfo, DYCONV_IMAGE_TRUNCATED);
}

// Progress callback: bounds the scans of a progressive file.
static void on_progress(j_common_ptr cinfo) {
    jpeg_context *context = (jpeg_context *)cinfo->err;
    j_decompress_ptr decompressor = (j_decompress_ptr)cinfo;
    if (decompressor->input_scan_number > context->max_scans) {
        context->result->status = DYCONV_IMAGE_TOO_LARGE;
        snprintf(context->result->message, sizeof context->result->message,
                 "more than %d progressive scans", context->max_scans);
        longjmp(context->jump, 1);
    }
}

static dyconv_image_status finish(struct jpeg_decompress_struct *cinfo, dyconv_image_result *result,
                                  dyconv_image_status status, const char *message) {
    jpeg_destroy_decompress(cinfo);
    result->status = status;
    if (message != NULL) snprintf(result->message, sizeof result->message, "%s", message);
    return status;
}

dyconv_image_status dyconv_jpeg_decode(const uint8_t *data, size_t size,
                                       uint8_t *out, size_t out_size,
                                       int max_scans, long max_memory, dyconv_image_result *result) {
    memset(result, 0, sizeof *result);
    struct jpeg_decompress_struct cinfo;
    jpeg_context context;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&context, 0, sizeof context);
    context.max_scans = max_scans;
    context.result = result;
    cinfo.err = jpeg_std_error(&context.manager);
    context.manager.error_exit = on_error;
    context.manager.emit_message = on_message;
    struct jpeg_progress_mgr progress = {.progress_monitor = on_progress};
    if (setjmp(context.jump)) {
        // Reached from on_error / on_message / on_progress; jpeg_destroy is safe at any stage
        // (also before jpeg_create_decompress finished: it zeroed or filled cinfo).
        jpeg_destroy_decompress(&cinfo);
        return result->status;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    cinfo.mem->max_memory_to_use = max_memory;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    result->width = cinfo.image_width;
    result->height = cinfo.image_height;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        result->channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        result->channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        return finish(&cinfo, result, DYCONV_IMAGE_UNSUPPORTED,
                      "CMYK JPEG is not supported; save it as RGB (e.g. convert in.jpg -colorspace sRGB out.jpg)");
    default:
        return finish(&cinfo, result, DYCONV_IMAGE_UNSUPPORTED, "JPEG with an unknown colour space is not supported");
    }
    if (out == NULL) return finish(&cinfo, result, DYCONV_IMAGE_OK, NULL);

    size_t row_bytes = (size_t)cinfo.image_width * result->channels;
    if (cinfo.image_height != 0 && row_bytes > out_size / cinfo.image_height) {
        return finish(&cinfo, result, DYCONV_IMAGE_TOO_LARGE, "the output buffer is smaller than the image");
    }
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != cinfo.image_width || cinfo.output_height != cinfo.image_height ||
        (uint32_t)cinfo.output_components != result->channels) {
        return finish(&cinfo, result, DYCONV_IMAGE_CORRUPT, "unexpected output layout");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * row_bytes;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            return finish(&cinfo, result, DYCONV_IMAGE_TRUNCATED, "the file ends before the image data does");
        }
    }
    // Not jpeg_finish_decompress: what follows the last scanline (EOI, trailing bytes) does not
    // change the pixels, and Pillow does not read it either.
    return finish(&cinfo, result, DYCONV_IMAGE_OK, NULL);
}
