#ifndef DYCONV_CPNG_SHIM_H
#define DYCONV_CPNG_SHIM_H
// libpng 1.6 (Debian libpng-dev). Swift never calls it directly: libpng reports errors by
// longjmp, which must not cross Swift frames, so CImageCodecs wraps it in C.
#include <png.h>
#endif
