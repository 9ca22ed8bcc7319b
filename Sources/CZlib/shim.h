#ifndef DYCONV_CZLIB_SHIM_H
#define DYCONV_CZLIB_SHIM_H
#include <zlib.h>
#endif
