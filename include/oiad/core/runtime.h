// Process-wide runtime setup: BLAS kernels and thread counts.
#pragma once

#include <string>

namespace oiad {

/// The kernel family OpenBLAS selected ("SkylakeX", "Haswell", "Prescott", ...), or
/// "unknown" when the BLAS in use is not OpenBLAS.
std::string blas_core_name();

/// The OpenBLAS core this CPU should use when OpenBLAS falls back to 'Prescott' because it
/// does not recognise the CPU: "SkylakeX" with AVX-512, "Haswell" with AVX2+FMA, else "".
std::string preferred_blas_core();

/// Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to its slow
/// 'Prescott' kernels. OPENBLAS_CORETYPE is read when the library loads, i.e. before main,
/// so when the fallback is detected this re-executes the program once with it set.
/// Does nothing when OPENBLAS_CORETYPE is already set (by the user or by the re-exec),
/// when OIAD_NO_REEXEC is set, or when the kernels in use are not the fallback.
void maybe_reexec_for_fast_blas(char** argv);

/// Sets the threads LibTorch (intra-op, OpenMP) and OpenBLAS use. n <= 0: every core.
void set_num_threads(int n);
int num_threads();

}  // namespace oiad
