#include "oiad/core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace oiad {

std::string blas_core_name() {
  using Fn = char* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!fn) return "unknown";
  const char* s = fn();
  return s ? s : "unknown";
}

std::string preferred_blas_core() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

void maybe_reexec_for_fast_blas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("OIAD_NO_REEXEC")) return;
  std::string core = blas_core_name();
  for (auto& ch : core) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (core != "prescott") return;  // OpenBLAS recognised the CPU, or this is not OpenBLAS
  const std::string want = preferred_blas_core();
  if (want.empty()) return;  // a genuinely old CPU: Prescott is right
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  execv("/proc/self/exe", argv);
  // exec failed: go on with the slow kernels, which are still correct.
  unsetenv("OPENBLAS_CORETYPE");
}

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  using Fn = void (*)(int);
  if (auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
}

int num_threads() { return at::get_num_threads(); }

}  // namespace oiad
