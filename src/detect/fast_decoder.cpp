#include "oiad/detect/fast_decoder.h"

#include <ATen/Parallel.h>

#include <cstring>

#include "oiad/core/error.h"

namespace oiad::detect {

namespace {
// For output phase p (0 or 1) and tap a (0 or 1): the input offset and kernel index
// (derivation in fast_decoder.h: oy = 2·iy - 1 + ky).
constexpr int kOffset[2][2] = {{0, -1}, {1, 0}};
constexpr int kKernel[2][2] = {{1, 3}, {0, 2}};
}  // namespace

FastDecoder::FastDecoder(model::ConvDecoder decoder) {
  torch::NoGradGuard ng;
  auto dense = decoder->dense;
  auto l1 = dense[0]->as<torch::nn::Linear>(), l2 = dense[2]->as<torch::nn::Linear>();
  OIAD_CHECK(l1 && l2, "fast decoder: unexpected decoder layout");
  dense1_wt_ = l1->weight.detach().t().contiguous().clone();
  dense1_b_ = l1->bias.detach().clone();
  dense2_wt_ = l2->weight.detach().t().contiguous().clone();
  dense2_b_ = l2->bias.detach().clone();
  base_ = decoder->base_;
  auto deconv = decoder->deconv;
  const size_t n = deconv->size();
  for (size_t i = 0; i < n; ++i) {
    auto* t = deconv[i]->as<torch::nn::ConvTranspose2d>();
    if (!t) continue;  // ReLU
    const auto& o = t->options;
    const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    OIAD_CHECK(o.kernel_size()->at(0) == 4 && o.kernel_size()->at(1) == 4 && o.stride()->at(0) == 2 &&
                   o.stride()->at(1) == 2 && pad && (*pad)->at(0) == 1 && (*pad)->at(1) == 1 &&
                   o.output_padding()->at(0) == 0 && o.dilation()->at(0) == 1 && o.groups() == 1,
               "fast decoder: only 4x4 stride-2 padding-1 transposed convolutions");
    const auto w = t->weight.detach().to(torch::kFloat).contiguous();  // (cin, cout, 4, 4)
    Layer l;
    l.cin = int(w.size(0)), l.cout = int(w.size(1));
    for (int p = 0; p < 2; ++p)
      for (int q = 0; q < 2; ++q) {
        auto m = torch::empty({4 * l.cin, l.cout});
        for (int a = 0; a < 2; ++a)
          for (int c = 0; c < 2; ++c)
            m.slice(0, (a * 2 + c) * l.cin, (a * 2 + c + 1) * l.cin)
                .copy_(w.select(3, kKernel[q][c]).select(2, kKernel[p][a]));
        l.phase_weight[p * 2 + q] = m.contiguous();
      }
    l.bias = t->bias.detach().to(torch::kFloat).contiguous().clone();
    layers_.push_back(std::move(l));
  }
  OIAD_CHECK(!layers_.empty(), "fast decoder: no transposed convolutions found");
  layers_.back().relu = false;  // logits out
}

torch::Tensor FastDecoder::forward(const torch::Tensor& z_in) const {
  torch::NoGradGuard ng;
  const auto z = z_in.to(torch::kFloat).contiguous();
  const int64_t batch = z.size(0), d = z.size(1);
  const int64_t h1 = dense1_wt_.size(1), h2 = dense2_wt_.size(1);
  int64_t side = base_, max_act = h2;
  for (const Layer& l : layers_) side *= 2, max_act = std::max(max_act, side * side * l.cout);
  const int64_t out_side = side, out_c = layers_.back().cout;
  auto out = torch::empty({batch, out_side, out_side, out_c});
  const float* zp = z.data_ptr<float>();
  float* outp = out.data_ptr<float>();
  // Images are independent: each thread takes a share of the batch through every layer,
  // with its own buffers (no barrier between layers, activations stay in its cache).
  const int64_t threads = std::max(1, at::get_num_threads());
  const int64_t share = std::max<int64_t>(1, (batch + threads - 1) / threads);
  at::parallel_for(0, batch, share, [&](int64_t b0, int64_t b1) {
    const int64_t nb = b1 - b0;
    std::vector<float> act_a(size_t(nb * max_act)), act_b(size_t(nb * max_act)), hid(size_t(nb * h1));
    auto zt = torch::from_blob(const_cast<float*>(zp) + b0 * d, {nb, d});
    auto ht = torch::from_blob(hid.data(), {nb, h1});
    torch::addmm_out(ht, dense1_b_, zt, dense1_wt_).relu_();
    auto h2t = torch::from_blob(act_b.data(), {nb, h2});
    torch::addmm_out(h2t, dense2_b_, ht, dense2_wt_).relu_();
    // (nb, C, base, base) channels-first -> channels-last in act_a.
    const int64_t c0 = layers_.front().cin, bb = base_;
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t c = 0; c < c0; ++c)
        for (int64_t yx = 0; yx < bb * bb; ++yx) act_a[size_t((b * bb * bb + yx) * c0 + c)] = act_b[size_t((b * c0 + c) * bb * bb + yx)];
    float* in = act_a.data();
    float* nxt = act_b.data();
    int64_t hh = base_;
    std::vector<float> abuf, ybuf;
    for (size_t li = 0; li < layers_.size(); ++li) {
      const Layer& l = layers_[li];
      const bool last = li + 1 == layers_.size();
      float* dst_base = last ? outp + b0 * out_side * out_side * out_c : nxt;
      const int64_t ww = hh, k = 4 * int64_t(l.cin), rows = nb * hh * ww;
      const float* bias = l.bias.data_ptr<float>();
      const size_t cin_bytes = size_t(l.cin) * sizeof(float);
      // Rows per product: small enough for OpenBLAS's unpacked small-matrix kernel
      // (M·N·K <= 100³) and for the im2col block to stay in cache.
      const int64_t block = std::max<int64_t>(16, std::min<int64_t>(256, 1000000 / (k * l.cout)));
      abuf.resize(size_t(block * k));
      ybuf.resize(size_t(block * l.cout));
      for (int p = 0; p < 2; ++p)
        for (int q = 0; q < 2; ++q) {
          const torch::Tensor& wphase = l.phase_weight[p * 2 + q];
          for (int64_t r0 = 0; r0 < rows; r0 += block) {
            const int64_t nr = std::min(rows, r0 + block) - r0;
            // im2col of the 2x2 taps this phase reads, one row per input pixel.
            int64_t b = r0 / (hh * ww), m = (r0 / ww) % hh, n = r0 % ww;
            for (int64_t r = 0; r < nr; ++r) {
              float* row = abuf.data() + r * k;
              for (int ta = 0; ta < 2; ++ta) {
                const int64_t iy = m + kOffset[p][ta];
                for (int tc = 0; tc < 2; ++tc) {
                  const int64_t ix = n + kOffset[q][tc];
                  float* dst = row + (ta * 2 + tc) * l.cin;
                  if (iy < 0 || iy >= hh || ix < 0 || ix >= ww)
                    std::memset(dst, 0, cin_bytes);
                  else
                    std::memcpy(dst, in + ((b * hh + iy) * ww + ix) * l.cin, cin_bytes);
                }
              }
              if (++n == ww) n = 0, ++m;
              if (m == hh) m = 0, ++b;
            }
            auto a = torch::from_blob(abuf.data(), {nr, k});
            auto y = torch::from_blob(ybuf.data(), {nr, l.cout});
            torch::mm_out(y, a, wphase);
            // Interleave into the output with bias and ReLU.
            b = r0 / (hh * ww), m = (r0 / ww) % hh, n = r0 % ww;
            for (int64_t r = 0; r < nr; ++r) {
              const float* src = ybuf.data() + r * l.cout;
              float* dst = dst_base + ((b * 2 * hh + 2 * m + p) * 2 * ww + 2 * n + q) * l.cout;
              if (l.relu)
                for (int c = 0; c < l.cout; ++c) dst[c] = std::max(0.0f, src[c] + bias[c]);
              else
                for (int c = 0; c < l.cout; ++c) dst[c] = src[c] + bias[c];
              if (++n == ww) n = 0, ++m;
              if (m == hh) m = 0, ++b;
            }
          }
        }
      std::swap(in, nxt);
      hh *= 2;
    }
  });
  return out.permute({0, 3, 1, 2}).contiguous();  // (B, C, S, S)
}

}  // namespace oiad::detect
