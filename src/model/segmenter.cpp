#include "oiad/model/segmenter.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "oiad/core/error.h"

namespace oiad::model {

namespace F = torch::nn::functional;

namespace {

int log2_floor(int v) {
  int k = 0;
  while ((v >> (k + 1)) > 0) ++k;
  return k;
}

// DRAEM's weight initialisation: convolution weights N(0, 0.02), batch-norm scales N(1, 0.02)
// and shifts 0.
void init_weights(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& sub : m.modules(/*include_self=*/false)) {
    if (auto* c = sub->as<torch::nn::Conv2dImpl>()) {
      c->weight.normal_(0.0, 0.02);
    } else if (auto* b = sub->as<torch::nn::BatchNorm2dImpl>()) {
      b->weight.normal_(1.0, 0.02);
      b->bias.zero_();
    }
  }
}

}  // namespace

// ---- networks ----

ConvBlockImpl::ConvBlockImpl(int64_t in, int64_t out) {
  body = register_module("body", torch::nn::Sequential(
                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)),
                                     torch::nn::BatchNorm2d(out), torch::nn::ReLU(),
                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1)),
                                     torch::nn::BatchNorm2d(out), torch::nn::ReLU()));
}
torch::Tensor ConvBlockImpl::forward(torch::Tensor x) { return body->forward(x); }

UpBlockImpl::UpBlockImpl(int64_t in, int64_t out) {
  body = register_module(
      "body", torch::nn::Sequential(torch::nn::Upsample(torch::nn::UpsampleOptions()
                                                            .scale_factor(std::vector<double>{2.0, 2.0})
                                                            .mode(torch::kBilinear)
                                                            .align_corners(true)),
                                    torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)),
                                    torch::nn::BatchNorm2d(out), torch::nn::ReLU()));
}
torch::Tensor UpBlockImpl::forward(torch::Tensor x) { return body->forward(x); }

int64_t level_width(int width, int level) { return int64_t(width) * std::min(int64_t(1) << std::min(level, 3), int64_t(8)); }

int reconstructive_depth(int side) { return std::max(1, std::min(4, log2_floor(side / 4))); }
int discriminative_depth(int side) { return std::max(1, std::min(5, log2_floor(side / 4))); }

ReconstructiveNetImpl::ReconstructiveNetImpl(int channels, int width, int depth) {
  for (int k = 0; k <= depth; ++k)
    down.push_back(register_module("down" + std::to_string(k),
                                   ConvBlock(k == 0 ? channels : level_width(width, k - 1), level_width(width, k))));
  for (int k = 0; k < depth; ++k) {
    up.push_back(register_module("up" + std::to_string(k), UpBlock(level_width(width, k + 1), level_width(width, k))));
    up_conv.push_back(
        register_module("up_conv" + std::to_string(k), ConvBlock(level_width(width, k), level_width(width, k))));
  }
  out = register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(width, channels, 3).padding(1)));
}

torch::Tensor ReconstructiveNetImpl::forward(torch::Tensor x) {
  torch::Tensor h = down[0]->forward(x);
  for (size_t k = 1; k < down.size(); ++k) h = down[k]->forward(F::max_pool2d(h, F::MaxPool2dFuncOptions(2)));
  for (size_t k = up.size(); k-- > 0;) h = up_conv[k]->forward(up[k]->forward(h));
  return out->forward(h);
}

DiscriminativeNetImpl::DiscriminativeNetImpl(int channels, int width, int depth) {
  for (int k = 0; k <= depth; ++k)
    down.push_back(register_module(
        "down" + std::to_string(k), ConvBlock(k == 0 ? 2 * channels : level_width(width, k - 1), level_width(width, k))));
  for (int k = 0; k < depth; ++k) {
    up.push_back(register_module("up" + std::to_string(k), UpBlock(level_width(width, k + 1), level_width(width, k))));
    up_conv.push_back(
        register_module("up_conv" + std::to_string(k), ConvBlock(2 * level_width(width, k), level_width(width, k))));
  }
  out = register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(width, 2, 3).padding(1)));
}

torch::Tensor DiscriminativeNetImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> skip = {down[0]->forward(x)};
  for (size_t k = 1; k < down.size(); ++k)
    skip.push_back(down[k]->forward(F::max_pool2d(skip.back(), F::MaxPool2dFuncOptions(2))));
  torch::Tensor h = skip.back();
  for (size_t k = up.size(); k-- > 0;) h = up_conv[k]->forward(torch::cat({up[k]->forward(h), skip[k]}, 1));
  return out->forward(h);
}

// ---- the segmenter ----

Segmenter::Segmenter(const SegmenterShape& shape) : shape_(shape) {
  OIAD_CHECK(shape.channels == 1 || shape.channels == 3, "recseg: ", shape.channels, " channels (expected 1 or 3)");
  OIAD_CHECK(shape.input_size >= 16 && (shape.input_size & (shape.input_size - 1)) == 0, "recseg: network input ",
             shape.input_size, " (expected a power of two, 16 or more)");
  OIAD_CHECK(shape.rec_width >= 1 && shape.seg_width >= 1 && shape.filter >= 0 &&
                 (shape.filter == 0 || shape.filter % 2 == 1),
             "recseg: widths ", shape.rec_width, ",", shape.seg_width, ", filter ", shape.filter);
  rec_ = ReconstructiveNet(shape.channels, shape.rec_width, reconstructive_depth(shape.input_size));
  seg_ = DiscriminativeNet(shape.channels, shape.seg_width, discriminative_depth(shape.input_size));
  init_weights(*rec_);
  init_weights(*seg_);
}

int Segmenter::filter_side() const {
  if (shape_.filter > 0) return shape_.filter;
  const int f = int(std::lround(21.0 * shape_.input_size / 256.0));
  return std::max(3, f % 2 ? f : f + 1);
}

void Segmenter::check_images(const torch::Tensor& x, const char* what) const {
  const int c = shape_.channels, s = shape_.input_size;
  OIAD_CHECK(x.dim() == 4 && x.size(1) == c && x.size(2) == s && x.size(3) == s, "recseg: ", what, " of shape ",
             x.sizes(), ", expected (N, ", c, ", ", s, ", ", s, ")");
}

torch::Tensor Segmenter::maps(const torch::Tensor& x) const {
  check_images(x, "images");
  torch::NoGradGuard ng;
  // Eval mode is set only after training: a loaded model (already in eval mode) may be scored
  // from several threads at once, and then nothing writes to the modules.
  if (rec_->is_training()) rec_->eval();
  if (seg_->is_training()) seg_->eval();
  std::vector<torch::Tensor> out;
  for (int64_t a = 0; a < x.size(0); a += 64) {
    const auto xb = x.slice(0, a, std::min(x.size(0), a + 64)).to(torch::kFloat);
    const auto rec = rec_->forward(xb);
    out.push_back(torch::softmax(seg_->forward(torch::cat({rec, xb}, 1)), 1).select(1, 1));
  }
  return out.empty() ? torch::zeros({0, shape_.input_size, shape_.input_size}) : torch::cat(out);
}

torch::Tensor Segmenter::score(const torch::Tensor& x, torch::Tensor* maps_out) const {
  const torch::Tensor m = maps(x);
  const int f = filter_side();
  const auto filtered =
      F::avg_pool2d(m.unsqueeze(1), F::AvgPool2dFuncOptions(f).stride(1).padding(f / 2).count_include_pad(true));
  if (maps_out) *maps_out = m;
  return std::get<0>(filtered.flatten(1).max(1)).to(torch::kDouble);
}

std::string Segmenter::to_bytes() const {
  torch::serialize::OutputArchive a, r, s;
  rec_->save(r);
  seg_->save(s);
  a.write("rec", r);
  a.write("seg", s);
  a.write("seconds", torch::tensor(trained_seconds_, torch::kDouble));
  a.write("shape", torch::tensor({int64_t(shape_.channels), int64_t(shape_.input_size), int64_t(shape_.rec_width),
                                  int64_t(shape_.seg_width), int64_t(filter_side())},
                                 torch::kLong));
  std::ostringstream out;
  a.save_to(out);
  return out.str();
}

void Segmenter::from_bytes(const std::string& bytes, const std::string& name) {
  torch::serialize::InputArchive a, r, s;
  try {
    std::istringstream in(bytes);
    a.load_from(in);
    torch::Tensor shape;
    a.read("shape", shape);
    OIAD_CHECK(shape.numel() == 5 && shape[0].item<int64_t>() == shape_.channels &&
                   shape[1].item<int64_t>() == shape_.input_size && shape[2].item<int64_t>() == shape_.rec_width &&
                   shape[3].item<int64_t>() == shape_.seg_width && shape[4].item<int64_t>() == filter_side(),
               "networks for (channels, input, widths, filter) = ", shape.sizes(), " ", shape);
    a.read("rec", r);
    a.read("seg", s);
    torch::Tensor seconds;
    a.read("seconds", seconds);
    trained_seconds_ = seconds.item<double>();
    rec_->load(r);
    seg_->load(s);
  } catch (const c10::Error& e) {
    throw Error(name + ": not a recseg model (" + std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  } catch (const Error& e) {
    throw Error(name + ": not a recseg model of these settings (" + e.what() + ")");
  }
  rec_->eval();
  seg_->eval();
}

}  // namespace oiad::model
