#include <gtest/gtest.h>

#include <cmath>

#include "oiad/core/error.h"
#include "oiad/core/random.h"
#include "oiad/detect/detector.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/ssim_direct.h"
#include "oiad/model/preprocess.h"

namespace oiad::detect {
namespace {

model::DetectorVae tiny_model() {
  torch::manual_seed(1);
  model::ModelConfig c = model::ModelConfig::defaults(model::ModelKind::kDetectorVae, 1, 32);
  c.latent_dim = 4;
  c.disc_layers = 1;
  c.disc_units = 8;
  return model::DetectorVae(c);
}

// tiny_model with codes 2 and 3 collapsed: the encoder gives them mean 0 for every image
// and the decoder ignores them (weight columns zeroed); codes 0 and 1 clearly active (wide
// normal ranges, strong effect on the image).
model::DetectorVae collapsed_model() {
  auto net = tiny_model();
  torch::NoGradGuard ng;
  auto first = net->decoder->dense[0]->as<torch::nn::Linear>();
  first->weight.index_put_({torch::indexing::Slice(), torch::indexing::Slice(2, 4)}, 0.0);
  first->weight.index({torch::indexing::Slice(), torch::indexing::Slice(0, 2)}).mul_(200.0);
  net->encoder->mu_head->weight.index({torch::indexing::Slice(0, 2)}).mul_(200.0);
  net->encoder->mu_head->weight.index_put_({torch::indexing::Slice(2, 4)}, 0.0);
  net->encoder->mu_head->bias.index_put_({torch::indexing::Slice(2, 4)}, 0.0);
  return net;
}

DetectorOptions small_options(int morphs = 7) {
  DetectorOptions o;
  o.morphs = morphs;
  o.seed = 3;
  return o;
}

// tiny_model on the fast path and on the reference path (LibTorch's decoder), with one normal
// range fitted on `n_val` random VAL images drawn after torch::manual_seed(seed).
struct TwoPaths {
  Detector fast, ref;
  torch::Tensor val;
};
TwoPaths fast_and_reference(int morphs, int seed, int64_t n_val) {
  DetectorOptions fast_opt = small_options(morphs), ref_opt = small_options(morphs);
  ref_opt.fast_decoder = false;
  TwoPaths p{Detector(tiny_model(), fast_opt), Detector(tiny_model(), ref_opt), {}};
  torch::manual_seed(seed);
  p.val = torch::rand({n_val, 1, 32, 32});
  p.fast.fit_normal_range(p.val);
  p.ref.fit_normal_range(p.val);
  return p;
}

// Kept morphs lie inside the normal range and there are exactly N, wherever the code is:
// inside the range, just outside it, or so far outside that the fallback is used.
TEST(Morphs, InsideRangeAndExactlyN) {
  Detector det(tiny_model(), small_options(25));
  det.set_normal_range({{-1, -1, -1, -1}, {2, 2, 2, 2}}, {0, 1, 2, 3});
  for (float z : {0.5f, -1.0f, 2.0f, -1.3f, 2.5f, 40.0f, -1000.0f}) {
    auto v = det.morph_values(1, z);
    ASSERT_EQ(v.size(), 25u) << "z = " << z;
    for (float x : v) {
      EXPECT_GE(x, -1.0f) << "z = " << z;
      EXPECT_LE(x, 2.0f) << "z = " << z;
    }
  }
  // With the default B = N / 10 the radius grows over rounds: morphs spread over the range.
  auto spread = det.morph_values(0, 0.5f);
  float lo = spread[0], hi = spread[0];
  for (float x : spread) lo = std::min(lo, x), hi = std::max(hi, x);
  EXPECT_GT(hi - lo, 0.5f * 3.0f);
  // With B = N every draw of the first round is kept (z mid-range): |Δz| <= Δr · width.
  DetectorOptions one_round = small_options(25);
  one_round.draws_per_round = 25;
  Detector d1(tiny_model(), one_round);
  d1.set_normal_range({{-1, -1, -1, -1}, {2, 2, 2, 2}}, {0, 1, 2, 3});
  for (float x : d1.morph_values(0, 0.5f)) EXPECT_LE(std::abs(x - 0.5f), 0.1f * 3.0f + 1e-6f);
}

// placement = quasi: the same search, drawing along the golden-ratio sequence. In one round
// of N draws (B = N, the whole interval inside the range) the draws fill it evenly: the
// largest gap between neighbours (circularly) is under 1.81 / N, the bound the three-gap
// theorem gives and a brute force over 2,000 random starts reaches (1.8034); N independent
// uniform draws leave a largest gap near ln(N) / N. Inside the range and exactly N wherever
// the code is, like the random search; the seed moves the start.
TEST(Morphs, QuasiPlacementFillsTheIntervalEvenly) {
  for (int n : {5, 10, 20, 100}) {
    DetectorOptions o = small_options(n);
    o.placement = Placement::kQuasi;
    o.draws_per_round = n;
    o.radius_step = 0.5;
    Detector det(tiny_model(), o);
    det.set_normal_range({{0, 0, 0, 0}, {1, 1, 1, 1}}, {0, 1, 2, 3});
    auto v = det.morph_values(0, 0.5f);
    ASSERT_EQ(v.size(), size_t(n));
    std::vector<double> u(v.begin(), v.end());  // = the sequence's points, as 0.5 + (2u - 1) / 2
    std::sort(u.begin(), u.end());
    double gap = u.front() + 1.0 - u.back();
    for (size_t i = 1; i < u.size(); ++i) gap = std::max(gap, u[i] - u[i - 1]);
    EXPECT_LT(gap * n, 1.81) << "N = " << n;
    EXPECT_GT(gap * n, 1.0) << "N = " << n << ": N points leave a gap of at least 1 / N";
    for (float z : {0.5f, -0.2f, 7.0f}) {
      auto w = det.morph_values(1, z);
      ASSERT_EQ(w.size(), size_t(n));
      for (float x : w) EXPECT_TRUE(x >= 0.0f && x <= 1.0f) << x;
    }
    DetectorOptions other = o;
    other.seed = 1;
    Detector det2(tiny_model(), other);
    det2.set_normal_range({{0, 0, 0, 0}, {1, 1, 1, 1}}, {0, 1, 2, 3});
    EXPECT_NE(det2.morph_values(0, 0.5f), v);
  }
  // Stored with the calibration only when it is not the paper's random search.
  DetectorOptions q;
  q.placement = Placement::kQuasi;
  EXPECT_EQ(q.to_json()["placement"], "quasi");
  EXPECT_EQ(DetectorOptions::from_json(q.to_json()).placement, Placement::kQuasi);
  EXPECT_FALSE(DetectorOptions().to_json().contains("placement"));
  EXPECT_EQ(DetectorOptions::from_json(DetectorOptions().to_json()).placement, Placement::kRandom);
  auto bad = q.to_json();
  bad["placement"] = "sobol";
  EXPECT_THROW(DetectorOptions::from_json(bad), Error);
}

// Codes 2 and 3 collapsed: the encoder gives them mean 0 for every image (so their normal
// range is a point and the loss's KL term is the same) and the decoder ignores them (weight
// columns zeroed), so their consistencies are equal and, with duplicate_tolerance, one of
// them is scored: codes {0, 1, 2}, code 2 standing for 3. The kept codes' VAL distributions
// are those of the calibration without merging (same morph streams per code).
TEST(Detector, DuplicateCodesAreScoredOnce) {
  auto net = collapsed_model();
  torch::manual_seed(8);
  auto val = torch::rand({12, 1, 32, 32});
  DetectorOptions all = small_options(6), merge = small_options(6);
  merge.duplicate_tolerance = 0.05;
  Detector full(net, all), merged(net, merge);
  ConsistencyTable vf;
  const Calibration cf = full.calibrate(val, 0.4, &vf), cm = merged.calibrate(val, 0.4);
  EXPECT_EQ(full.codes(), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(full.merged_codes().empty());
  EXPECT_EQ(merged.codes(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(cm.codes, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(merged.merged_codes(), (std::vector<std::vector<int>>{{}, {}, {3}}));
  for (int m = 0; m < kNumMetrics; ++m)
    for (size_t k = 0; k < 3; ++k)
      EXPECT_EQ(cm.distributions[size_t(m)][k].sorted, cf.distributions[size_t(m)][k].sorted) << m << " " << k;
  auto x = torch::rand({3, 1, 32, 32});
  const ConsistencyTable a = full.structure_consistency(x), b = merged.structure_consistency(x);
  // Equal up to float rounding: the dense layers run through OpenBLAS, whose kernels for some
  // CPUs (the Haswell/Zen ones) round a row differently by its position in the batch.
  auto near = [](double x, double y) { return std::abs(x - y) <= 1e-6 * (1 + std::abs(y)); };
  for (size_t i = 0; i < 3; ++i)
    for (int m = 0; m < kNumMetrics; ++m) {
      ASSERT_EQ(b.of(i, Metric(m)).size(), 3u);
      for (size_t k = 0; k < 3; ++k) EXPECT_PRED2(near, b.of(i, Metric(m))[k], a.of(i, Metric(m))[k]);
      EXPECT_PRED2(near, a.of(i, Metric(m))[2], a.of(i, Metric(m))[3]);
    }
  // In the one-sided mean code 2 counts twice (for itself and code 3), so the merged
  // calibration's one-sided scores are those of scoring all four codes, up to the rounding
  // above carried through the standardisation: a consistency c off by 1e-6 (1 + |c|) moves
  // its standardised value by that over the code's VAL standard deviation (brute force here).
  // The local metric counts each kept code once: its scores are those of codes 0, 1, 2 alone.
  const Calibration kept = make_calibration({0, 1, 2}, vf.with_codes({0, 1, 2}), 0.4);
  EXPECT_TRUE(cf.weights.empty());
  EXPECT_EQ(cm.weights, (std::vector<double>{1, 1, 2}));
  for (int m = 0; m < kNumMetrics; ++m) {
    double slack = 0;
    for (const auto& d : cf.distributions[size_t(m)]) {
      double mean = 0, var = 0, largest = 0;
      for (double v : d.sorted) mean += v, largest = std::max(largest, std::abs(v));
      mean /= double(d.sorted.size());
      for (double v : d.sorted) var += (v - mean) * (v - mean);
      slack = std::max(slack, 1e-6 * (1 + largest) / std::sqrt(var / double(d.sorted.size())));
    }
    auto close = [slack](double x, double y) { return std::abs(x - y) <= 1e-6 * (1 + std::abs(y)) + slack; };
    ASSERT_EQ(cm.val_one_sided[size_t(m)].size(), cf.val_one_sided[size_t(m)].size());
    for (size_t i = 0; i < cf.val_one_sided[size_t(m)].size(); ++i)
      EXPECT_PRED2(close, cm.val_one_sided[size_t(m)][i],
                   (Metric(m) == Metric::kLocal ? kept : cf).val_one_sided[size_t(m)][i])
          << m << " " << i;
    for (size_t i = 0; i < 3; ++i) {
      const std::vector<double> all = a.of(i, Metric(m)), first(all.begin(), all.begin() + 3);
      EXPECT_PRED2(close, cm.one_sided_score(Metric(m), b.of(i, Metric(m))),
                   Metric(m) == Metric::kLocal ? kept.one_sided_score(Metric(m), first)
                                               : cf.one_sided_score(Metric(m), all));
    }
  }
}

// choose_morphs on the model of the test above (codes 2 and 3 collapsed, 0 and 1 active):
// a loose tolerance stops at the ladder's first N, an impossible one runs the whole ladder
// and says it was not met; each step's worst ratio is the one two detectors with seeds s and
// s + 1 give, and it is never a collapsed code's (their search adds no noise).
TEST(ChooseMorphs, LadderStopsAtFirstNThatMeetsEpsilon) {
  auto net = collapsed_model();
  torch::manual_seed(9);
  auto val = torch::rand({16, 1, 32, 32});
  model::LoadedModel m{net, {}};
  const DetectorOptions o = small_options();
  const MorphsChoice loose = choose_morphs(m, o, val, 1e9, {3, 6, 12});
  EXPECT_TRUE(loose.met);
  EXPECT_EQ(loose.morphs, 3);
  ASSERT_EQ(loose.steps.size(), 1u);
  const MorphsChoice strict = choose_morphs(m, o, val, 1e-12, {3, 6, 12}, 10);
  EXPECT_FALSE(strict.met);
  EXPECT_EQ(strict.morphs, 12);
  EXPECT_EQ(strict.images, 10);
  EXPECT_EQ(strict.codes, (std::vector<int>{0, 1, 2, 3}));
  ASSERT_EQ(strict.steps.size(), 3u);
  const auto sub = val.index_select(0, torch::tensor(std::vector<int64_t>{0, 1, 3, 4, 6, 8, 9, 11, 12, 14}));
  for (const auto& st : strict.steps) {
    EXPECT_TRUE(st.worst_code == 0 || st.worst_code == 1) << st.morphs;
    ConsistencyTable sc[2];
    for (int r = 0; r < 2; ++r) {
      DetectorOptions a = o;
      a.morphs = st.morphs;
      a.seed = o.seed + uint64_t(r);
      Detector d(net, a);
      d.fit_normal_range(val);
      sc[r] = d.structure_consistency(sub);
    }
    std::vector<double> x, y;
    for (size_t i = 0; i < 10; ++i) {
      x.push_back(sc[0].of(i, st.worst_metric)[size_t(st.worst_code)]);
      y.push_back(sc[1].of(i, st.worst_metric)[size_t(st.worst_code)]);
    }
    EXPECT_DOUBLE_EQ(st.worst_ratio, monte_carlo_ratio(x, y)) << st.morphs;
    EXPECT_GT(st.worst_ratio, 0.0);
    // Collapsed codes (a point range, ignored by the decoder): every morph is the same.
    ASSERT_EQ(st.ratios.size(), size_t(kNumMetrics));
    for (const auto& r : st.ratios) {
      ASSERT_EQ(r.size(), 4u);
      EXPECT_EQ(r[2], 0.0);
      EXPECT_EQ(r[3], 0.0);
      EXPECT_LE(std::max(r[0], r[1]), st.worst_ratio);
    }
  }
  EXPECT_THROW(choose_morphs(m, o, val, 0.0), UsageError);
}

// The search is seeded: same seed, same morphs; another seed, other morphs.
TEST(Morphs, Seeded) {
  Detector a(tiny_model(), small_options()), b(tiny_model(), small_options());
  DetectorOptions o = small_options();
  o.seed = 4;
  Detector c(tiny_model(), o);
  for (Detector* d : {&a, &b, &c}) d->set_normal_range({{-1, -1, -1, -1}, {1, 1, 1, 1}}, {0, 1, 2, 3});
  EXPECT_EQ(a.morph_values(2, 0.1f), b.morph_values(2, 0.1f));
  EXPECT_NE(a.morph_values(2, 0.1f), c.morph_values(2, 0.1f));
}

// Brute-force SSIM: the definition written out with explicit loops over every valid window.
double ssim_brute(const std::vector<double>& x, const std::vector<double>& y, int c, int h, int w) {
  double g[11], s = 0;
  for (int t = 0; t < 11; ++t) s += g[t] = std::exp(-(t - 5.0) * (t - 5.0) / (2 * 1.5 * 1.5));
  double total = 0;
  for (int ch = 0; ch < c; ++ch) {
    double mean = 0;
    int windows = 0;
    for (int y0 = 0; y0 + 11 <= h; ++y0)
      for (int x0 = 0; x0 + 11 <= w; ++x0) {
        double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
        for (int i = 0; i < 11; ++i)
          for (int j = 0; j < 11; ++j) {
            const double wt = g[i] * g[j] / (s * s);
            const double a = x[(ch * h + y0 + i) * w + x0 + j], b = y[(ch * h + y0 + i) * w + x0 + j];
            mx += wt * a, my += wt * b, xx += wt * a * a, yy += wt * b * b, xy += wt * a * b;
          }
        const double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
        const double c1 = 1e-4, c2 = 9e-4;
        mean += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        ++windows;
      }
    total += mean / windows;
  }
  return total / c;
}

std::vector<double> pattern(int c, int h, int w, int kind) {
  std::vector<double> v(size_t(c * h * w));
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        double p = 0;
        if (kind == 0) p = ((y * 7 + x * 13) % 17) / 16.0;
        if (kind == 1) p = ((y * 5 + x * 3 + 2) % 11) / 10.0;
        if (kind == 2) p = ((ch * 31 + y * 7 + x * 3) % 23) / 22.0;
        if (kind == 3) p = ((ch * 11 + y * y + x) % 19) / 18.0;
        v[size_t((ch * h + y) * w + x)] = p;
      }
  return v;
}

torch::Tensor as_tensor(const std::vector<double>& v, int c, int h, int w) {
  return torch::tensor(v, torch::kDouble).view({1, c, h, w});
}

// SSIM(x, x) = 1; SSIM is symmetric; it equals the brute-force definition and the values
// scikit-image 0.19.3 gives (tests/reference/ssim_reference.py) to 1e-4.
TEST(Ssim, IdentitySymmetryAndReferences) {
  auto a = pattern(1, 16, 20, 0), b = pattern(1, 16, 20, 1);
  auto ta = as_tensor(a, 1, 16, 20), tb = as_tensor(b, 1, 16, 20);
  EXPECT_NEAR(ssim(ta, ta).item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(ssim(ta, tb).item<double>(), ssim(tb, ta).item<double>(), 1e-12);
  EXPECT_NEAR(ssim(ta, tb).item<double>(), ssim_brute(a, b, 1, 16, 20), 1e-9);
  EXPECT_NEAR(ssim(ta, tb).item<double>(), 0.1136619977, 1e-4);
  EXPECT_NEAR(ssim(ta, ta * 0.8 + 0.1).item<double>(), 0.9757406232, 1e-4);
  auto c = pattern(3, 14, 12, 2), d = pattern(3, 14, 12, 3);
  auto tc = as_tensor(c, 3, 14, 12), td = as_tensor(d, 3, 14, 12);
  EXPECT_NEAR(ssim(tc, td).item<double>(), 0.0044281906, 1e-4);
  EXPECT_NEAR(ssim(tc, td).item<double>(), ssim_brute(c, d, 3, 14, 12), 1e-9);
  // float32 input (the scoring path) agrees too.
  EXPECT_NEAR(ssim(ta.to(torch::kFloat), tb.to(torch::kFloat)).item<double>(), 0.1136619977, 1e-4);
  // Batched: one value per pair.
  auto batch = ssim(torch::cat({ta, ta}), torch::cat({tb, ta}));
  EXPECT_NEAR(batch[0].item<double>(), 0.1136619977, 1e-4);
  EXPECT_NEAR(batch[1].item<double>(), 1.0, 1e-12);
}

// MSE is the mean of squared differences.
TEST(Mse, MeanOfSquares) {
  auto x = torch::tensor({0.0, 0.5, 1.0, 0.25}, torch::kDouble).view({1, 1, 2, 2});
  auto y = torch::tensor({0.5, 0.5, 0.0, 0.0}, torch::kDouble).view({1, 1, 2, 2});
  EXPECT_NEAR(mse(x, y).item<double>(), (0.25 + 0 + 1 + 0.0625) / 4, 1e-12);
}

// Structure consistency is deterministic, does not depend on which images are scored
// together, and equals the mean over the N morphs computed one morph at a time.
TEST(Consistency, DeterministicBatchIndependentAndAMean) {
  Detector det(tiny_model(), small_options(5));
  torch::manual_seed(9);
  auto val = torch::rand({12, 1, 32, 32});
  det.fit_normal_range(val);
  auto x = torch::rand({3, 1, 32, 32});
  ConsistencyTable a = det.structure_consistency(x), b = det.structure_consistency(x);
  ConsistencyTable single = det.structure_consistency(x.slice(0, 2, 3));
  for (int m = 0; m < kNumMetrics; ++m)
    for (size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(a.at(1, Metric(m), k), b.at(1, Metric(m), k));
      EXPECT_NEAR(a.at(2, Metric(m), k), single.at(0, Metric(m), k), 1e-5 * (1 + std::abs(single.at(0, Metric(m), k))));
    }
  // Straightforward path: decode each morph alone and average.
  torch::NoGradGuard ng;
  auto mu = det.encode(x.slice(0, 0, 1));
  const int code = 2;
  auto vals = det.morph_values(code, mu[0][code].item<float>());
  double mse_sum = 0, ssim_sum = 0;
  model::DetectorVae net = tiny_model();
  for (float v : vals) {
    auto z = mu.clone();
    z[0][code] = v;
    auto morph = net->decode(z);
    mse_sum += mse(x.slice(0, 0, 1), morph).item<double>();
    ssim_sum += ssim(x.slice(0, 0, 1), morph).item<double>();
  }
  EXPECT_NEAR(a.at(0, Metric::kMse, code), mse_sum / vals.size(), 1e-6);
  EXPECT_NEAR(a.at(0, Metric::kSsim, code), ssim_sum / vals.size(), 1e-6);
}

// Calibration keeps sorted VAL values per code and metric; code selection keeps k codes.
TEST(Calibrate, KeepsDistributionsAndSelectsCodes) {
  DetectorOptions o = small_options(3);
  o.top_k = 2;
  o.code_selection = CodeSelection::kSpread;
  Detector det(tiny_model(), o);
  torch::manual_seed(2);
  Calibration c = det.calibrate(torch::rand({10, 1, 32, 32}), 0.4);
  ASSERT_EQ(c.codes.size(), 2u);
  EXPECT_EQ(c.n_val, 10);
  for (int m = 0; m < kNumMetrics; ++m) {
    ASSERT_EQ(c.distributions[m].size(), 2u);
    EXPECT_EQ(c.distributions[m][0].sorted.size(), 10u);
    EXPECT_TRUE(std::is_sorted(c.distributions[m][0].sorted.begin(), c.distributions[m][0].sorted.end()));
  }
  const auto& r = det.normal_range();
  std::vector<double> spread;
  for (size_t j = 0; j < r.low.size(); ++j) spread.push_back(r.high[j] - r.low[j]);
  for (size_t j = 0; j < spread.size(); ++j) {
    if (std::find(c.codes.begin(), c.codes.end(), int(j)) != c.codes.end()) continue;
    for (int s : c.codes) {
      EXPECT_GE(spread[size_t(s)], spread[j]);
    }
  }
  Calibration back = Calibration::from_json(c.to_json());
  EXPECT_EQ(back.codes, c.codes);
  EXPECT_EQ(back.distributions[2][1].sorted, c.distributions[2][1].sorted);
}

// Detector options read from a model file are bounded before they size the morph search:
// a file with a valid checksum can carry any number (morphs 1e12 used to wrap to a negative int).
TEST(DetectorOptions, RefusesAbsurdValuesFromAFile) {
  const nlohmann::json good = small_options().to_json();
  EXPECT_NO_THROW(DetectorOptions::from_json(good));
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"morphs", 1e12}, {"morphs", 2000000000}, {"morphs", 0}, {"max_rounds", 2147483648.0},
           {"radius_step", 1e-12}, {"radius_step", nullptr}, {"duplicate_tolerance", -0.5},
           {"code_selection", "largest"}, {"top_k", -1}}) {
    nlohmann::json j = good;
    j[key] = value;
    try {
      DetectorOptions::from_json(j);
      ADD_FAILURE() << "accepted " << key << " = " << value.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

// A calibration read from a file may only name codes the network has (they index its latent
// vector), with a normal range for each of them.
TEST(Pipeline, CalibrationCodesMustExist) {
  model::LoadedModel m{tiny_model(), {}};
  torch::manual_seed(2);
  calibrate_into(m, small_options(4), torch::rand({6, 1, 32, 32}), DecisionRule{});
  EXPECT_NO_THROW(calibrated_from(m, "m.oiad"));
  model::LoadedModel bad = m;
  auto& codes = bad.file.meta["calibration"]["codes"];
  ASSERT_FALSE(codes.empty());
  codes.back() = 99;
  try {
    calibrated_from(bad, "m.oiad");
    ADD_FAILURE() << "accepted code 99";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.oiad"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("code 99 outside"), std::string::npos) << e.what();
  }
  model::LoadedModel short_range = m;
  short_range.file.meta["calibration"]["normal_range"]["low"] = {0.0};
  EXPECT_THROW(calibrated_from(short_range, "m.oiad"), Error);
}

// Images of another size or channel count are refused unless resizing is asked for.
TEST(Preprocess, ModelInputChecksShape) {
  model::LoadedModel m{tiny_model(), {}};
  m.file.meta["preprocessing"] = {{"image_height", 28}, {"image_width", 28}};
  std::vector<uint8_t> px(3 * 30 * 30, 100);
  EXPECT_THROW(model::model_input(m, px.data(), 1, 3, 30, 30, false, "x.png"), Error);
  EXPECT_THROW(model::model_input(m, px.data(), 1, 1, 30, 30, false, "x.png"), Error);
  auto x = model::model_input(m, px.data(), 1, 3, 30, 30, true, "x.png");
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{1, 1, 32, 32}));
  EXPECT_NEAR(x[0][0][16][16].item<float>(), 100.0f / 255.0f, 1e-6);
}

}  // namespace
}  // namespace oiad::detect

namespace oiad::detect {
namespace {

// FastDecoder (transposed convolutions as per-phase products) gives LibTorch's decoder
// output to float rounding, for grey and colour models at both input sizes, with every
// kernel set this CPU runs (AVX-512, AVX2, baseline). 7 images: not a multiple of any
// register tile, so the tail tiles run too.
TEST(FastDecoder, EqualsTheModuleDecoder) {
  std::vector<kernels::Isa> isas;
  for (auto isa : {kernels::Isa::avx512, kernels::Isa::avx2, kernels::Isa::baseline})
    if (kernels::cpu_runs(isa)) isas.push_back(isa);
  ASSERT_FALSE(isas.empty());
  for (auto isa : isas)
  for (auto [channels, size] : std::vector<std::pair<int, int>>{{1, 32}, {3, 32}, {1, 64}}) {
    torch::manual_seed(4);
    model::ModelConfig c = model::ModelConfig::defaults(model::ModelKind::kDetectorVae, channels, size);
    model::DetectorVae net(c);
    net->eval();
    {
      // Non-zero biases everywhere, so that the bias path is checked too.
      torch::NoGradGuard ng;
      for (auto& p : net->decoder->parameters()) p.add_(torch::randn_like(p) * 0.05);
    }
    FastDecoder fast(net->decoder, isa);
    auto z = torch::randn({7, c.latent_dim}) * 2;
    torch::NoGradGuard ng;
    auto ref = net->decoder->forward(z);
    auto got = fast.forward(z);
    ASSERT_EQ(got.sizes(), ref.sizes());
    const double scale = 1 + ref.abs().max().item<double>();
    EXPECT_LT((got - ref).abs().max().item<double>(), 1e-5 * scale)
        << channels << "x" << size << " " << kernels::isa_name(isa);
  }
}

// The scores of the optimised path equal the straightforward path (LibTorch's decoder).
TEST(FastDecoder, SameConsistencyAsReferencePath) {
  TwoPaths p = fast_and_reference(6, 12, 10);
  Detector &fast = p.fast, &ref = p.ref;
  auto x = torch::rand({5, 1, 32, 32});
  ConsistencyTable a = fast.structure_consistency(x), b = ref.structure_consistency(x);
  for (size_t i = 0; i < 5; ++i)
    for (int m = 0; m < kNumMetrics; ++m)
      for (size_t k = 0; k < 4; ++k)
        EXPECT_NEAR(a.at(i, Metric(m), k), b.at(i, Metric(m), k), 1e-5 * (1 + std::abs(b.at(i, Metric(m), k))));
}

}  // namespace
}  // namespace oiad::detect

namespace oiad::detect {
namespace {

// The plain-loop SSIM of the hot path equals the tensor implementation (itself checked
// against scikit-image and brute force), for grey and colour pairs, with shared x images.
TEST(SsimDirect, EqualsTensorSsim) {
  for (auto [c, s] : std::vector<std::pair<int, int>>{{1, 32}, {3, 32}, {1, 64}, {1, 11}}) {
    torch::manual_seed(c * 100 + s);
    auto x = torch::rand({3, c, s, s});
    auto y = torch::rand({5, c, s, s}) * 0.5 + x.index_select(0, torch::tensor({0, 0, 1, 2, 2})) * 0.5;
    std::vector<int64_t> x_of = {0, 0, 1, 2, 2};
    std::vector<double> got(5);
    ssim_direct(x.data_ptr<float>(), x_of.data(), y.data_ptr<float>(), 5, c, s, s, got.data());
    auto want = ssim(x.index_select(0, torch::tensor(x_of)), y);
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(got[size_t(i)], want[i].item<double>(), 1e-9) << c << "x" << s << " " << i;
  }
}

}  // namespace
}  // namespace oiad::detect

namespace oiad::detect {
namespace {

// The dissimilarity maps of the hot path are 1 - the tensor SSIM map, window by window.
TEST(SsimDirect, MapsEqualOneMinusTensorMaps) {
  for (int c : {1, 3}) {
    torch::manual_seed(40 + c);
    auto x = torch::rand({2, c, 32, 32});
    auto y = torch::rand({3, c, 32, 32}) * 0.3 + x.index_select(0, torch::tensor({0, 1, 1})) * 0.7;
    std::vector<int64_t> x_of = {0, 1, 1};
    std::vector<double> mean(3);
    std::vector<float> maps(3 * 22 * 22);
    ssim_direct(x.data_ptr<float>(), x_of.data(), y.data_ptr<float>(), 3, c, 32, 32, mean.data(), maps.data());
    auto want = 1.0 - ssim_map(x.index_select(0, torch::tensor(x_of)), y);
    ASSERT_EQ(want.sizes(), (std::vector<int64_t>{3, 22, 22}));
    for (int i = 0; i < 3; ++i)
      for (int r = 0; r < 22; r += 3)
        for (int q = 0; q < 22; q += 4)
          EXPECT_NEAR(maps[size_t((i * 22 + r) * 22 + q)], want[i][r][q].item<double>(), 1e-6);
  }
}

// The local metric of a map, and the standard, by brute force: sort the standardised values,
// average the largest 3% (3 of 100 cells) without smoothing; per-window mean and population sd
// over images.
TEST(LocalMetric, ValueAndStandardByBruteForce) {
  Rng rng(4);
  const size_t cells = 100;
  std::vector<float> map(cells), mean(cells), sd(cells);
  for (size_t i = 0; i < cells; ++i)
    map[i] = float(rng.uniform01()), mean[i] = float(rng.uniform(0, 0.5)), sd[i] = float(rng.uniform(0, 0.2));
  std::vector<double> z;
  for (size_t i = 0; i < cells; ++i) z.push_back((double(map[i]) - mean[i]) / (double(sd[i]) + 1e-3));
  std::sort(z.rbegin(), z.rend());
  EXPECT_NEAR(local_value(map.data(), mean.data(), sd.data(), 10, 1, 0.03), (z[0] + z[1] + z[2]) / 3, 1e-12);
  // One cell: the top share is that cell, smoothed or not.
  for (int smooth : {1, 3})
    EXPECT_NEAR(local_value(map.data(), mean.data(), sd.data(), 1, smooth, 0.01),
                (double(map[0]) - mean[0]) / (double(sd[0]) + 1e-3), 1e-12);

  // 3 images x 2 codes x 4 windows (side 2).
  std::vector<float> maps(3 * 2 * 4);
  for (auto& v : maps) v = float(rng.uniform01());
  const LocalStandard s = fit_local_standard(maps, 3, 2, 2);
  ASSERT_EQ(s.mean.size(), 2u);
  for (size_t c = 0; c < 2; ++c)
    for (size_t j = 0; j < 4; ++j) {
      const double a = maps[(0 * 2 + c) * 4 + j], b = maps[(1 * 2 + c) * 4 + j], d = maps[(2 * 2 + c) * 4 + j];
      const double mu = (a + b + d) / 3;
      EXPECT_NEAR(s.mean[c][j], mu, 1e-6);
      EXPECT_NEAR(s.sd[c][j], std::sqrt(((a - mu) * (a - mu) + (b - mu) * (b - mu) + (d - mu) * (d - mu)) / 3), 1e-6);
    }
  EXPECT_THROW(fit_local_standard(maps, 3, 2, 3), Error);
}

// The smoothed form, by brute force on a 9 x 9 map: each window replaced by the mean of the
// windows of its box that lie inside the map (a corner's 3 x 3 box holds 4 of them), then the
// largest share averaged; a constant map stays constant; a single hot window spreads over its
// box, so that with smoothing 3 it counts 1/9 at each of 9 windows (1/4 in a corner).
TEST(LocalMetric, SmoothedFormByBruteForce) {
  Rng rng(9);
  const int side = 9;
  const size_t cells = size_t(side) * side;
  std::vector<float> map(cells), mean(cells), sd(cells);
  for (size_t i = 0; i < cells; ++i)
    map[i] = float(rng.uniform01()), mean[i] = float(rng.uniform(0, 0.5)), sd[i] = float(rng.uniform(0, 0.2));
  std::vector<double> z(cells);
  for (size_t i = 0; i < cells; ++i) z[i] = (double(map[i]) - mean[i]) / (double(sd[i]) + 1e-3);
  for (int smooth : {1, 3, 5})
    for (double top : {0.01, 0.05, 0.3, 1.0}) {
      std::vector<double> box;
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) {
          double sum = 0;
          int count = 0;
          for (int dy = -smooth / 2; dy <= smooth / 2; ++dy)
            for (int dx = -smooth / 2; dx <= smooth / 2; ++dx)
              if (y + dy >= 0 && y + dy < side && x + dx >= 0 && x + dx < side) sum += z[size_t((y + dy) * side + x + dx)], ++count;
          box.push_back(sum / count);
        }
      std::sort(box.rbegin(), box.rend());
      const size_t n = std::max<size_t>(1, size_t(std::llround(top * double(cells))));  // 1, 4, 24, 81
      double want = 0;
      for (size_t i = 0; i < n; ++i) want += box[i];
      EXPECT_NEAR(local_value(map.data(), mean.data(), sd.data(), side, smooth, top), want / double(n), 1e-12)
          << "smooth " << smooth << " top " << top;
    }
  std::vector<float> zero(cells, 0.0f), one(cells, 1.0f);
  std::vector<float> hot(cells, 0.0f);
  hot[size_t(4 * side + 4)] = 1.0f;  // z = 1 / (1 + 1e-3) at the centre, 0 elsewhere
  const double z1 = 1.0 / (1.0 + 1e-3);
  EXPECT_NEAR(local_value(hot.data(), zero.data(), one.data(), side, 1, 0.01), z1, 1e-12);
  EXPECT_NEAR(local_value(hot.data(), zero.data(), one.data(), side, 3, 0.01), z1 / 9, 1e-12);
  EXPECT_NEAR(local_value(hot.data(), zero.data(), one.data(), side, 3, 9.0 / 81), z1 / 9, 1e-12);
  EXPECT_NEAR(local_value(hot.data(), zero.data(), one.data(), side, 3, 10.0 / 81), z1 * 9 / 90, 1e-12);
  std::fill(hot.begin(), hot.end(), 0.0f);
  hot[0] = 1.0f;  // a corner: its box holds 4 windows
  EXPECT_NEAR(local_value(hot.data(), zero.data(), one.data(), side, 3, 0.01), z1 / 4, 1e-12);
  EXPECT_NEAR(local_value(one.data(), zero.data(), one.data(), side, 3, 0.3), z1, 1e-12);
}

// The local map of (image, code) is the window-wise minimum, over the code's morphs, of
// 1 - SSIM map between the image and the morph: recomputed by decoding each morph alone;
// the fast and the reference paths agree; after calibration the local metric of a VAL image
// is local_value of its map under the fitted standard, and it survives the model file's JSON.
TEST(LocalMetric, MinimumOverMorphsOnBothPathsAndCalibration) {
  TwoPaths p = fast_and_reference(5, 21, 8);
  Detector &fast = p.fast, &ref = p.ref;
  const torch::Tensor val = p.val;
  const DetectorOptions fast_opt = fast.options();
  auto x = torch::rand({2, 1, 32, 32});
  std::vector<float> a, b;
  fast.structure_consistency(x, &a);
  ref.structure_consistency(x, &b);
  const size_t cells = 22 * 22, k = 4;
  ASSERT_EQ(a.size(), 2 * k * cells);
  ASSERT_EQ(b.size(), a.size());
  for (size_t j = 0; j < a.size(); j += 7) EXPECT_NEAR(a[j], b[j], 1e-5);
  torch::NoGradGuard ng;
  model::DetectorVae net = tiny_model();
  auto mu = fast.encode(x);
  for (int64_t i = 0; i < 2; ++i)
    for (int code : {1, 3}) {
      auto vals = fast.morph_values(code, mu[i][code].item<float>());
      torch::Tensor best;
      for (float v : vals) {
        auto z = mu.slice(0, i, i + 1).clone();
        z[0][code] = v;
        auto d = 1.0 - ssim_map(x.slice(0, i, i + 1), net->decode(z));
        best = best.defined() ? torch::minimum(best, d) : d;
      }
      for (size_t j = 0; j < cells; j += 5)
        EXPECT_NEAR(a[(size_t(i) * k + size_t(code)) * cells + j], best.flatten()[int64_t(j)].item<double>(), 1e-5);
    }

  ConsistencyTable vc;
  Calibration cal = fast.calibrate(val, 0.4, &vc);
  const LocalStandard& st = fast.local_standard();
  ASSERT_EQ(st.mean.size(), cal.codes.size());
  EXPECT_EQ(st.smooth, kLocalSmooth);  // a new calibration has today's form
  EXPECT_EQ(st.top_fraction, kLocalTopFraction);
  std::vector<float> vm;
  ConsistencyTable again = fast.structure_consistency(val, &vm);
  for (size_t i = 0; i < 8; ++i)
    for (size_t c = 0; c < cal.codes.size(); ++c) {
      const double want = local_value(vm.data() + (i * cal.codes.size() + c) * cells, st.mean[c].data(), st.sd[c].data(),
                                      22, kLocalSmooth, kLocalTopFraction);
      EXPECT_NEAR(again.at(i, Metric::kLocal, c), want, 1e-9);
      EXPECT_NEAR(vc.at(i, Metric::kLocal, c), want, 1e-9);
    }
  // Saved and read back as a model file's calibration.
  model::LoadedModel m;
  m.net = tiny_model();
  calibrate_into(m, fast_opt, val, DecisionRule{}, nullptr);
  const CalibratedDetector back = calibrated_from(m, "tiny");
  const ConsistencyTable t = back.detector->structure_consistency(x);
  const ConsistencyTable u = fast.structure_consistency(x);
  for (size_t i = 0; i < 2; ++i)
    for (size_t c = 0; c < cal.codes.size(); ++c) EXPECT_NEAR(t.at(i, Metric::kLocal, c), u.at(i, Metric::kLocal, c), 1e-5);
  // Change maps: (N, S, S), per window the mean over the codes of the standardised map,
  // smoothed by the standard's 3 x 3 box (the windows of the box inside the map), placed at
  // the windows' centres; by brute force at a corner, an edge and an inner window.
  auto maps = fast.change_maps(x);
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{2, 32, 32}));
  auto zbar = [&](int y, int xw) {
    double sum = 0;
    for (size_t c = 0; c < cal.codes.size(); ++c) {
      const size_t j = size_t(y) * 22 + size_t(xw);
      sum += (double(a[(1 * k + size_t(cal.codes[c])) * cells + j]) - st.mean[c][j]) / (double(st.sd[c][j]) + kLocalSdFloor);
    }
    return sum / double(cal.codes.size());
  };
  for (auto [y, xw] : std::vector<std::pair<int, int>>{{0, 0}, {0, 9}, {10, 7}, {21, 21}}) {
    double sum = 0;
    int count = 0;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if (y + dy >= 0 && y + dy < 22 && xw + dx >= 0 && xw + dx < 22) sum += zbar(y + dy, xw + dx), ++count;
    EXPECT_NEAR(maps[1][y + 5][xw + 5].item<double>(), sum / count, 1e-4) << y << "," << xw;
  }
  EXPECT_EQ(maps[1][0][0].item<float>(), maps[1][5][5].item<float>());
  // A standard of the earlier form (smooth 1) draws the unsmoothed map.
  {
    Detector plain = fast;
    LocalStandard one = st;
    one.smooth = 1;
    plain.set_local_standard(one);
    EXPECT_NEAR(plain.change_maps(x)[1][15][12].item<double>(), zbar(10, 7), 1e-4);
  }
  // Scoring returns the same maps from its own pass, block after block.
  torch::Tensor scored_maps;
  score_images(back, x, Metric::kLocal, 0.4, 1, {}, Rule::kPaper, &scored_maps);
  EXPECT_TRUE(torch::allclose(scored_maps, back.detector->change_maps(x), 1e-5, 1e-5));
}

}  // namespace
}  // namespace oiad::detect

namespace oiad::detect {
namespace {

// A model file's local standard is checked before it is used: sizes against the codes and
// the side, values within float range, sd not negative; it comes with the local metric's
// VAL distributions or not at all.
TEST(LocalStandardJson, RefusesInconsistentFiles) {
  LocalStandard s;
  s.side = 2;
  s.mean = {{0.1f, 0.2f, 0.3f, 0.4f}};
  s.sd = {{0.0f, 0.1f, 0.1f, 0.2f}};
  const nlohmann::json good = s.to_json();
  const LocalStandard back = LocalStandard::from_json(good, 1);
  EXPECT_EQ(back.mean, s.mean);
  EXPECT_EQ(back.sd, s.sd);
  EXPECT_THROW(LocalStandard::from_json(good, 2), Error);  // one code stored, two selected
  auto wrong_side = good;
  wrong_side["side"] = 3;
  EXPECT_THROW(LocalStandard::from_json(wrong_side, 1), Error);
  auto huge = good;
  huge["mean"][0][1] = 1e300;
  EXPECT_THROW(LocalStandard::from_json(huge, 1), Error);
  auto negative = good;
  negative["sd"][0][2] = -0.5;
  EXPECT_THROW(LocalStandard::from_json(negative, 1), Error);
  auto zero_side = good;
  zero_side["side"] = 0;
  EXPECT_THROW(LocalStandard::from_json(zero_side, 1), Error);
  // The form: stored and read back; a standard without it (written before 2026-12-07) has the
  // form it was made with, no smoothing and the largest 3%; bad forms are refused.
  EXPECT_EQ(back.smooth, kLocalSmooth);
  EXPECT_EQ(back.top_fraction, kLocalTopFraction);
  auto before = good;
  before.erase("smooth");
  before.erase("top_fraction");
  const LocalStandard old = LocalStandard::from_json(before, 1);
  EXPECT_EQ(old.smooth, 1);
  EXPECT_EQ(old.top_fraction, 0.03);
  for (const nlohmann::json& smooth : {nlohmann::json(2), nlohmann::json(0), nlohmann::json(17), nlohmann::json("3")}) {
    auto bad = good;
    bad["smooth"] = smooth;
    EXPECT_THROW(LocalStandard::from_json(bad, 1), Error) << smooth;
  }
  for (const nlohmann::json& top : {nlohmann::json(0.0), nlohmann::json(1.5), nlohmann::json(-0.1), nlohmann::json(nullptr)}) {
    auto bad = good;
    bad["top_fraction"] = top;
    EXPECT_THROW(LocalStandard::from_json(bad, 1), Error) << top;
  }
}

}  // namespace
}  // namespace oiad::detect
