// Baseline x86-64 (SSE2) kernel set, for CPUs without AVX2; see deconv_kernels_impl.h.
#define OIAD_VW 4
#define OIAD_ACC 12
#define OIAD_FN deconv_baseline
#include "deconv_kernels_impl.h"
