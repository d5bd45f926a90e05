// AVX-512 kernel set (compiled with -mavx512f -mavx2 -mfma; see deconv_kernels_impl.h).
#define OIAD_VW 16
#define OIAD_ACC 24
#define OIAD_FN deconv_avx512
#include "deconv_kernels_impl.h"
