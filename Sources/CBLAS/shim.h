#ifndef DYCONV_CBLAS_SHIM_H
#define DYCONV_CBLAS_SHIM_H
#include <cblas.h>
#endif
