#include "oiad/detect/fast_decoder.h"

#include <ATen/Parallel.h>

#include <cstring>
#include <memory>

#include "oiad/core/error.h"

namespace oiad::detect {

FastDecoder::FastDecoder(model::ConvDecoder decoder, kernels::Isa isa) : isa_(isa) {
  OIAD_CHECK(kernels::cpu_runs(isa), "fast decoder: this CPU does not run the ", kernels::isa_name(isa), " kernels");
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
    const auto b = t->bias.detach().to(torch::kFloat).contiguous();
    Layer l;
    l.w = kernels::prepare_deconv(w.data_ptr<float>(), b.data_ptr<float>(), int(w.size(0)), int(w.size(1)));
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
  const int c0 = layers_.front().w.cin;
  OIAD_CHECK(h2 == int64_t(c0) * base_ * base_, "fast decoder: dense output ", h2, " is not ", c0, " x ", base_, " x ",
             base_);
  int64_t side = base_, max_act = int64_t(base_ + 2) * (base_ + 2) * c0;
  for (size_t i = 0; i + 1 < layers_.size(); ++i) side *= 2, max_act = std::max(max_act, (side + 2) * (side + 2) * layers_[i].w.cout);
  const int64_t out_side = 2 * side, out_c = layers_.back().w.cout;
  auto out = torch::empty({batch, out_c, out_side, out_side});
  const float* zp = z.data_ptr<float>();
  float* outp = out.data_ptr<float>();
  // Images are independent: each thread takes a share of the batch through every layer,
  // with its own buffers (no barrier between layers, activations stay in its cache).
  const int64_t threads = std::max(1, at::get_num_threads());
  const int64_t share = std::max<int64_t>(1, (batch + threads - 1) / threads);
  at::parallel_for(0, batch, share, [&](int64_t b0, int64_t b1) {
    const int64_t nb = b1 - b0;
    std::unique_ptr<float[]> act_a(new float[size_t(nb * max_act)]), act_b(new float[size_t(nb * max_act)]);
    std::unique_ptr<float[]> hid(new float[size_t(nb * std::max(h1, h2))]), dense(new float[size_t(nb * h2)]);
    auto zt = torch::from_blob(const_cast<float*>(zp) + b0 * d, {nb, d});
    auto ht = torch::from_blob(hid.get(), {nb, h1});
    torch::addmm_out(ht, dense1_b_, zt, dense1_wt_).relu_();
    auto h2t = torch::from_blob(dense.get(), {nb, h2});
    torch::addmm_out(h2t, dense2_b_, ht, dense2_wt_).relu_();
    // (nb, C, base, base) channels-first -> the interior of the padded channels-last act_a.
    int s = base_;
    float* in = act_a.get();
    float* nxt = act_b.get();
    kernels::zero_border(in, nb, s, c0);
    const int64_t row = int64_t(s + 2) * c0, img = (s + 2) * row;
    for (int64_t b = 0; b < nb; ++b)
      for (int c = 0; c < c0; ++c)
        for (int y = 0; y < s; ++y)
          for (int x = 0; x < s; ++x)
            in[b * img + (y + 1) * row + (x + 1) * c0 + c] = dense[size_t(((b * c0 + c) * s + y) * s + x)];
    for (size_t li = 0; li < layers_.size(); ++li) {
      const Layer& l = layers_[li];
      if (li + 1 == layers_.size()) {
        kernels::deconv(isa_, l.w, in, nb, s, l.relu, outp + b0 * out_c * out_side * out_side, false);
      } else {
        kernels::zero_border(nxt, nb, 2 * s, l.w.cout);
        kernels::deconv(isa_, l.w, in, nb, s, l.relu, nxt, true);
        std::swap(in, nxt);
      }
      s *= 2;
    }
  });
  return out;
}

}  // namespace oiad::detect
