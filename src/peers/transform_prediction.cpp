#include "oiad/peers/transform_prediction.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"

namespace oiad::peers {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Source index of output position i after shifting a line of n pixels by s, the line
// extended by mirroring about its end pixels (d c b a | a b c d | d c b a): scipy.ndimage's
// "reflect" mode, the one GEOM's translations use. |s| < n.
int64_t shifted_source(int64_t i, int64_t s, int64_t n) {
  int64_t j = i - s;
  if (j < 0) j = -j - 1;
  if (j >= n) j = 2 * n - j - 1;
  return j;
}

// Images per scoring batch: about this many (image, transformation) pairs at once.
constexpr int64_t kScorePairs = 128;

}  // namespace

TransformSetOptions parse_transform_set(const std::string& s) {
  TransformSetOptions o{false, false, false};
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) {
    bool& f = item == "flip" ? o.flips : item == "translate" ? o.translations : o.rotations;
    OIAD_CHECK_USAGE(item == "flip" || item == "translate" || item == "rotate", "transforms: unknown factor '", item,
                     "' in '", s, "' (expected flip, translate, rotate)");
    OIAD_CHECK_USAGE(!f, "transforms: factor '", item, "' twice in '", s, "'");
    f = true;
  }
  OIAD_CHECK_USAGE(o.flips || o.translations || o.rotations, "transforms: empty set '", s,
                   "' (expected some of flip, translate, rotate)");
  return o;
}

std::string transform_set_name(const TransformSetOptions& o) {
  std::string r;
  for (const auto& [on, name] : {std::pair{o.flips, "flip"}, std::pair{o.translations, "translate"}, std::pair{o.rotations, "rotate"}})
    if (on) r += (r.empty() ? "" : ",") + std::string(name);
  return r;
}

std::vector<GeometricTransform> geometric_transforms(const TransformSetOptions& o, int size) {
  OIAD_CHECK(size >= 8 && size % 4 == 0, "transforms: image size ", size, " (expected a multiple of 4, at least 8)");
  const int d = size / 4;
  std::vector<GeometricTransform> out;
  for (bool flip : o.flips ? std::vector<bool>{false, true} : std::vector<bool>{false})
    for (int tx : o.translations ? std::vector<int>{0, -d, d} : std::vector<int>{0})
      for (int ty : o.translations ? std::vector<int>{0, -d, d} : std::vector<int>{0})
        for (int k = 0; k < (o.rotations ? 4 : 1); ++k) out.push_back({flip, tx, ty, k});
  return out;
}

torch::Tensor transform_pixel_maps(const std::vector<GeometricTransform>& ts, int size) {
  const int64_t s = size;
  std::vector<torch::Tensor> maps;
  for (const auto& t : ts) {
    OIAD_CHECK(std::abs(t.tx) < s && std::abs(t.ty) < s, "transforms: translation (", t.tx, ", ", t.ty,
               ") not smaller than the image side ", s);
    // Follow where each pixel comes from: start from the identity map (the flat index of
    // every pixel as an S x S image) and move it with the same operations as an image.
    auto m = torch::arange(s * s, torch::kLong).view({s, s});
    if (t.flip) m = m.flip({1});
    if (t.tx != 0 || t.ty != 0) {
      std::vector<int64_t> rows(s), cols(s);
      for (int64_t i = 0; i < s; ++i) rows[i] = shifted_source(i, t.ty, s), cols[i] = shifted_source(i, t.tx, s);
      m = m.index_select(0, torch::tensor(rows)).index_select(1, torch::tensor(cols));
    }
    if (t.rot90 % 4 != 0) m = torch::rot90(m, t.rot90 % 4, {0, 1});
    maps.push_back(m.reshape({-1}));
  }
  return torch::stack(maps);
}

torch::Tensor apply_transform(const torch::Tensor& maps, int64_t t, const torch::Tensor& x) {
  const int64_t s = x.size(2);
  OIAD_CHECK(x.dim() == 4 && x.size(3) == s && maps.dim() == 2 && maps.size(1) == s * s && t >= 0 && t < maps.size(0),
             "transforms: images of shape ", x.sizes(), " do not fit pixel maps of shape ", maps.sizes());
  return x.flatten(2).index_select(2, maps[t]).view(x.sizes());
}

WideResNetImpl::WideResNetImpl(int channels, int classes, int depth, int widen) {
  OIAD_CHECK(depth >= 10 && (depth - 4) % 6 == 0 && widen >= 1, "transforms: WRN-", depth, "-", widen,
             " (depth must be 6n + 4 with n >= 1, widen >= 1)");
  const int n = (depth - 4) / 6;
  auto conv3 = [](int64_t in, int64_t out, int64_t stride) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
  };
  stem = register_module("stem", conv3(channels, 16, 1));
  int64_t in = 16;
  const std::vector<int64_t> widths = {16LL * widen, 32LL * widen, 64LL * widen};
  for (size_t g = 0; g < widths.size(); ++g)
    for (int b = 0; b < n; ++b) {
      const int64_t stride = (g > 0 && b == 0) ? 2 : 1, out = widths[g];
      const std::string name = "g" + std::to_string(g + 1) + "b" + std::to_string(b + 1);
      Block k;
      k.bn1 = register_module(name + "_bn1", torch::nn::BatchNorm2d(in));
      k.conv1 = register_module(name + "_conv1", conv3(in, out, stride));
      k.bn2 = register_module(name + "_bn2", torch::nn::BatchNorm2d(out));
      k.conv2 = register_module(name + "_conv2", conv3(out, out, 1));
      if (in != out || stride != 1)
        k.shortcut = register_module(
            name + "_shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      blocks.push_back(k);
      in = out;
    }
  bn = register_module("bn", torch::nn::BatchNorm2d(in));
  fc = register_module("fc", torch::nn::Linear(in, classes));
  // He initialisation of the convolutions, as the WRN authors and GEOM's Keras network have it.
  torch::NoGradGuard ng;
  for (auto& p : named_parameters())
    if (p.key().find("conv") != std::string::npos || p.key().find("stem") != std::string::npos ||
        p.key().find("shortcut") != std::string::npos)
      torch::nn::init::kaiming_normal_(p.value(), 0, torch::kFanIn, torch::kReLU);
}

torch::Tensor WideResNetImpl::forward(torch::Tensor x) { return fc->forward(features(std::move(x))); }

torch::Tensor WideResNetImpl::features(torch::Tensor x) {
  x = stem->forward(x);
  for (auto& k : blocks) {
    auto o = torch::relu(k.bn1->forward(x));
    auto y = k.conv2->forward(torch::relu(k.bn2->forward(k.conv1->forward(o))));
    x = y + (k.shortcut.is_empty() ? x : k.shortcut->forward(o));
  }
  return torch::relu(bn->forward(x)).mean({2, 3});
}

torch::Tensor dirichlet_mle(const torch::Tensor& log_p, int max_iter, double tol) {
  OIAD_CHECK(log_p.dim() == 2 && log_p.size(0) >= 2 && log_p.size(1) >= 2, "dirichlet: need (N >= 2, K >= 2) log p, got ",
             log_p.sizes());
  const auto lp = log_p.to(torch::kDouble);
  const double n = double(lp.size(0)), k = double(lp.size(1));
  const auto log_p_hat = lp.mean(0);  // (K,)
  const auto f = lp.exp().mean(0);
  const double psi1 = torch::digamma(torch::ones({1}, torch::kDouble)).item<double>();
  // Moment-type start (Minka, eq. 23, as GEOM computes it): the precision s from the mean
  // f and the mean log p, α = s·f.
  const double denom = n * (f * f.log()).sum().item<double>() - (f * lp.sum(0)).sum().item<double>();
  double s = denom > 0 ? n * (k - 1) * (-psi1) / denom : k;
  if (!std::isfinite(s) || s <= 0) s = k;
  auto alpha = f * s;
  auto inv_psi = [&](const torch::Tensor& y) {
    // Minka's start, then Newton steps on ψ(x) = y.
    auto x = torch::where(y >= -2.22, y.exp() + 0.5, -1.0 / (y - psi1));
    for (int i = 0; i < 5; ++i) x = x - (torch::digamma(x) - y) / torch::polygamma(1, x);
    return x;
  };
  for (int it = 0; it < max_iter; ++it) {
    auto next = inv_psi(torch::digamma(alpha.sum()) + log_p_hat);
    const double step = (next - alpha).norm().item<double>();
    alpha = next;
    if (step < tol) break;
  }
  OIAD_CHECK(torch::isfinite(alpha).all().item<bool>() && (alpha > 0).all().item<bool>(),
             "dirichlet: the fit did not converge to positive parameters");
  return alpha;
}

TransformPrediction::TransformPrediction(int channels, int input_size, TransformPredictionOptions options)
    : channels_(channels), input_size_(input_size), opt_(std::move(options)) {
  OIAD_CHECK(channels >= 1, "transforms: ", channels, " channels");
  OIAD_CHECK(opt_.passes >= 1 && opt_.batch_size >= 2 && opt_.lr > 0, "transforms: bad options (passes ", opt_.passes,
             ", batch ", opt_.batch_size, ", lr ", opt_.lr, ")");
  OIAD_CHECK(opt_.score == "dirichlet" || opt_.score == "logprob", "transforms: unknown score '", opt_.score,
             "' (expected dirichlet or logprob)");
  transforms_ = geometric_transforms(opt_.transforms, input_size);
  OIAD_CHECK(transforms_.size() >= 2, "transforms: the set has ", transforms_.size(),
             " transformation (a classifier needs at least 2)");
  maps_ = transform_pixel_maps(transforms_, input_size);
  torch::manual_seed(opt_.seed);
  net_ = WideResNet(channels, int(transforms_.size()), opt_.depth, opt_.widen);
}

void TransformPrediction::check_images(const torch::Tensor& x, const char* what) const {
  OIAD_CHECK(x.dim() == 4 && x.size(1) == channels_ && x.size(2) == input_size_ && x.size(3) == input_size_,
             "transforms: ", what, " of shape ", x.sizes(), ", expected (N, ", channels_, ", ", input_size_, ", ",
             input_size_, ")");
}

TransformPredictionHistory TransformPrediction::fit(const torch::Tensor& x, const std::function<void(int, int, double)>& progress) {
  check_images(x, "training images");
  OIAD_CHECK(x.size(0) >= 2, "transforms: need at least 2 training images, got ", x.size(0));
  const int64_t n = x.size(0), t_count = int64_t(transforms_.size()), ss = int64_t(input_size_) * input_size_;
  const auto xs = (x.to(torch::kFloat) * 2 - 1).flatten(2).contiguous();  // (N, C, S·S) in [-1, 1]
  const int epochs = opt_.epochs(int(t_count));
  TransformPredictionHistory h;
  torch::manual_seed(opt_.seed);
  auto gen = at::detail::createCPUGenerator(opt_.seed * 1000003 + 17);
  torch::optim::Adam adam(net_->parameters(), torch::optim::AdamOptions(opt_.lr));
  auto t0 = std::chrono::steady_clock::now();
  net_->train();
  for (int e = 0; e < epochs; ++e) {
    // Every (image, transformation) pair once per epoch, in a seeded order; a last batch of
    // one pair is dropped (batch norm needs two).
    const auto perm = torch::randperm(n * t_count, gen, torch::kLong);
    double loss_sum = 0;
    int64_t right = 0, seen = 0, steps = 0;
    for (int64_t a = 0; a + 1 < n * t_count; a += opt_.batch_size) {
      const auto pairs = perm.slice(0, a, std::min(n * t_count, a + opt_.batch_size));
      const auto img = pairs.div(t_count, "floor"), label = pairs.remainder(t_count);
      const auto idx = maps_.index_select(0, label).unsqueeze(1).expand({pairs.size(0), int64_t(channels_), ss});
      const auto xb = xs.index_select(0, img).gather(2, idx).view({pairs.size(0), channels_, input_size_, input_size_});
      adam.zero_grad();
      const auto logits = net_->forward(xb);
      auto loss = torch::nn::functional::cross_entropy(logits, label);
      loss.backward();
      adam.step();
      loss_sum += loss.item<double>();
      right += logits.argmax(1).eq(label).sum().item<int64_t>();
      seen += pairs.size(0);
      ++steps;
    }
    h.loss.push_back(loss_sum / double(std::max<int64_t>(1, steps)));
    h.accuracy.push_back(double(right) / double(std::max<int64_t>(1, seen)));
    if (progress) progress(e + 1, epochs, h.loss.back());
  }
  net_->eval();
  h.train_seconds = seconds_since(t0);
  fitted_ = true;
  if (opt_.score == "dirichlet") {
    t0 = std::chrono::steady_clock::now();
    const auto lp = log_probabilities(x);  // (N, T, T)
    std::vector<torch::Tensor> rows;
    for (int64_t t = 0; t < t_count; ++t) rows.push_back(dirichlet_mle(lp.select(1, t)));
    alpha_ = torch::stack(rows);
    h.dirichlet_seconds = seconds_since(t0);
  }
  return h;
}

torch::Tensor TransformPrediction::log_probabilities(const torch::Tensor& x) const {
  OIAD_CHECK(fitted_, "transforms: not fitted");
  check_images(x, "images");
  torch::NoGradGuard ng;
  net_->eval();
  const int64_t n = x.size(0), t_count = int64_t(transforms_.size());
  const int64_t chunk = std::max<int64_t>(1, kScorePairs / t_count);
  const auto flat_maps = maps_.reshape({-1});
  std::vector<torch::Tensor> out;
  for (int64_t a = 0; a < n; a += chunk) {
    const auto xb = (x.slice(0, a, std::min(n, a + chunk)).to(torch::kFloat) * 2 - 1).flatten(2);  // (B, C, S·S)
    const int64_t b = xb.size(0);
    // All T transformations of the chunk in one gather: (B, C, T·S·S) -> (B·T, C, S, S).
    const auto all = xb.index_select(2, flat_maps)
                         .view({b, int64_t(channels_), t_count, int64_t(input_size_) * input_size_})
                         .permute({0, 2, 1, 3})
                         .reshape({b * t_count, int64_t(channels_), input_size_, input_size_});
    out.push_back(torch::log_softmax(net_->forward(all), 1).view({b, t_count, t_count}));
  }
  return out.empty() ? torch::zeros({0, t_count, t_count}) : torch::cat(out);
}

torch::Tensor TransformPrediction::features(const torch::Tensor& x, int64_t t) const {
  OIAD_CHECK(fitted_, "transforms: not fitted");
  check_images(x, "images");
  OIAD_CHECK(t >= 0 && t < int64_t(transforms_.size()), "transforms: no transformation " + std::to_string(t));
  torch::NoGradGuard ng;
  net_->eval();
  const int64_t n = x.size(0);
  std::vector<torch::Tensor> out;
  for (int64_t a = 0; a < n; a += kScorePairs)
    out.push_back(net_->features(apply_transform(maps_, t, x.slice(0, a, std::min(n, a + kScorePairs)).to(torch::kFloat) * 2 - 1)));
  return out.empty() ? torch::zeros({0, net_->fc->options.in_features()}) : torch::cat(out);
}

torch::Tensor TransformPrediction::score(const torch::Tensor& x) const {
  const auto lp = log_probabilities(x).to(torch::kDouble);  // (N, T, T): [n][t][k] = log p(k | T_t x)
  if (opt_.score == "logprob") return -lp.diagonal(0, 1, 2).sum(1);
  OIAD_CHECK(alpha_.defined(), "transforms: no Dirichlet parameters");
  return -(lp * (alpha_ - 1).unsqueeze(0)).sum({1, 2});
}

void TransformPrediction::save(const std::string& path) const {
  OIAD_CHECK(fitted_, "transforms: not fitted");
  torch::serialize::OutputArchive a, net;
  net_->save(net);
  a.write("net", net);
  if (alpha_.defined()) a.write("alpha", alpha_);
  a.write("shape", torch::tensor({int64_t(channels_), int64_t(input_size_), int64_t(transforms_.size()), int64_t(opt_.depth),
                                  int64_t(opt_.widen), int64_t(opt_.transforms.flips), int64_t(opt_.transforms.translations),
                                  int64_t(opt_.transforms.rotations), int64_t(opt_.score == "dirichlet")},
                                 torch::kLong));
  std::ostringstream s;
  a.save_to(s);
  write_file_atomic(path, s.str());
}

void TransformPrediction::load(const std::string& path) {
  torch::serialize::InputArchive a, net;
  try {
    a.load_from(path);
    torch::Tensor shape;
    a.read("shape", shape);
    const std::vector<int64_t> want = {channels_,
                                       input_size_,
                                       int64_t(transforms_.size()),
                                       opt_.depth,
                                       opt_.widen,
                                       int64_t(opt_.transforms.flips),
                                       int64_t(opt_.transforms.translations),
                                       int64_t(opt_.transforms.rotations),
                                       int64_t(opt_.score == "dirichlet")};
    const auto got = shape.to(torch::kLong).contiguous();
    const std::vector<int64_t> have(got.data_ptr<int64_t>(), got.data_ptr<int64_t>() + got.numel());
    auto join = [](const std::vector<int64_t>& v) {
      std::string r;
      for (size_t i = 0; i < v.size(); ++i) r += (i ? "," : "") + std::to_string(v[i]);
      return r;
    };
    OIAD_CHECK(have == want, "saved for (channels, size, transformations, depth, widen, flips, translations, rotations, dirichlet) = (",
               join(have), "), not (", join(want), ")");
    if (opt_.score == "dirichlet") {
      torch::Tensor alpha;
      a.read("alpha", alpha);
      const int64_t t = int64_t(transforms_.size());
      OIAD_CHECK(alpha.dim() == 2 && alpha.size(0) == t && alpha.size(1) == t && (alpha > 0).all().item<bool>(),
                 "Dirichlet parameters of shape ", alpha.sizes());
      alpha_ = alpha.to(torch::kDouble);
    }
    a.read("net", net);
    net_->load(net);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a transformation-prediction model (" + std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  } catch (const Error& e) {
    throw Error(path + ": not a transformation-prediction model of these settings (" + e.what() + ")");
  }
  net_->eval();
  fitted_ = true;
}

}  // namespace oiad::peers
