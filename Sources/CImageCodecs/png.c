// PNG decoding through libpng's full (not simplified) read API. The simplified API
// (png_image_*) was the first choice but does not fit: it converts any file whose gAMA chunk is
// not sRGB (and every 16-bit file without one) to sRGB, and composites alpha onto a background,
// where Pillow — what torchvision models were trained through — ignores gAMA and drops alpha.
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "CImageCodecs.h"

typedef struct {
    jmp_buf jump;
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    // libpng explains an invalid IHDR in warnings ("Image width is zero in IHDR") before its
    // error ("Invalid IHDR data"); the last such warning is added to the error's message.
    char ihdr_warning[120];
    dyconv_image_result *result;
} png_context;

// libpng's error callback: keep the message, then leave through our own jmp_buf (never returns).
static void on_error(png_structp png, png_const_charp message) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    context->result->status = context->truncated ? DYCONV_IMAGE_TRUNCATED : DYCONV_IMAGE_CORRUPT;
    if (context->ihdr_warning[0] != 0) {
        snprintf(context->result->message, sizeof context->result->message, "%s (%s)", message, context->ihdr_warning);
    } else {
        snprintf(context->result->message, sizeof context->result->message, "%s", message);
    }
    longjmp(context->jump, 1);
}

// Warnings (an ancillary chunk with a bad CRC, an odd iCCP profile) do not stop decoding,
// as in Pillow; they are not printed. Those about IHDR are kept for the error that follows.
static void on_warning(png_structp png, png_const_charp message) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    if (strstr(message, "IHDR") != NULL) {
        snprintf(context->ihdr_warning, sizeof context->ihdr_warning, "%s", message);
    }
}

// The read callback: from the memory buffer; running out is an error (libpng cannot go on).
static void read_memory(png_structp png, png_bytep out, size_t count) {
    png_context *context = (png_context *)png_get_io_ptr(png);
    if (count > context->size - context->position) {
        context->truncated = 1;
        png_error(png, "the file ends before the image data does");
    }
    memcpy(out, context->data + context->position, count);
    context->position += count;
}

static dyconv_image_status fail(dyconv_image_result *result, dyconv_image_status status, const char *message) {
    result->status = status;
    snprintf(result->message, sizeof result->message, "%s", message);
    return status;
}

dyconv_image_status dyconv_png_decode(const uint8_t *data, size_t size,
                                      uint8_t *out, size_t out_size, dyconv_image_result *result) {
    memset(result, 0, sizeof *result);
    png_context context = {.data = data, .size = size, .result = result};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, on_error, on_warning);
    if (png == NULL) return fail(result, DYCONV_IMAGE_TOO_LARGE, "out of memory");
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fail(result, DYCONV_IMAGE_TOO_LARGE, "out of memory");
    }
    if (setjmp(context.jump)) {
        // Reached from on_error; png and info were assigned before setjmp and not since.
        png_destroy_read_struct(&png, &info, NULL);
        return result->status;
    }
    // The caller checks the size against its own limits after phase 1; libpng's default
    // (1,000,000 a side) would refuse first with a different message.
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_read_fn(png, &context, read_memory);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    result->width = width;
    result->height = height;
    // Output channels from the colour type alone: png_read_update_info would allocate a row
    // buffer of the declared width, which phase 1 must not do before the caller's checks.
    result->channels = (color & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    if (out == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        return DYCONV_IMAGE_OK;
    }
    size_t row_bytes = (size_t)width * result->channels;
    if (height != 0 && row_bytes > out_size / height) {
        png_destroy_read_struct(&png, &info, NULL);
        return fail(result, DYCONV_IMAGE_TOO_LARGE, "the output buffer is smaller than the image");
    }

    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    // Alpha is dropped: an alpha channel, and the alpha that palette expansion makes of a tRNS
    // chunk (png_set_palette_to_rgb expands tRNS too); grey and RGB tRNS is never expanded.
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != result->channels || png_get_rowbytes(png, info) != row_bytes) {
        png_destroy_read_struct(&png, &info, NULL);
        return fail(result, DYCONV_IMAGE_CORRUPT, "unexpected row layout after conversion to 8-bit grey or RGB");
    }
    // Interlaced files come in 7 passes; each pass writes its pixels into the final rows.
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(png, out + (size_t)y * row_bytes, NULL);
        }
    }
    // The chunks after the image data (and IEND) are not read: Pillow does not need them either.
    png_destroy_read_struct(&png, &info, NULL);
    return DYCONV_IMAGE_OK;
}
