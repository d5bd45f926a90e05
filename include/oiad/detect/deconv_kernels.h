// Direct kernels for the decoder's 4x4, stride-2, padding-1 transposed convolutions, without
// im2col and without LibTorch (fast_decoder.h explains the phase split they rely on).
//
// Activations are channels-last with a one-pixel zero border ("padded"): image b, padded row
// y, padded column x, channel c at ((b·(S+2) + y)·(S+2) + x)·C + c, interior pixel (m, n) at
// padded (m + 1, n + 1). With the border, the 2x2 input pixels an output phase reads are at
// four fixed offsets from the pixel's own address, so a register tile of R output pixels x
// Cout channels is accumulated straight from the activations: per input channel, Cout/W
// weight vectors are loaded once and multiplied by R broadcast inputs.
//
// Each kernel set is compiled three times (AVX-512, AVX2+FMA, baseline x86-64) from one
// source; `best_isa()` picks the widest the CPU runs, and tests run every set the CPU can.
#pragma once

#include <cstdint>
#include <vector>

namespace oiad::detect::kernels {

enum class Isa { baseline, avx2, avx512 };
/// The widest kernel set this CPU runs.
Isa best_isa();
/// Whether this CPU runs `isa`.
bool cpu_runs(Isa isa);
const char* isa_name(Isa isa);

/// One transposed convolution's weights, rearranged for the kernels.
struct DeconvWeights {
  int cin = 0, cout = 0;
  std::vector<float> phase;  ///< [phase p·2+q][tap a·2+c][cin][cout]
  std::vector<float> dot;    ///< [phase][cout][tap][cin] (for small cout)
  std::vector<float> bias;   ///< [cout]
};
/// `weight` in LibTorch's ConvTranspose2d layout (cin, cout, 4, 4), `bias` (cout).
DeconvWeights prepare_deconv(const float* weight, const float* bias, int cin, int cout);

/// in: (nb, side+2, side+2, cin) padded. Writes, with bias and (if relu) ReLU, either the
/// interior of the padded (nb, 2·side+2, 2·side+2, cout) `out` (border untouched), or with
/// out_padded = false the channels-first (nb, cout, 2·side, 2·side) `out`.
void deconv(Isa isa, const DeconvWeights& w, const float* in, int64_t nb, int side, bool relu, float* out,
            bool out_padded);

/// Zeroes the border of a padded (nb, side+2, side+2, c) buffer.
void zero_border(float* buf, int64_t nb, int side, int c);

namespace impl {  // one definition per kernel set (deconv_kernels_<isa>.cpp)
void deconv_avx512(const DeconvWeights&, const float*, int64_t, int, bool, float*, bool);
void deconv_avx2(const DeconvWeights&, const float*, int64_t, int, bool, float*, bool);
void deconv_baseline(const DeconvWeights&, const float*, int64_t, int, bool, float*, bool);
}  // namespace impl

}  // namespace oiad::detect::kernels
