#include "oiad/peers/recseg.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/detect/detector.h"

namespace oiad::peers {

namespace F = torch::nn::functional;

namespace {

constexpr double kPi = 3.14159265358979323846;

int log2_floor(int v) {
  int k = 0;
  while ((v >> (k + 1)) > 0) ++k;
  return k;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Rotates images (N, C, H, W) about their centre by `degrees` (bilinear, zero outside).
torch::Tensor rotate(const torch::Tensor& x, double degrees) {
  const double a = degrees * kPi / 180.0;
  const auto theta = torch::tensor({std::cos(a), -std::sin(a), 0.0, std::sin(a), std::cos(a), 0.0}, torch::kFloat)
                         .view({1, 2, 3})
                         .expand({x.size(0), 2, 3});
  const auto grid = F::affine_grid(theta, x.sizes(), false);
  return F::grid_sample(x, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
}

torch::Tensor smooth3x3(const torch::Tensor& x) {
  // PIL's SMOOTH kernel, borders replicated.
  const auto k = torch::tensor({1.f, 1.f, 1.f, 1.f, 5.f, 1.f, 1.f, 1.f, 1.f}).view({1, 1, 3, 3}) / 13.0;
  const int64_t c = x.size(0), h = x.size(1), w = x.size(2);
  const auto p = F::pad(x.view({c, 1, h, w}), F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
  return torch::conv2d(p, k).view({c, h, w});
}

// Per channel histogram equalisation of [0, 1] values on 256 levels: each level goes to the
// share of pixels below or at it, rescaled so that the lowest occupied level maps to 0.
torch::Tensor equalize(const torch::Tensor& x) {
  const int64_t c = x.size(0), n = x.size(1) * x.size(2);
  auto q = (x * 255.0).round().clamp(0, 255).to(torch::kLong).view({c, n});
  std::vector<torch::Tensor> out;
  for (int64_t ch = 0; ch < c; ++ch) {
    const auto hist = torch::bincount(q[ch], {}, 256).to(torch::kDouble);
    const auto cdf = hist.cumsum(0);
    const double first = cdf.index({hist.nonzero().select(1, 0)[0]}).item<double>();
    const double denom = double(n) - first;
    if (denom <= 0) {
      out.push_back(x[ch].reshape({n}));
      continue;
    }
    const auto lut = ((cdf - first) / denom).clamp(0, 1).to(torch::kFloat);
    out.push_back(lut.index({q[ch]}));
  }
  return torch::stack(out).view(x.sizes());
}

}  // namespace

// ---- simulated anomalies ----

std::vector<float> perlin_noise(int side, int res_y, int res_x, Rng& rng) {
  OIAD_CHECK(res_y >= 1 && res_x >= 1 && side % res_y == 0 && side % res_x == 0, "perlin: ", res_y, "x", res_x,
             " cells do not divide ", side, " pixels");
  const int gw = res_x + 1;
  std::vector<double> gy(size_t(res_y + 1) * gw), gx(gy.size());
  for (size_t k = 0; k < gy.size(); ++k) {
    const double a = 2 * kPi * rng.uniform01();
    gy[k] = std::cos(a);
    gx[k] = std::sin(a);
  }
  auto fade = [](double t) { return t * t * t * (t * (t * 6 - 15) + 10); };
  const int cy = side / res_y, cx = side / res_x;
  std::vector<float> out(size_t(side) * side);
  for (int i = 0; i < side; ++i) {
    const int ci = i / cy;
    const double u = double(i) * res_y / side - ci;
    for (int j = 0; j < side; ++j) {
      const int cj = j / cx;
      const double v = double(j) * res_x / side - cj;
      auto dot = [&](int a, int b, double du, double dv) {
        const size_t k = size_t(ci + a) * gw + size_t(cj + b);
        return du * gy[k] + dv * gx[k];
      };
      const double n00 = dot(0, 0, u, v), n10 = dot(1, 0, u - 1, v), n01 = dot(0, 1, u, v - 1),
                   n11 = dot(1, 1, u - 1, v - 1);
      const double tu = fade(u), tv = fade(v);
      const double n0 = n00 * (1 - tu) + tu * n10, n1 = n01 * (1 - tu) + tu * n11;
      out[size_t(i) * side + j] = float(std::sqrt(2.0) * ((1 - tv) * n0 + tv * n1));
    }
  }
  return out;
}

torch::Tensor perlin_mask(int side, Rng& rng) {
  const int cap = log2_floor(side);
  const int a = std::min(int(rng.uniform_index(6)), cap), b = std::min(int(rng.uniform_index(6)), cap);
  std::vector<float> noise = perlin_noise(side, 1 << a, 1 << b, rng);
  const double angle = rng.uniform(-90.0, 90.0);
  const auto t = torch::from_blob(noise.data(), {1, 1, side, side}, torch::kFloat).clone();
  return (rotate(t, angle)[0][0] > 0.5).to(torch::kFloat);
}

torch::Tensor augment(const torch::Tensor& image, int which, Rng& rng) {
  const torch::Tensor& x = image;
  const int64_t c = x.size(0);
  switch (which) {
    case 0: {  // gamma contrast, per channel
      std::vector<torch::Tensor> ch;
      for (int64_t k = 0; k < c; ++k) ch.push_back(x[k].clamp_min(0).pow(rng.uniform(0.5, 2.0)));
      return torch::stack(ch);
    }
    case 1:  // brightness
      return (x * rng.uniform(0.8, 1.2) + rng.uniform(-30.0, 30.0) / 255.0).clamp(0, 1);
    case 2: {  // sharpness: PIL's blend of the smoothed image and the image
      const auto s = smooth3x3(x);
      return (s + rng.uniform(0.0, 2.0) * (x - s)).clamp(0, 1);
    }
    case 3: {
      if (c == 3) {  // hue rotation in YIQ, then saturation
        const double hue = rng.uniform(-50.0, 50.0) / 255.0 * 2 * kPi, sat = 1.0 + rng.uniform(-50.0, 50.0) / 255.0 * 2;
        const auto yiq = torch::tensor({0.299f, 0.587f, 0.114f, 0.596f, -0.274f, -0.322f, 0.211f, -0.523f, 0.312f}).view({3, 3});
        const auto rgb = torch::linalg_inv(yiq);
        const float ch = float(std::cos(hue) * sat), sh = float(std::sin(hue) * sat);
        const auto rot = torch::tensor({1.f, 0.f, 0.f, 0.f, ch, -sh, 0.f, sh, ch}).view({3, 3});
        const auto m = rgb.matmul(rot).matmul(yiq);
        return m.matmul(x.reshape({3, -1})).reshape(x.sizes()).clamp(0, 1);
      }
      const double f = rng.uniform(0.5, 1.5);  // grey: contrast about the mean
      const auto mean = x.mean();
      return (mean + f * (x - mean)).clamp(0, 1);
    }
    case 4: {  // solarize with probability 1/2
      if (rng.uniform01() >= 0.5) return x.clone();
      const double t = rng.uniform(32.0, 128.0) / 255.0;
      return torch::where(x >= t, 1.0 - x, x);
    }
    case 5: {  // posterize to 1-8 bits
      const int bits = 1 + int(rng.uniform_index(8));
      const double step = double(1 << (8 - bits));
      return ((x * 255.0).round().clamp(0, 255) / step).floor() * step / 255.0;
    }
    case 6:
      return 1.0 - x;
    case 7: {  // autocontrast per channel
      const auto flat = x.reshape({c, -1});
      const auto lo = std::get<0>(flat.min(1)).view({c, 1, 1}), hi = std::get<0>(flat.max(1)).view({c, 1, 1});
      const auto range = hi - lo;
      return torch::where(range > 1e-6, (x - lo) / range.clamp_min(1e-6), x);
    }
    case 8:
      return equalize(x);
    case 9:
      return rotate(x.unsqueeze(0), rng.uniform(-45.0, 45.0))[0];
    default:
      throw Error("recseg: augmentation " + std::to_string(which) + " does not exist");
  }
}

SimulatedSample simulate_anomaly(const torch::Tensor& image, const torch::Tensor& source, const RecSegOptions& o,
                                 Rng& rng) {
  OIAD_CHECK(image.dim() == 3 && source.sizes() == image.sizes(), "recseg: image ", image.sizes(), " and source ",
             source.sizes());
  const int64_t side = image.size(1);
  SimulatedSample s;
  if (rng.uniform01() >= o.anomaly_probability) {
    s.image = image;
    s.mask = torch::zeros({1, side, side});
    return s;
  }
  // Three distinct augmentations, in a random order.
  std::vector<int> order(kAugmentations);
  std::iota(order.begin(), order.end(), 0);
  shuffle_in_place(order, rng);
  torch::Tensor a = source;
  for (int k = 0; k < 3; ++k) a = augment(a, order[size_t(k)], rng);
  const torch::Tensor m = perlin_mask(int(side), rng).unsqueeze(0);
  const double beta = rng.uniform(0.0, 0.8);
  s.image = image * (1 - m) + m * ((1 - beta) * a + beta * image);
  s.mask = m;
  return s;
}

torch::Tensor focal_loss(const torch::Tensor& p, const torch::Tensor& mask, double gamma) {
  OIAD_CHECK(p.dim() == 4 && p.size(1) == 2 && mask.dim() == 4 && mask.size(1) == 1, "focal loss: probabilities ",
             p.sizes(), ", mask ", mask.sizes());
  const auto pt = (mask * p.select(1, 1).unsqueeze(1) + (1 - mask) * p.select(1, 0).unsqueeze(1)).clamp(1e-6, 1.0);
  return (-(1 - pt).pow(gamma) * pt.log()).mean();
}

AnomalySources procedural_sources(int channels, int side, int count, uint64_t seed) {
  Rng rng(seed * 7919 + 3);
  std::vector<torch::Tensor> all;
  for (int i = 0; i < count; ++i) {
    std::vector<torch::Tensor> ch;
    for (int c = 0; c < channels; ++c) {
      torch::Tensor t = torch::zeros({side, side});
      for (int layer = 0; layer < 2; ++layer) {
        const int cap = log2_floor(side);
        const int a = std::min(int(rng.uniform_index(6)), cap), b = std::min(int(rng.uniform_index(6)), cap);
        std::vector<float> n = perlin_noise(side, 1 << a, 1 << b, rng);
        t += torch::from_blob(n.data(), {side, side}, torch::kFloat).clone() * float(rng.uniform(0.3, 1.0));
      }
      const auto lo = t.min(), hi = t.max();
      t = (t - lo) / (hi - lo).clamp_min(1e-6);
      ch.push_back(t);
    }
    torch::Tensor img = torch::stack(ch);
    // Stripes or blobs of one level over part of the image.
    const double level = rng.uniform01();
    const auto yy = torch::arange(side).view({side, 1}).to(torch::kFloat),
               xx = torch::arange(side).view({1, side}).to(torch::kFloat);
    torch::Tensor region;
    if (rng.uniform01() < 0.5) {
      const double period = rng.uniform(3.0, double(side) / 2), angle = rng.uniform(0.0, kPi);
      region = torch::sin((yy * std::cos(angle) + xx * std::sin(angle)) * (2 * kPi / period)) > 0.3;
    } else {
      const double cy = rng.uniform(0.0, side), cx = rng.uniform(0.0, side), r = rng.uniform(side / 8.0, side / 2.0);
      region = ((yy - cy).pow(2) + (xx - cx).pow(2)) < r * r;
    }
    img = torch::where(region.unsqueeze(0), torch::full_like(img, level), img);
    all.push_back(img);
  }
  return {torch::stack(all), "procedural"};
}

// ---- the peer ----

RecSeg::RecSeg(int channels, int input_size, RecSegOptions options) : opt_(options) {
  OIAD_CHECK(opt_.steps >= 1 && opt_.batch_size >= 2, "recseg: steps ", opt_.steps, ", batch ", opt_.batch_size);
  torch::manual_seed(opt_.seed);
  net_ = std::make_shared<model::Segmenter>(
      model::SegmenterShape{channels, input_size, opt_.rec_width, opt_.seg_width, opt_.filter});
}

RecSegHistory RecSeg::fit(const torch::Tensor& x, const AnomalySources& sources,
                          const std::function<void(int, int, double)>& progress) {
  net_->check_images(x, "training images");
  net_->check_images(sources.images, "anomaly sources");
  OIAD_CHECK(x.size(0) >= 1 && sources.images.size(0) >= 1, "recseg: no training images or no anomaly sources");
  const auto t0 = std::chrono::steady_clock::now();
  torch::manual_seed(opt_.seed);
  Rng rng(opt_.seed * 1000003 + 11);
  model::ReconstructiveNet& rec_net = net_->reconstructive();
  model::DiscriminativeNet& seg_net = net_->discriminative();
  std::vector<torch::Tensor> params = rec_net->parameters();
  for (const auto& p : seg_net->parameters()) params.push_back(p);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(opt_.lr));
  rec_net->train();
  seg_net->train();
  RecSegHistory h;
  const int first_drop = int(0.8 * opt_.steps), second_drop = int(0.9 * opt_.steps);
  double sum = 0, sum_l2 = 0, sum_ssim = 0, sum_focal = 0;
  int in_block = 0;
  const int64_t n = x.size(0), k = sources.images.size(0);
  for (int step = 0; step < opt_.steps; ++step) {
    if (step == first_drop || step == second_drop) {
      const double factor = step == second_drop && first_drop != second_drop ? 0.04 : 0.2;
      set_lr(adam, opt_.lr * factor);
    }
    std::vector<torch::Tensor> clean, input, masks;
    for (int b = 0; b < opt_.batch_size; ++b) {
      const torch::Tensor img = x[int64_t(rng.uniform_index(uint64_t(n)))];
      const SimulatedSample s = simulate_anomaly(img, sources.images[int64_t(rng.uniform_index(uint64_t(k)))], opt_, rng);
      clean.push_back(img);
      input.push_back(s.image);
      masks.push_back(s.mask);
    }
    const auto target = torch::stack(clean), xa = torch::stack(input).to(torch::kFloat), m = torch::stack(masks);
    const auto rec = rec_net->forward(xa);
    const auto prob = torch::softmax(seg_net->forward(torch::cat({rec, xa}, 1)), 1);
    const auto l2 = F::mse_loss(rec, target);
    const auto ssim = 1.0 - detect::ssim_map(rec, target).mean().to(torch::kFloat);
    const auto focal = focal_loss(prob, m);
    const auto loss = l2 + ssim + focal;
    adam.zero_grad();
    loss.backward();
    adam.step();
    sum += loss.item<double>();
    sum_l2 += l2.item<double>();
    sum_ssim += ssim.item<double>();
    sum_focal += focal.item<double>();
    ++in_block;
    if ((step + 1) % 50 == 0 || step + 1 == opt_.steps) {
      h.loss.push_back(sum / in_block);
      h.l2.push_back(sum_l2 / in_block);
      h.ssim.push_back(sum_ssim / in_block);
      h.focal.push_back(sum_focal / in_block);
      if (progress) progress(step + 1, opt_.steps, h.loss.back());
      sum = sum_l2 = sum_ssim = sum_focal = 0;
      in_block = 0;
    }
  }
  rec_net->eval();
  seg_net->eval();
  h.seconds = seconds_since(t0);
  net_->set_trained_seconds(h.seconds);
  return h;
}

void RecSeg::save(const std::string& path) const { write_file_atomic(path, net_->to_bytes()); }

void RecSeg::load(const std::string& path) {
  const std::vector<uint8_t> b = read_file_bytes(path);
  net_->from_bytes(std::string(b.begin(), b.end()), path);
}

void check_recseg_options(const RecSegOptions& r, const std::string& source, int64_t sources,
                          const std::string& command) {
  OIAD_CHECK_USAGE(r.rec_width >= 1 && r.rec_width <= 256 && r.seg_width >= 1 && r.seg_width <= 256, command,
                   ": --recseg-widths ", r.rec_width, ",", r.seg_width, " outside [1, 256]");
  OIAD_CHECK_USAGE(r.steps >= 1 && r.steps <= 10000000, command, ": --recseg-steps ", r.steps,
                   " outside [1, 10000000]");
  OIAD_CHECK_USAGE(r.filter >= 0 && (r.filter == 0 || r.filter % 2 == 1), command, ": --recseg-filter ", r.filter,
                   " (expected an odd side, or 0 for the default)");
  OIAD_CHECK_USAGE(sources >= 1, command, ": --recseg-sources ", sources, " must be >= 1");
  OIAD_CHECK_USAGE(!source.empty(), command, ": --anomaly-source is empty");
}

nlohmann::json recseg_options_to_json(const RecSegOptions& o) {
  return {{"rec_width", o.rec_width}, {"seg_width", o.seg_width}, {"steps", o.steps},
          {"batch_size", o.batch_size}, {"lr", o.lr}, {"anomaly_probability", o.anomaly_probability},
          {"filter", o.filter}, {"seed", o.seed}};
}

AnomalySources sources_from_pixels(const std::vector<uint8_t>& pixels, int channels, int side, const std::string& name) {
  const int64_t per = int64_t(channels) * side * side;
  OIAD_CHECK(per > 0 && !pixels.empty() && int64_t(pixels.size()) % per == 0, "anomaly sources ", name, ": ",
             pixels.size(), " bytes are not whole ", channels, "x", side, "x", side, " images");
  AnomalySources s;
  s.images = torch::from_blob(const_cast<uint8_t*>(pixels.data()), {int64_t(pixels.size()) / per, channels, side, side},
                              torch::kUInt8)
                 .to(torch::kFloat)
                 .div(255.0);
  s.name = name;
  return s;
}

}  // namespace oiad::peers
