// An inference-only copy of the Detector-VAE decoder that runs the transposed convolutions
// as matrix products: the detector decodes thousands of PR-morphs per scored image, and
// LibTorch 1.13's CPU transposed convolution (im2col + col2im, channels-first) ran at about
// 10% of this machine's sgemm rate (docs/performance-history.md).
//
// A 4x4, stride-2, padding-1 transposed convolution writes output pixel (2m + p, 2n + q)
// from exactly 2x2 input pixels: rows m (kernel row 1) and m - 1 (row 3) when p = 0, rows
// m + 1 (row 0) and m (row 2) when p = 1; the same for columns. So each of the four output
// phases (p, q) is an ordinary 2x2 convolution of the input: with the input channels-last,
// one (B·H·W, 4·Cin) x (4·Cin, Cout) product per phase, whose rows are interleaved into the
// (B, 2H, 2W, Cout) output with the bias and ReLU. Same FLOPs as the layer, no col2im.
// The products run in direct register-tiled kernels on zero-bordered activations, so no
// im2col matrix is built either (deconv_kernels.h).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "oiad/detect/deconv_kernels.h"
#include "oiad/model/networks.h"

namespace oiad::detect {

class FastDecoder {
 public:
  /// Copies the weights of `decoder` (later changes to it are not seen). `isa`: the kernel
  /// set (tests run each one the CPU can; the default is the widest).
  explicit FastDecoder(model::ConvDecoder decoder, kernels::Isa isa = kernels::best_isa());
  /// z (B, d) float32 -> logits (B, C, S, S) float32, equal to decoder->forward(z) up to
  /// float rounding (tested to 1e-5).
  torch::Tensor forward(const torch::Tensor& z) const;

 private:
  struct Layer {
    kernels::DeconvWeights w;
    bool relu = true;
  };
  kernels::Isa isa_;
  torch::Tensor dense1_wt_, dense1_b_, dense2_wt_, dense2_b_;  // (d, h) transposed, (h)
  int base_ = 2;
  std::vector<Layer> layers_;
};

}  // namespace oiad::detect
