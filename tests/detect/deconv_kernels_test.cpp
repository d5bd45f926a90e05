#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "oiad/core/random.h"
#include "oiad/detect/deconv_kernels.h"

namespace oiad::detect::kernels {
namespace {

// Brute force from the definition of a transposed convolution (stride 2, padding 1, 4x4
// kernel): input pixel (iy, ix) adds w[i][o][ky][kx]·x[i][iy][ix] to output pixel
// (2·iy - 1 + ky, 2·ix - 1 + kx) when that lies inside the 2S x 2S output.
std::vector<double> brute_force(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                int nb, int cin, int cout, int s) {
  const int os = 2 * s;
  std::vector<double> y(size_t(nb) * cout * os * os);
  for (int n = 0; n < nb; ++n)
    for (int o = 0; o < cout; ++o)
      for (int p = 0; p < os * os; ++p) y[size_t((n * cout + o) * os * os + p)] = b[size_t(o)];
  for (int n = 0; n < nb; ++n)
    for (int i = 0; i < cin; ++i)
      for (int iy = 0; iy < s; ++iy)
        for (int ix = 0; ix < s; ++ix)
          for (int o = 0; o < cout; ++o)
            for (int ky = 0; ky < 4; ++ky)
              for (int kx = 0; kx < 4; ++kx) {
                const int oy = 2 * iy - 1 + ky, ox = 2 * ix - 1 + kx;
                if (oy < 0 || oy >= os || ox < 0 || ox >= os) continue;
                y[size_t(((n * cout + o) * os + oy) * os + ox)] +=
                    double(w[size_t(((i * cout + o) * 4 + ky) * 4 + kx)]) * x[size_t(((n * cin + i) * s + iy) * s + ix)];
              }
  return y;
}

// Every kernel set the CPU runs, for channel counts that take the register tiles (cout a
// multiple of the vector width), the small-cout dot kernels (1, 2, 3) and the generic ones
// (odd cin, cout 5), both output layouts, with and without ReLU; 3 images of 2x2..8x8.
TEST(DeconvKernels, EqualBruteForceTransposedConvolution) {
  struct Case { int cin, cout, side; };
  const Case cases[] = {{64, 64, 2}, {64, 32, 4}, {32, 32, 8}, {32, 1, 8}, {32, 3, 4}, {16, 2, 4}, {7, 5, 3},
                        {5, 16, 2}, {8, 8, 4}, {3, 48, 3}};
  Rng rng(11);
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::baseline}) {
    if (!cpu_runs(isa)) continue;
    for (const Case& c : cases)
      for (bool padded : {true, false})
        for (bool relu : {false, true}) {
          const int nb = 3, s = c.side, os = 2 * s;
          std::vector<float> x(size_t(nb) * c.cin * s * s), w(size_t(c.cin) * c.cout * 16), b(size_t(c.cout));
          for (float& v : x) v = float(rng.uniform(-1, 1));
          for (float& v : w) v = float(rng.uniform(-1, 1));
          for (float& v : b) v = float(rng.uniform(-1, 1));
          const auto want = brute_force(x, w, b, nb, c.cin, c.cout, s);
          // Padded channels-last input with a non-zero sentinel everywhere but the border,
          // which zero_border must clear.
          std::vector<float> in(size_t(nb) * (s + 2) * (s + 2) * c.cin, 7.0f);
          zero_border(in.data(), nb, s, c.cin);
          for (int n = 0; n < nb; ++n)
            for (int i = 0; i < c.cin; ++i)
              for (int y = 0; y < s; ++y)
                for (int xx = 0; xx < s; ++xx)
                  in[size_t(((n * (s + 2) + y + 1) * (s + 2) + xx + 1) * c.cin + i)] =
                      x[size_t(((n * c.cin + i) * s + y) * s + xx)];
          const DeconvWeights dw = prepare_deconv(w.data(), b.data(), c.cin, c.cout);
          const size_t out_size = padded ? size_t(nb) * (os + 2) * (os + 2) * c.cout : size_t(nb) * c.cout * os * os;
          std::vector<float> out(out_size, -99.0f);
          deconv(isa, dw, in.data(), nb, s, relu, out.data(), padded);
          double worst = 0;
          int border_touched = 0;
          for (int n = 0; n < nb; ++n)
            for (int o = 0; o < c.cout; ++o)
              for (int y = 0; y < os; ++y)
                for (int xx = 0; xx < os; ++xx) {
                  double e = want[size_t(((n * c.cout + o) * os + y) * os + xx)];
                  if (relu) e = std::max(e, 0.0);
                  const float got = padded ? out[size_t(((n * (os + 2) + y + 1) * (os + 2) + xx + 1) * c.cout + o)]
                                           : out[size_t(((n * c.cout + o) * os + y) * os + xx)];
                  worst = std::max(worst, std::abs(got - e));
                }
          if (padded)
            for (int n = 0; n < nb; ++n)
              for (int y = 0; y < os + 2; ++y)
                for (int xx = 0; xx < os + 2; ++xx)
                  if (y == 0 || xx == 0 || y == os + 1 || xx == os + 1)
                    for (int o = 0; o < c.cout; ++o)
                      border_touched += out[size_t(((n * (os + 2) + y) * (os + 2) + xx) * c.cout + o)] != -99.0f;
          EXPECT_LT(worst, 1e-4) << isa_name(isa) << " cin " << c.cin << " cout " << c.cout << " side " << s
                                 << (padded ? " padded" : " channels-first") << (relu ? " relu" : "");
          EXPECT_EQ(border_touched, 0) << isa_name(isa) << " cin " << c.cin << " cout " << c.cout;
        }
  }
}

}  // namespace
}  // namespace oiad::detect::kernels
