#ifndef DYCONV_CIMAGECODECS_H
#define DYCONV_CIMAGECODECS_H
// PNG (libpng) and JPEG (libjpeg-turbo) decoding from a memory buffer, for DyConvData's
// ImageFile. Both libraries report errors with longjmp; the setjmp lives in these C functions,
// so a longjmp never crosses a Swift frame. Each call either succeeds or returns a status and a
// one-line message; it never exits, prints or leaks.
//
// Two phases, so that the caller checks the declared size against its limits before anything
// the size of the image is allocated:
//   1. out == NULL: parse the header only; fill width, height and channels (of the output).
//   2. out != NULL, out_size >= height * width * channels: decode 8-bit interleaved rows
//      (grey, or RGB) into out.
// Output rules: palette → RGB; alpha (an alpha channel or a tRNS chunk) is dropped; 16-bit
// samples keep their high byte; grey below 8 bits is scaled to 0…255; no gamma or colour
// management (as Pillow, which torchvision uses). JPEG: grey stays grey, YCbCr and RGB become
// RGB; CMYK and YCCK are refused.

#include <stddef.h>
#include <stdint.h>

/// Outcome of a decoder call.
typedef enum {
    DYCONV_IMAGE_OK = 0,
    /// The data is damaged: the library reported an error (bad CRC, invalid Huffman code, ...).
    DYCONV_IMAGE_CORRUPT = 1,
    /// The data ends before the image does.
    DYCONV_IMAGE_TRUNCATED = 2,
    /// A valid file of a kind dyconv does not read (CMYK JPEG).
    DYCONV_IMAGE_UNSUPPORTED = 3,
    /// The caller's buffer or limits do not fit what the header declares, or memory ran out.
    DYCONV_IMAGE_TOO_LARGE = 4,
} dyconv_image_status;

typedef struct {
    /// The status of the call.
    dyconv_image_status status;
    /// Image width and height in pixels, as the header declares them (filled by both phases
    /// once the header is read).
    uint32_t width;
    uint32_t height;
    /// Channels of the output: 1 (grey) or 3 (RGB).
    uint32_t channels;
    /// The reason when status != OK: one line, NUL-terminated.
    char message[200];
} dyconv_image_result;

/// Decodes the PNG in data[0..<size] (phase 1 when out is NULL). Returns result->status.
dyconv_image_status dyconv_png_decode(const uint8_t *data, size_t size,
                                      uint8_t *out, size_t out_size, dyconv_image_result *result);

/// Decodes the JPEG in data[0..<size] (phase 1 when out is NULL). `max_scans` bounds the
/// scans of a progressive file (each one re-reads the whole coefficient buffer: a tiny file of
/// thousands of empty scans would otherwise take minutes); `max_memory` bounds libjpeg's own
/// working memory in bytes. Returns result->status.
dyconv_image_status dyconv_jpeg_decode(const uint8_t *data, size_t size,
                                       uint8_t *out, size_t out_size,
                                       int max_scans, long max_memory, dyconv_image_result *result);

#endif
