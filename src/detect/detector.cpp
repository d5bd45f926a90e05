#include "oiad/detect/detector.h"

#include "oiad/detect/ssim_direct.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"
#include "oiad/core/random.h"
#include "oiad/detect/complexity.h"

namespace oiad::detect {

Detector::Detector(model::DetectorVae net, DetectorOptions options) : net_(std::move(net)), opt_(std::move(options)) {
  OIAD_CHECK_USAGE(opt_.morphs >= 1, "detector: morphs must be >= 1");
  OIAD_CHECK_USAGE(opt_.radius_step > 0, "detector: radius step must be > 0");
  OIAD_CHECK_USAGE(opt_.max_rounds >= 1, "detector: max rounds must be >= 1");
  OIAD_CHECK_USAGE(opt_.range_quantile >= 0 && opt_.range_quantile < 0.5, "detector: range quantile must be in [0, 0.5)");
  OIAD_CHECK_USAGE(opt_.decode_batch >= 1, "detector: decode batch must be >= 1");
  OIAD_CHECK_USAGE(opt_.duplicate_tolerance >= 0, "detector: duplicate tolerance must be >= 0");
  net_->eval();
  if (opt_.fast_decoder) fast_ = std::make_shared<const FastDecoder>(net_->decoder);
}

torch::Tensor Detector::encode(const torch::Tensor& images) const {
  torch::NoGradGuard ng;
  return net_->encoder->forward(images).first;
}

void Detector::set_normal_range(NormalRange r, std::vector<int> codes) {
  const int d = net_->config.latent_dim;
  OIAD_CHECK(int(r.low.size()) == d, "normal range has ", r.low.size(), " codes, the model ", d);
  for (int c : codes) OIAD_CHECK(c >= 0 && c < d, "selected code ", c, " out of range");
  range_ = std::move(r);
  codes_ = std::move(codes);
  local_ = LocalStandard{};
}

void Detector::set_local_standard(LocalStandard s) {
  if (!s.empty())
    OIAD_CHECK(s.mean.size() == codes_.size() && s.side == local_map_side(net_->config.input_size),
               "local standard of ", s.mean.size(), " codes and side ", s.side, " for ", codes_.size(),
               " selected codes and side ", local_map_side(net_->config.input_size));
  local_ = std::move(s);
}

int local_map_side(int input_size) { return input_size - kSsimWindow + 1; }

void box_mean(double* map, int side, int smooth) {
  if (smooth <= 1) return;
  // Box means in two passes (rows, then columns), each over the box's values inside the
  // map: the count of a 2-D box is the product of its row and column counts.
  const int r = smooth / 2;
  const size_t cells = size_t(side) * size_t(side);
  std::vector<double> rows(cells);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const int a = std::max(0, x - r), b = std::min(side - 1, x + r);
      double s = 0;
      for (int q = a; q <= b; ++q) s += map[size_t(y) * side + q];
      rows[size_t(y) * side + x] = s / double(b - a + 1);
    }
  for (int y = 0; y < side; ++y) {
    const int a = std::max(0, y - r), b = std::min(side - 1, y + r);
    for (int x = 0; x < side; ++x) {
      double s = 0;
      for (int q = a; q <= b; ++q) s += rows[size_t(q) * side + x];
      map[size_t(y) * side + x] = s / double(b - a + 1);
    }
  }
}

double local_value(const float* map, const float* mean, const float* sd, int side, int smooth, double top_fraction) {
  const size_t cells = size_t(side) * size_t(side);
  std::vector<double> z(cells);
  for (size_t i = 0; i < cells; ++i) z[i] = local_z(map[i], mean[i], sd[i]);
  box_mean(z.data(), side, smooth);
  const size_t top = std::min(cells, std::max<size_t>(1, size_t(std::llround(top_fraction * double(cells)))));
  std::nth_element(z.begin(), z.begin() + std::ptrdiff_t(top - 1), z.end(), std::greater<double>());
  double s = 0;
  for (size_t i = 0; i < top; ++i) s += z[i];
  return s / double(top);
}

double local_value(const float* map, const LocalStandard& standard, size_t code) {
  return local_value(map, standard.mean[code].data(), standard.sd[code].data(), standard.side, standard.smooth,
                     standard.top_fraction);
}

LocalStandard fit_local_standard(const std::vector<float>& maps, size_t n, size_t codes, int side) {
  const size_t cells = size_t(side) * size_t(side);
  OIAD_CHECK(n >= 1 && maps.size() == n * codes * cells, "local standard: ", maps.size(), " map values for ", n,
             " images x ", codes, " codes x ", cells, " windows");
  LocalStandard s;
  s.side = side;
  for (size_t c = 0; c < codes; ++c) {
    std::vector<double> sum(cells, 0.0), sq(cells, 0.0);
    for (size_t i = 0; i < n; ++i) {
      const float* m = maps.data() + (i * codes + c) * cells;
      for (size_t j = 0; j < cells; ++j) sum[j] += m[j], sq[j] += double(m[j]) * m[j];
    }
    std::vector<float> mean(cells), sd(cells);
    for (size_t j = 0; j < cells; ++j) {
      const double mu = sum[j] / double(n);
      mean[j] = float(mu);
      sd[j] = float(std::sqrt(std::max(0.0, sq[j] / double(n) - mu * mu)));
    }
    s.mean.push_back(std::move(mean));
    s.sd.push_back(std::move(sd));
  }
  return s;
}

void Detector::fit_normal_range(const torch::Tensor& val_images) {
  OIAD_CHECK(val_images.size(0) >= 2, "calibration: need at least 2 VAL images, got ", val_images.size(0));
  auto mu = encode(val_images).to(torch::kDouble).contiguous();
  const int64_t n = mu.size(0), d = mu.size(1);
  NormalRange r;
  std::vector<double> spread(d);
  for (int64_t j = 0; j < d; ++j) {
    auto col = mu.select(1, j).contiguous();
    std::vector<double> v(col.data_ptr<double>(), col.data_ptr<double>() + n);
    std::sort(v.begin(), v.end());
    r.low.push_back(quantile_sorted(v, opt_.range_quantile));
    r.high.push_back(quantile_sorted(v, 1.0 - opt_.range_quantile));
    spread[j] = r.high.back() - r.low.back();
  }
  std::vector<int> order(d);
  std::iota(order.begin(), order.end(), 0);
  int k = opt_.top_k > 0 ? std::min<int>(opt_.top_k, int(d)) : int(d);
  if (opt_.code_selection == CodeSelection::kPrecision) {
    auto beta = net_->precision().detach().to(torch::kDouble).contiguous();
    const double* b = beta.data_ptr<double>();
    std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return b[a] > b[c]; });
  } else if (opt_.code_selection == CodeSelection::kSpread) {
    std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return spread[a] > spread[c]; });
  }
  order.resize(size_t(k));
  std::sort(order.begin(), order.end());
  set_normal_range(std::move(r), std::move(order));
}

std::vector<float> Detector::morph_values(int code, float z) const {
  OIAD_CHECK(!range_.low.empty(), "detector: normal range not set (calibrate first)");
  const double lo = range_.low[size_t(code)], hi = range_.high[size_t(code)];
  const double width = std::max(hi - lo, 1e-6);
  const int n = opt_.morphs;
  const int b = opt_.draws_per_round > 0 ? opt_.draws_per_round : std::max(1, n / 10);
  Rng rng(opt_.seed * 0x9E3779B97F4A7C15ULL + uint64_t(code) * 0xD1B54A32D192ED03ULL + 1);
  // Quasi placement: the golden-ratio sequence from a random start instead of independent
  // uniform draws (DetectorOptions::placement).
  const bool quasi = opt_.placement == Placement::kQuasi;
  double u = quasi ? rng.uniform(0.0, 1.0) : 0.0;
  auto next = [&u] {  // the sequence's next point in [0, 1)
    u += 0.6180339887498949;
    u -= std::floor(u);
    return u;
  };
  std::vector<float> kept;
  kept.reserve(size_t(n));
  for (int round = 1; round <= opt_.max_rounds && int(kept.size()) < n; ++round) {
    const double r = round * opt_.radius_step * width;
    for (int t = 0; t < b && int(kept.size()) < n; ++t) {
      const double v = double(z) + (quasi ? (2.0 * next() - 1.0) * r : rng.uniform(-r, r));
      if (v >= lo && v <= hi) kept.push_back(float(v));
    }
  }
  // Fallback: the code's value lies far outside its normal range; take the rest uniformly
  // inside the range (the closest "natural" values are then no better than any other).
  while (int(kept.size()) < n) kept.push_back(float(quasi ? lo + next() * (hi - lo) : rng.uniform(lo, hi)));
  return kept;
}

torch::Tensor mse(const torch::Tensor& x, const torch::Tensor& y) { return (x - y).pow(2).flatten(1).mean(1); }

torch::Tensor ssim(const torch::Tensor& x, const torch::Tensor& y) { return ssim_map(x, y).flatten(1).mean(1); }

torch::Tensor ssim_map(const torch::Tensor& x, const torch::Tensor& y) {
  TORCH_CHECK(x.sizes() == y.sizes() && x.dim() == 4, "ssim: expected two (N, C, H, W) tensors of one shape");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  constexpr int kWin = 11;
  TORCH_CHECK(h >= kWin && w >= kWin, "ssim: images must be at least 11x11");
  // Gaussian window of scikit-image: σ = 1.5, truncated at 3.5σ -> radius 5, normalised.
  std::vector<double> g(kWin);
  double sum = 0;
  for (int t = 0; t < kWin; ++t) sum += (g[t] = std::exp(-double((t - 5) * (t - 5)) / (2 * 1.5 * 1.5)));
  for (double& v : g) v /= sum;
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  auto gk = torch::tensor(g, opts);
  auto X = x.to(torch::kDouble).reshape({n * c, 1, h, w});
  auto Y = y.to(torch::kDouble).reshape({n * c, 1, h, w});
  // One batched filter over the five maps: x, y, x², y², xy.
  auto stack = torch::cat({X, Y, X * X, Y * Y, X * Y}, 0);
  auto f = torch::conv2d(torch::conv2d(stack, gk.view({1, 1, 1, kWin})), gk.view({1, 1, kWin, 1}));
  auto parts = f.chunk(5, 0);
  auto ux = parts[0], uy = parts[1];
  auto vx = parts[2] - ux * ux, vy = parts[3] - uy * uy, vxy = parts[4] - ux * uy;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  return s.reshape({n, c, h - kWin + 1, w - kWin + 1}).mean(1);
}

// One function of about 125 lines on purpose: the scoring hot path (docs/performance-history.md). The
// morphs of whole codes are decoded in batches and every metric of every (image, code) is
// reduced from the same decoded buffer, whose layout and index arithmetic stay in one place.
ConsistencyTable Detector::structure_consistency(const torch::Tensor& images, std::vector<float>* local_maps) const {
  OIAD_CHECK(!codes_.empty(), "detector: no codes selected (calibrate first)");
  torch::NoGradGuard ng;
  const auto& cfg = net_->config;
  OIAD_CHECK(images.dim() == 4 && images.size(1) == cfg.channels && images.size(2) == cfg.input_size &&
                 images.size(3) == cfg.input_size,
             "detector: images of shape ", images.sizes(), " do not fit the model (", cfg.channels, "x",
             cfg.input_size, "x", cfg.input_size, ")");
  const int64_t n = images.size(0);
  const int64_t k = int64_t(codes_.size());
  const int64_t m = opt_.morphs;
  auto [mu, logvar] = net_->encoder->forward(images);
  mu = mu.contiguous();
  const float* mup = mu.data_ptr<float>();
  const int64_t d = mu.size(1);

  // Perturbed values for every (image, code, morph), row r = (i * k + c) * m + t.
  const int64_t total = n * k * m;
  std::vector<float> values(static_cast<size_t>(total));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) {
      const int code = codes_[size_t(c)];
      auto v = morph_values(code, mup[i * d + code]);
      std::copy(v.begin(), v.end(), values.begin() + (i * k + c) * m);
    }
  auto values_t = torch::from_blob(values.data(), {total}, torch::kFloat);
  std::vector<int64_t> code_of(codes_.begin(), codes_.end());
  auto code_t = torch::tensor(code_of, torch::kLong);
  const bool loss_kl = net_->stochastic();
  auto log_beta = net_->log_precision.detach();

  // The whole-image metrics are means over the morphs of per-row values; the local metric
  // starts from the window-wise minimum over a code's morphs of the dissimilarity maps.
  constexpr int kRowMetrics = 3;  // kMse, kLoss, kSsim
  const int side = local_map_side(int(cfg.input_size));
  const size_t cells = size_t(side) * size_t(side);
  std::vector<float> group_min(size_t(n * k) * cells, std::numeric_limits<float>::infinity());
  // Blocks hold whole (image, code) groups, so no two blocks touch one group's minimum.
  const int64_t rows_per_block = std::max<int64_t>(1, opt_.decode_batch / m) * m;
  const int64_t blocks = (total + rows_per_block - 1) / rows_per_block;
  auto fold_minimum = [&](int64_t a, int64_t b, const float* maps) {
    for (int64_t r = a; r < b; ++r) {
      float* g = group_min.data() + size_t(r / m) * cells;
      const float* row = maps + size_t(r - a) * cells;
      for (size_t j = 0; j < cells; ++j) g[j] = std::min(g[j], row[j]);
    }
  };

  auto sums = torch::zeros({kRowMetrics, n * k}, torch::kDouble);
  const auto images_c = images.to(torch::kFloat).contiguous();
  // One block of morphs: rows [a, b) -> decoded morphs and the per-row loss and MSE.
  auto decode_rows = [&](int64_t a, int64_t b, torch::Tensor& group, torch::Tensor& owner, torch::Tensor& x,
                         torch::Tensor& morph, torch::Tensor& loss) {
    auto rows = torch::arange(a, b, torch::kLong);
    group = rows.div(m, "floor");  // (i * k + c)
    owner = group.div(k, "floor");  // image i
    auto code = code_t.index_select(0, group.remainder(k));
    auto z = mu.index_select(0, owner).clone();
    z.scatter_(1, code.unsqueeze(1), values_t.slice(0, a, b).unsqueeze(1));
    auto logits = fast_ ? fast_->forward(z) : net_->decoder->forward(z);
    morph = model::output_to_image(logits, cfg.reconstruction);
    x = images.index_select(0, owner);
    loss = model::reconstruction_error(logits, x, cfg.reconstruction).to(torch::kDouble);
    if (loss_kl) loss += model::kl_to_scaled_prior(z, logvar.index_select(0, owner), log_beta).to(torch::kDouble);
  };
  if (!fast_) {
    // The straightforward path: LibTorch modules and tensor SSIM, block after block.
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t a = blk * rows_per_block, b = std::min<int64_t>(total, a + rows_per_block);
      torch::Tensor group, owner, x, morph, loss;
      decode_rows(a, b, group, owner, x, morph, loss);
      sums[int(Metric::kMse)].index_add_(0, group, mse(x, morph).to(torch::kDouble));
      sums[int(Metric::kLoss)].index_add_(0, group, loss);
      auto smap = ssim_map(x, morph);
      sums[int(Metric::kSsim)].index_add_(0, group, smap.flatten(1).mean(1));
      auto dis = (1.0 - smap).to(torch::kFloat).contiguous();
      fold_minimum(a, b, dis.data_ptr<float>());
    }
  } else {
    // The fast path: whole blocks per thread (decoder, loss, MSE and plain-loop SSIM run
    // serially inside a block), so threads never wait on each other between layers or
    // metrics; per-row values are summed per (image, code) afterwards.
    std::vector<double> row_val(size_t(kRowMetrics * total));
    at::parallel_for(0, blocks, 1, [&](int64_t c0, int64_t c1) {
      torch::NoGradGuard guard;
      std::vector<float> maps;
      for (int64_t blk = c0; blk < c1; ++blk) {
        const int64_t a = blk * rows_per_block, b = std::min<int64_t>(total, a + rows_per_block);
        torch::Tensor group, owner, x, morph, loss;
        decode_rows(a, b, group, owner, x, morph, loss);
        auto e = mse(x, morph).to(torch::kDouble).contiguous();
        loss = loss.contiguous();
        std::copy(e.data_ptr<double>(), e.data_ptr<double>() + (b - a), row_val.begin() + int(Metric::kMse) * total + a);
        std::copy(loss.data_ptr<double>(), loss.data_ptr<double>() + (b - a),
                  row_val.begin() + int(Metric::kLoss) * total + a);
        auto owner_c = owner.contiguous();
        auto morph_c = morph.contiguous();
        maps.resize(size_t(b - a) * cells);
        ssim_direct(images_c.data_ptr<float>(), owner_c.data_ptr<int64_t>(), morph_c.data_ptr<float>(), b - a,
                    int(cfg.channels), int(cfg.input_size), int(cfg.input_size),
                    row_val.data() + int(Metric::kSsim) * total + a, maps.data());
        fold_minimum(a, b, maps.data());
      }
    });
    double* sp = sums.data_ptr<double>();
    for (int mm = 0; mm < kRowMetrics; ++mm)
      for (int64_t g = 0; g < n * k; ++g) {
        double acc = 0;
        for (int64_t t = 0; t < m; ++t) acc += row_val[size_t(mm * total + g * m + t)];
        sp[mm * n * k + g] = acc;
      }
  }
  sums = (sums / double(m)).contiguous();
  const double* s = sums.data_ptr<double>();
  ConsistencyTable out{size_t(n), size_t(k)};
  for (int mm = 0; mm < kRowMetrics; ++mm)
    for (int64_t g = 0; g < n * k; ++g) out.at(size_t(g / k), Metric(mm), size_t(g % k)) = s[mm * n * k + g];
  if (!local_.empty())
    for (int64_t g = 0; g < n * k; ++g) {
      const size_t c = size_t(g % k);
      out.at(size_t(g / k), Metric::kLocal, c) =
          local_value(group_min.data() + size_t(g) * cells, local_, c);
    }
  if (local_maps) *local_maps = std::move(group_min);
  return out;
}

torch::Tensor Detector::change_maps(const torch::Tensor& images) const {
  OIAD_CHECK(!local_.empty(), "detector: no local standard (calibrate again to get change maps)");
  std::vector<float> maps;
  structure_consistency(images, &maps);
  return change_maps(maps, images.size(0));
}

torch::Tensor Detector::change_maps(const std::vector<float>& local_maps, int64_t n) const {
  OIAD_CHECK(!local_.empty(), "detector: no local standard (calibrate again to get change maps)");
  const int64_t k = int64_t(codes_.size()), side = local_.side;
  const size_t cells = size_t(side) * size_t(side);
  OIAD_CHECK(local_maps.size() == size_t(n * k) * cells, "change maps: ", local_maps.size(), " map values for ", n,
             " images x ", k, " codes x ", cells, " windows");
  auto z = torch::zeros({n, side, side}, torch::kFloat);
  float* zp = z.data_ptr<float>();
  std::vector<double> mean_z(cells);
  for (int64_t i = 0; i < n; ++i) {
    std::fill(mean_z.begin(), mean_z.end(), 0.0);
    for (int64_t c = 0; c < k; ++c) {
      const float* mp = local_maps.data() + size_t(i * k + c) * cells;
      const float* mean = local_.mean[size_t(c)].data();
      const float* sd = local_.sd[size_t(c)].data();
      for (size_t j = 0; j < cells; ++j) mean_z[j] += local_z(mp[j], mean[j], sd[j]) / double(k);
    }
    box_mean(mean_z.data(), int(side), local_.smooth);
    for (size_t j = 0; j < cells; ++j) zp[size_t(i) * cells + j] = float(mean_z[j]);
  }
  const int64_t pad = kSsimWindow / 2;
  return torch::replication_pad2d(z.unsqueeze(1), {pad, pad, pad, pad}).squeeze(1).contiguous();
}

torch::Tensor Detector::pr_morphs(const torch::Tensor& image, int code) const {
  torch::NoGradGuard ng;
  auto mu = encode(image.dim() == 3 ? image.unsqueeze(0) : image);
  auto v = morph_values(code, mu[0][code].item<float>());
  auto z = mu.repeat({int64_t(v.size()), 1});
  z.select(1, code).copy_(torch::tensor(v));
  return net_->decode(z);
}

ConsistencyTable Detector::consistency_in_blocks(const torch::Tensor& images, std::vector<float>* maps) const {
  const int64_t n = images.size(0);
  ConsistencyTable all;
  if (maps) maps->clear();
  std::vector<float> part;
  for (int64_t a = 0; a < n; a += kCalibrationBlock) {
    const int64_t b = std::min(n, a + kCalibrationBlock);
    ConsistencyTable sc = structure_consistency(images.slice(0, a, b), maps ? &part : nullptr);
    if (a == 0) all = std::move(sc);
    else all.append(sc);
    if (maps) maps->insert(maps->end(), part.begin(), part.end());
  }
  return all;
}

Calibration Detector::calibrate(const torch::Tensor& val_images, double alpha, ConsistencyTable* val_values,
                                const ConsistencyPass& pass) {
  check_alpha(alpha);
  fit_normal_range(val_images);
  std::vector<float> maps;
  ConsistencyTable sc = pass ? pass(*this, val_images, &maps) : consistency_in_blocks(val_images, &maps);
  OIAD_CHECK(int64_t(sc.images()) == val_images.size(0) && sc.codes() == codes_.size(),
             "calibration: the consistency pass returned ", sc.images(), " images x ", sc.codes(), " codes for ",
             val_images.size(0), " x ", codes_.size());
  // The local metric's standard comes from the VAL maps themselves; their values follow.
  const size_t n = size_t(val_images.size(0)), k = codes_.size();
  const int side = local_map_side(int(net_->config.input_size));
  const size_t cells = size_t(side) * size_t(side);
  local_ = fit_local_standard(maps, n, k, side);
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < k; ++c)
      sc.at(i, Metric::kLocal, c) =
          local_value(maps.data() + (i * k + c) * cells, local_, c);
  merged_.clear();
  std::vector<double> weights;
  if (opt_.duplicate_tolerance > 0) {
    std::vector<std::vector<size_t>> groups;
    const std::vector<size_t> kept = distinct_codes(sc, opt_.duplicate_tolerance, &groups);
    std::vector<int> codes;
    LocalStandard local = local_;  // the same side and form, the kept codes' standards
    local.mean.clear();
    local.sd.clear();
    for (size_t j = 0; j < kept.size(); ++j) {
      codes.push_back(codes_[kept[j]]);
      local.mean.push_back(local_.mean[kept[j]]);
      local.sd.push_back(local_.sd[kept[j]]);
      merged_.emplace_back();
      for (size_t g : groups[j]) merged_.back().push_back(codes_[g]);
      weights.push_back(1.0 + double(groups[j].size()));
    }
    sc = sc.with_codes(kept);
    codes_ = std::move(codes);
    local_ = std::move(local);
  }
  Calibration c = make_calibration(codes_, sc, alpha, nullptr, weights);
  fit_relative(c, sc, val_images);
  if (val_values) *val_values = std::move(sc);
  return c;
}

}  // namespace oiad::detect
