#include "oiad/peers/deep_svdd.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"

namespace oiad::peers {

namespace {

constexpr double kBnEps = 1e-4;  // the authors' batch norm epsilon
constexpr int kRepSide = 4;      // the decoder starts from (rep_dim / 16, 4, 4)

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

torch::nn::BatchNorm2d batch_norm2d(int64_t c) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(c).eps(kBnEps).affine(false));
}

// The authors' colour network initialises its weights with Glorot-uniform at the gain of a
// leaky ReLU; the grey network keeps the framework's default.
void glorot_leaky(torch::Tensor& w) {
  torch::NoGradGuard ng;
  torch::nn::init::xavier_uniform_(w, std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
}

torch::Tensor upsample2(const torch::Tensor& x) {
  return torch::nn::functional::interpolate(
      x, torch::nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
}

// Mini-batches of a seeded permutation; a last batch of one image is dropped (batch norm
// needs two).
std::vector<torch::Tensor> batches(int64_t n, int batch_size, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto perm = torch::randperm(n, gen, torch::kLong);
  std::vector<torch::Tensor> out;
  for (int64_t a = 0; a < n; a += batch_size) {
    const int64_t b = std::min(n, a + batch_size);
    if (b - a >= 2) out.push_back(perm.slice(0, a, b));
  }
  return out;
}

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
}

}  // namespace

DeepSvddOptions DeepSvddOptions::published(int channels) {
  DeepSvddOptions o;
  if (channels == 3) {
    o.ae_epochs = 350;
    o.ae_lr_milestone = 250;
    o.ae_weight_decay = 0.5e-6;
  }
  return o;
}

DeepSvddOptions DeepSvddOptions::with_epochs(int ae_epochs_, int epochs_) const {
  auto scaled = [](int milestone, int from, int to) { return int(std::lround(double(milestone) * to / std::max(1, from))); };
  DeepSvddOptions o = *this;
  o.ae_lr_milestone = scaled(ae_lr_milestone, ae_epochs, ae_epochs_);
  o.lr_milestone = scaled(lr_milestone, epochs, epochs_);
  o.ae_epochs = ae_epochs_;
  o.epochs = epochs_;
  return o;
}

LeNetEncoderImpl::LeNetEncoderImpl(int channels, int input_size) {
  OIAD_CHECK(channels == 1 || channels == 3, "deep svdd: ", channels, " channels (expected 1 or 3)");
  OIAD_CHECK(input_size == 32, "deep svdd: network input ", input_size, " (the LeNet-type networks take 32)");
  const std::vector<int64_t> widths = channels == 1 ? std::vector<int64_t>{8, 4} : std::vector<int64_t>{32, 64, 128};
  rep_dim = channels == 1 ? 32 : 128;
  int64_t in = channels;
  for (size_t i = 0; i < widths.size(); ++i) {
    conv.push_back(register_module("conv" + std::to_string(i + 1),
                                   torch::nn::Conv2d(torch::nn::Conv2dOptions(in, widths[i], 5).padding(2).bias(false))));
    bn.push_back(register_module("bn" + std::to_string(i + 1), batch_norm2d(widths[i])));
    if (channels == 3) glorot_leaky(conv.back()->weight);
    in = widths[i];
  }
  const int64_t side = input_size >> widths.size();  // after one 2x2 pooling per convolution
  fc = register_module("fc", torch::nn::Linear(torch::nn::LinearOptions(in * side * side, rep_dim).bias(false)));
}

torch::Tensor LeNetEncoderImpl::forward(torch::Tensor x) {
  for (size_t i = 0; i < conv.size(); ++i)
    x = torch::max_pool2d(torch::leaky_relu(bn[i]->forward(conv[i]->forward(x))), 2, 2);
  return fc->forward(x.flatten(1));
}

LeNetAutoencoderImpl::LeNetAutoencoderImpl(int channels, int input_size) {
  encoder = register_module("encoder", LeNetEncoder(channels, input_size));
  const int64_t rep = encoder->rep_dim;
  const int64_t start = rep / (kRepSide * kRepSide);
  // Grey: 2 -> 4 -> 8 -> C; colour: 8 -> 128 -> 64 -> 32 -> C (the authors' widths).
  const std::vector<int64_t> widths = channels == 1 ? std::vector<int64_t>{start, 4, 8}
                                                    : std::vector<int64_t>{start, 128, 64, 32};
  if (channels == 3) rep_bn = register_module("rep_bn", torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(rep).eps(kBnEps).affine(false)));
  for (size_t i = 0; i < widths.size(); ++i) {
    const int64_t out = i + 1 < widths.size() ? widths[i + 1] : channels;
    deconv.push_back(register_module(
        "deconv" + std::to_string(i + 1),
        torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(widths[i], out, 5).padding(2).bias(false))));
    if (channels == 3) glorot_leaky(deconv.back()->weight);
    if (i + 1 < widths.size()) bn.push_back(register_module("dbn" + std::to_string(i + 1), batch_norm2d(out)));
  }
}

torch::Tensor LeNetAutoencoderImpl::forward(torch::Tensor x) {
  x = encoder->forward(x);
  if (!rep_bn.is_empty()) x = rep_bn->forward(x);
  x = torch::leaky_relu(x.view({x.size(0), -1, kRepSide, kRepSide}));
  // Three doublings from 4 to 32, one after every layer but the last; the grey decoder (one
  // layer fewer) also doubles before its first layer.
  if (rep_bn.is_empty()) x = upsample2(x);
  for (size_t i = 0; i + 1 < deconv.size(); ++i) x = upsample2(torch::leaky_relu(bn[i]->forward(deconv[i]->forward(x))));
  return torch::sigmoid(deconv.back()->forward(x));
}

torch::Tensor global_contrast_l1(const torch::Tensor& x) {
  auto flat = x.to(torch::kFloat).flatten(1);
  auto centred = flat - flat.mean(1, true);
  auto scale = centred.abs().mean(1, true);
  // An image without contrast has scale 0: it stays all 0 rather than dividing by 0.
  return (centred / torch::where(scale > 0, scale, torch::ones_like(scale))).view(x.sizes());
}

DeepSvdd::DeepSvdd(int channels, int input_size, DeepSvddOptions options)
    : channels_(channels), input_size_(input_size), opt_(options) {
  OIAD_CHECK(opt_.ae_epochs >= 0 && opt_.epochs >= 1 && opt_.batch_size >= 2 && opt_.lr > 0 && opt_.ae_lr > 0 &&
                 opt_.weight_decay >= 0 && opt_.ae_weight_decay >= 0 && opt_.center_eps >= 0,
             "deep svdd: bad options");
  phi_ = LeNetEncoder(channels, input_size);
}

torch::Tensor DeepSvdd::preprocess(const torch::Tensor& x) const {
  return (global_contrast_l1(x) - scale_min_) / (scale_max_ - scale_min_);
}

void DeepSvdd::check_images(const torch::Tensor& x, const char* what) const {
  OIAD_CHECK(x.dim() == 4 && x.size(1) == channels_ && x.size(2) == input_size_ && x.size(3) == input_size_,
             "deep svdd: ", what, " of shape ", x.sizes(), ", expected (N, ", channels_, ", ", input_size_, ", ",
             input_size_, ")");
}

DeepSvddHistory DeepSvdd::fit(const torch::Tensor& x,
                              const std::function<void(const std::string&, int, int, double)>& progress) {
  check_images(x, "training images");
  OIAD_CHECK(x.size(0) >= 2, "deep svdd: need at least 2 training images, got ", x.size(0));
  const auto g = global_contrast_l1(x);
  scale_min_ = g.min().item<double>();
  scale_max_ = g.max().item<double>();
  OIAD_CHECK(scale_max_ > scale_min_, "deep svdd: the training images have no contrast");
  const auto xp = (g - scale_min_) / (scale_max_ - scale_min_);  // preprocess(x), GCN computed once
  const int64_t n = xp.size(0);
  DeepSvddHistory h;
  torch::manual_seed(opt_.seed);

  // One phase: Adam with L2 weight decay, the learning rate a tenth from epoch `milestone`,
  // the mean over batches of `loss(batch)` recorded per epoch.
  auto phase = [&](torch::nn::Module& net, double lr, double weight_decay, int milestone, int epochs,
                   uint64_t seed_offset, const std::string& name, const std::function<torch::Tensor(const torch::Tensor&)>& loss_of,
                   std::vector<double>& history) {
    net.train();
    torch::optim::Adam opt(net.parameters(), torch::optim::AdamOptions(lr).weight_decay(weight_decay));
    for (int e = 0; e < epochs; ++e) {
      if (e == milestone) set_lr(opt, lr * 0.1);
      double sum = 0;
      int steps = 0;
      for (const auto& idx : batches(n, opt_.batch_size, opt_.seed * 1000003 + seed_offset + uint64_t(e))) {
        opt.zero_grad();
        auto loss = loss_of(xp.index_select(0, idx));
        loss.backward();
        opt.step();
        sum += loss.item<double>();
        ++steps;
      }
      history.push_back(sum / std::max(1, steps));
      if (progress) progress(name, e + 1, epochs, history.back());
    }
  };

  // 1. Autoencoder pre-training (mean over images of the summed squared error).
  LeNetAutoencoder ae(channels_, input_size_);
  auto t0 = std::chrono::steady_clock::now();
  phase(*ae, opt_.ae_lr, opt_.ae_weight_decay, opt_.ae_lr_milestone, opt_.ae_epochs, 0, "autoencoder",
        [&](const torch::Tensor& xb) { return (ae->forward(xb) - xb).pow(2).flatten(1).sum(1).mean(); }, h.ae_loss);
  h.ae_seconds = seconds_since(t0);
  phi_ = ae->encoder;

  // 2. The centre: mean representation of the training images under the initial φ.
  t0 = std::chrono::steady_clock::now();
  {
    torch::NoGradGuard ng;
    phi_->eval();
    auto sum = torch::zeros({phi_->rep_dim});
    for (int64_t a = 0; a < n; a += 256) sum += phi_->forward(xp.slice(0, a, std::min(n, a + 256))).sum(0);
    center_ = sum / double(n);
    auto small = center_.abs() < opt_.center_eps;
    center_ = torch::where(small & (center_ < 0), torch::full_like(center_, -opt_.center_eps), center_);
    center_ = torch::where(small & (center_ > 0), torch::full_like(center_, opt_.center_eps), center_);
  }

  // 3. Deep SVDD: minimise the mean of ‖φ(x) − c‖² (weight decay through Adam's L2 term).
  phase(*phi_, opt_.lr, opt_.weight_decay, opt_.lr_milestone, opt_.epochs, 7919, "deep svdd",
        [&](const torch::Tensor& xb) { return (phi_->forward(xb) - center_).pow(2).sum(1).mean(); }, h.svdd_loss);
  phi_->eval();
  h.svdd_seconds = seconds_since(t0);
  return h;
}

torch::Tensor DeepSvdd::representation(const torch::Tensor& x) const {
  OIAD_CHECK(center_.defined(), "deep svdd: not fitted");
  check_images(x, "images");
  torch::NoGradGuard ng;
  phi_->eval();
  const auto xp = preprocess(x);
  std::vector<torch::Tensor> out;
  for (int64_t a = 0; a < xp.size(0); a += 256) out.push_back(phi_->forward(xp.slice(0, a, std::min(xp.size(0), a + 256))));
  return out.empty() ? torch::zeros({0, center_.size(0)}) : torch::cat(out);
}

torch::Tensor DeepSvdd::score(const torch::Tensor& x) const {
  return (representation(x) - center_).pow(2).sum(1).to(torch::kDouble);
}

void DeepSvdd::save(const std::string& path) const {
  OIAD_CHECK(center_.defined(), "deep svdd: not fitted");
  torch::serialize::OutputArchive a, net;
  phi_->save(net);
  a.write("phi", net);
  a.write("center", center_);
  a.write("scale", torch::tensor({scale_min_, scale_max_}, torch::kDouble));
  a.write("shape", torch::tensor({int64_t(channels_), int64_t(input_size_)}, torch::kLong));
  std::ostringstream s;
  a.save_to(s);
  write_file_atomic(path, s.str());
}

void DeepSvdd::load(const std::string& path) {
  torch::serialize::InputArchive a, net;
  try {
    a.load_from(path);
    torch::Tensor shape, scale, center;
    a.read("shape", shape);
    OIAD_CHECK(shape.numel() == 2 && shape[0].item<int64_t>() == channels_ && shape[1].item<int64_t>() == input_size_,
               "network for ", shape.sizes(), " inputs");
    a.read("scale", scale);
    OIAD_CHECK(scale.numel() == 2 && scale[1].item<double>() > scale[0].item<double>(), "bad scaling");
    a.read("center", center);
    OIAD_CHECK(center.dim() == 1 && center.size(0) == phi_->rep_dim, "centre of ", center.numel(), " entries");
    a.read("phi", net);
    phi_->load(net);
    scale_min_ = scale[0].item<double>();
    scale_max_ = scale[1].item<double>();
    center_ = center.to(torch::kFloat);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a Deep SVDD model (" + std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  } catch (const Error& e) {
    throw Error(path + ": not a Deep SVDD model of this shape (" + e.what() + ")");
  }
  phi_->eval();
}

}  // namespace oiad::peers
