#ifndef DYCONV_CJPEG_SHIM_H
#define DYCONV_CJPEG_SHIM_H
// libjpeg-turbo (Debian libjpeg62-turbo-dev). Swift never calls it directly: its error_exit
// must not return, so CImageCodecs wraps it in C with a setjmp that stays inside C.
#include <stddef.h>
#include <stdio.h>  // jpeglib.h uses FILE and size_t without including their headers
#include <jpeglib.h>
#endif
