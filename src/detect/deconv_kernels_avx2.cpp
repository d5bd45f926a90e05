// AVX2 + FMA kernel set (compiled with -mavx2 -mfma; see deconv_kernels_impl.h).
#define OIAD_VW 8
#define OIAD_ACC 12
#define OIAD_FN deconv_avx2
#include "deconv_kernels_impl.h"
