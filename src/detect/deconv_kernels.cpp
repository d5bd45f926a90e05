#include "oiad/detect/deconv_kernels.h"

#include <algorithm>

#include "oiad/core/error.h"

namespace oiad::detect::kernels {

bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::avx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::baseline: return true;
  }
  return false;
}

Isa best_isa() {
  static const Isa best = cpu_runs(Isa::avx512) ? Isa::avx512 : cpu_runs(Isa::avx2) ? Isa::avx2 : Isa::baseline;
  return best;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::baseline: return "baseline";
  }
  return "?";
}

DeconvWeights prepare_deconv(const float* weight, const float* bias, int cin, int cout) {
  OIAD_CHECK(cin >= 1 && cout >= 1, "deconv: ", cin, " input and ", cout, " output channels");
  // Output phase p reads kernel rows kKernel[p][a] for its taps a = 0, 1 (fast_decoder.h).
  constexpr int kKernel[2][2] = {{1, 3}, {0, 2}};
  DeconvWeights w;
  w.cin = cin, w.cout = cout;
  const int64_t block = int64_t(4) * cin * cout;
  w.phase.resize(size_t(4 * block));
  w.dot.resize(size_t(4 * block));
  w.bias.assign(bias, bias + cout);
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 2; ++q)
      for (int a = 0; a < 2; ++a)
        for (int c = 0; c < 2; ++c) {
          const int ph = p * 2 + q, t = a * 2 + c, ky = kKernel[p][a], kx = kKernel[q][c];
          for (int i = 0; i < cin; ++i)
            for (int o = 0; o < cout; ++o) {
              const float v = weight[((int64_t(i) * cout + o) * 4 + ky) * 4 + kx];
              w.phase[size_t(ph * block + (int64_t(t) * cin + i) * cout + o)] = v;
              w.dot[size_t(ph * block + (int64_t(o) * 4 + t) * cin + i)] = v;
            }
        }
  return w;
}

void deconv(Isa isa, const DeconvWeights& w, const float* in, int64_t nb, int side, bool relu, float* out,
            bool out_padded) {
  OIAD_CHECK(cpu_runs(isa), "deconv: this CPU does not run the ", isa_name(isa), " kernels");
  switch (isa) {
    case Isa::avx512: impl::deconv_avx512(w, in, nb, side, relu, out, out_padded); break;
    case Isa::avx2: impl::deconv_avx2(w, in, nb, side, relu, out, out_padded); break;
    case Isa::baseline: impl::deconv_baseline(w, in, nb, side, relu, out, out_padded); break;
  }
}

void zero_border(float* buf, int64_t nb, int side, int c) {
  const int64_t row = int64_t(side + 2) * c, img = (side + 2) * row;
  for (int64_t b = 0; b < nb; ++b) {
    float* im = buf + b * img;
    std::fill(im, im + row, 0.0f);
    std::fill(im + (side + 1) * row, im + img, 0.0f);
    for (int y = 1; y <= side; ++y) {
      std::fill(im + y * row, im + y * row + c, 0.0f);
      std::fill(im + y * row + (side + 1) * c, im + (y + 1) * row, 0.0f);
    }
  }
}

}  // namespace oiad::detect::kernels
