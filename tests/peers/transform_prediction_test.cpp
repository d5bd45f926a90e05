// Transformation prediction (peers/transform_prediction.h): GEOM's transformation set and
// its pixel maps against transformations written out pixel by pixel, the Dirichlet fit
// against the likelihood equations and a known distribution, the network's shape, and a
// fitted model that tells an oriented shape from a symmetric one and survives a save and a
// load.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "oiad/core/error.h"
#include "oiad/eval/roc.h"
#include "oiad/peers/transform_prediction.h"
#include "test_util.h"

namespace oiad::peers {
namespace {

using Image = std::vector<std::vector<float>>;

// One transformation written out: flip columns; shift with the line extended as
// reverse(line) + line + reverse(line) (scipy's "reflect"); rotate counter-clockwise k times
// with out[r][c] = in[c][S−1−r] (numpy.rot90).
Image by_hand(const Image& in, const GeometricTransform& t) {
  const int s = int(in.size());
  Image a = in;
  if (t.flip)
    for (int r = 0; r < s; ++r)
      for (int c = 0; c < s; ++c) a[r][c] = in[r][s - 1 - c];
  auto ext = [s](int j) {  // index into reverse + line + reverse, mapped back to the line
    std::vector<int> e;
    for (int i = s - 1; i >= 0; --i) e.push_back(i);
    for (int i = 0; i < s; ++i) e.push_back(i);
    for (int i = s - 1; i >= 0; --i) e.push_back(i);
    return e[size_t(j + s)];
  };
  Image b = a;
  for (int r = 0; r < s; ++r)
    for (int c = 0; c < s; ++c) b[r][c] = a[ext(r - t.ty)][ext(c - t.tx)];
  for (int k = 0; k < t.rot90; ++k) {
    Image rot = b;
    for (int r = 0; r < s; ++r)
      for (int c = 0; c < s; ++c) rot[r][c] = b[c][s - 1 - r];
    b = rot;
  }
  return b;
}

// GEOM's set has 2 · 9 · 4 = 72 transformations, the identity first, no two alike; each
// factor can be left out. Every pixel map agrees with the transformation done by hand, on
// each channel.
TEST(TransformPrediction, SetAndPixelMapsAsWrittenOut) {
  EXPECT_EQ(geometric_transforms({}, 32).size(), 72u);
  EXPECT_EQ(geometric_transforms({true, false, true}, 32).size(), 8u);
  EXPECT_EQ(geometric_transforms({false, true, true}, 32).size(), 36u);
  EXPECT_EQ(geometric_transforms({false, false, true}, 32).size(), 4u);
  EXPECT_THROW(geometric_transforms({}, 30), Error);

  const int s = 12;
  const auto ts = geometric_transforms({}, s);
  int shifts = 0;
  for (const auto& t : ts) shifts += (std::abs(t.tx) == 3 || std::abs(t.ty) == 3);
  EXPECT_EQ(shifts, 2 * 8 * 4);  // S/4 = 3 pixels, 8 of the 9 translations move
  const auto maps = transform_pixel_maps(ts, s);
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{72, s * s}));
  EXPECT_TRUE(maps[0].equal(torch::arange(s * s, torch::kLong)));
  for (int64_t i = 0; i < 72; ++i)
    for (int64_t j = 0; j < i; ++j) EXPECT_FALSE(maps[i].equal(maps[j])) << i << " " << j;

  torch::manual_seed(3);
  const auto x = torch::rand({2, 3, s, s});
  for (size_t t = 0; t < ts.size(); ++t) {
    const auto y = apply_transform(maps, int64_t(t), x);
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 3; ++c) {
        Image in(s, std::vector<float>(s));
        for (int r = 0; r < s; ++r)
          for (int q = 0; q < s; ++q) in[r][q] = x[n][c][r][q].item<float>();
        const Image want = by_hand(in, ts[t]);
        for (int r = 0; r < s; ++r)
          for (int q = 0; q < s; ++q) ASSERT_EQ(y[n][c][r][q].item<float>(), want[r][q]) << t << " " << r << " " << q;
      }
  }
}

// Dirichlet(0.5, 2, 5) samples made from gamma variates (std::gamma_distribution): the fit
// satisfies the likelihood equations ψ(α_k) − ψ(Σα) = mean log p_k to 1e-6 and lands
// within 5% of the true parameters (20,000 samples).
TEST(TransformPrediction, DirichletFitSolvesTheLikelihoodEquations) {
  const std::vector<double> truth = {0.5, 2.0, 5.0};
  std::mt19937_64 rng(11);
  const int64_t n = 20000;
  auto lp = torch::empty({n, 3}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    double g[3], sum = 0;
    for (int k = 0; k < 3; ++k) sum += g[k] = std::gamma_distribution<double>(truth[size_t(k)], 1.0)(rng);
    for (int k = 0; k < 3; ++k) lp[i][k] = std::log(g[k] / sum);
  }
  const auto alpha = dirichlet_mle(lp);
  ASSERT_EQ(alpha.numel(), 3);
  const auto mean_lp = lp.mean(0);
  const double psi_sum = torch::digamma(alpha.sum()).item<double>();
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(torch::digamma(alpha[k]).item<double>() - psi_sum, mean_lp[k].item<double>(), 1e-6) << k;
    EXPECT_NEAR(alpha[k].item<double>(), truth[size_t(k)], 0.05 * truth[size_t(k)]) << k;
  }
  EXPECT_THROW(dirichlet_mle(torch::zeros({1, 3})), Error);
}

// WRN-d-k as Zagoruyko & Komodakis list it: WRN-10-1 has one block per group; its
// parameters are the stem 16·C·9, the blocks' 3x3 convolutions, one 1x1 shortcut in each
// of the second and third groups (16 -> 16 needs none), batch norm scale and shift, and the
// dense layer.
TEST(TransformPrediction, WideResNetShape) {
  WideResNet net(3, 8, 10, 1);
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  const int64_t convs = 16 * 3 * 9 + (16 * 16 * 9 + 16 * 16 * 9) + (16 * 32 * 9 + 32 * 32 * 9 + 16 * 32) +
                        (32 * 64 * 9 + 64 * 64 * 9 + 32 * 64);
  const int64_t norms = 2 * (16 + 16 + 16 + 32 + 32 + 64 + 64);
  EXPECT_EQ(n, convs + norms + 64 * 8 + 8);
  torch::NoGradGuard ng;
  net->eval();
  EXPECT_EQ(net->forward(torch::rand({5, 3, 16, 16})).sizes(), (std::vector<int64_t>{5, 8}));
  EXPECT_THROW(WideResNet(3, 8, 12, 1), Error);
}

// Normal: an "L" (a vertical stroke and a horizontal one about half as long) of varying size
// and place, which looks different under each rotation and flip; anomalous: a plus sign, which looks the same under
// all eight. (N, 1, 16, 16).
torch::Tensor shapes(int64_t n, bool plus, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pos(2, 5), len(6, 9);
  auto out = torch::zeros({n, 1, 16, 16});
  for (int64_t i = 0; i < n; ++i) {
    const int r = pos(rng), c = pos(rng), l = len(rng);
    if (plus) {
      out[i][0].slice(0, r + l / 2, r + l / 2 + 2).slice(1, c, c + l) = 1;
      out[i][0].slice(0, r, r + l).slice(1, c + l / 2, c + l / 2 + 2) = 1;
    } else {
      out[i][0].slice(0, r, r + l).slice(1, c, c + 2) = 1;
      out[i][0].slice(0, r + l - 2, r + l).slice(1, c, c + l / 2 + 1) = 1;
    }
  }
  return out;
}

// One model, trained once: both scores separate the L from the plus (the log-probability
// score taken from log_probabilities by hand), one image scores as in a batch, and a save
// and a load give the same scores; a model of other settings refuses the file.
TEST(TransformPrediction, FitsSeparatesAndRoundTrips) {
  TransformPredictionOptions o;
  o.transforms = {true, false, true};  // 8: flips and rotations
  o.depth = 10;
  o.widen = 1;
  o.passes = 24;  // 3 epochs
  o.batch_size = 64;
  o.seed = 5;
  const auto train = shapes(160, false, 1);
  const auto normal = shapes(30, false, 2), anomalous = shapes(30, true, 3), test = torch::cat({normal, anomalous});
  std::vector<uint8_t> labels(60, 0);
  std::fill(labels.begin() + 30, labels.end(), 1);
  TransformPrediction m(1, 16, o);
  const auto h = m.fit(train);
  ASSERT_EQ(h.loss.size(), 3u);
  EXPECT_LT(h.loss.back(), h.loss.front());
  EXPECT_GT(h.accuracy.back(), 0.9);  // the L's orientation is learnt
  EXPECT_EQ(m.alpha().sizes(), (std::vector<int64_t>{8, 8}));
  const auto s = m.score(test);
  ASSERT_EQ(s.size(0), 60);
  std::vector<double> dirichlet(s.data_ptr<double>(), s.data_ptr<double>() + 60);
  EXPECT_GT(eval::roc_auc(dirichlet, labels), 0.9);
  const auto lp = m.log_probabilities(test);  // (60, 8, 8)
  ASSERT_EQ(lp.sizes(), (std::vector<int64_t>{60, 8, 8}));
  std::vector<double> logprob(60, 0.0);
  for (int64_t i = 0; i < 60; ++i)
    for (int64_t t = 0; t < 8; ++t) logprob[size_t(i)] -= lp[i][t][t].item<double>();
  EXPECT_GT(eval::roc_auc(logprob, labels), 0.9);
  EXPECT_NEAR(m.score(test.slice(0, 41, 42))[0].item<double>(), s[41].item<double>(), 1e-4 * (1 + std::abs(s[41].item<double>())));

  // Features: 64 per unit of width; transformation 1 of this set (no flip, one quarter turn
  // counter-clockwise) gives the features of the image rotated by torch::rot90; one image
  // alone gets its row of a batch.
  const auto f1 = m.features(test, 1);
  ASSERT_EQ(f1.sizes(), (std::vector<int64_t>{60, 64}));
  EXPECT_TRUE(torch::allclose(f1, m.features(torch::rot90(test, 1, {2, 3}), 0), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(f1, m.features(test, 0), 1e-3, 1e-3));
  EXPECT_TRUE(torch::allclose(m.features(test.slice(0, 41, 42), 1)[0], f1[41], 1e-5, 1e-5));
  EXPECT_GE(f1.min().item<float>(), 0.0f);  // a mean of ReLU outputs
  EXPECT_THROW(m.features(test, 8), Error);

  test::TempDir d;
  m.save(d.file("m.pt"));
  TransformPrediction back(1, 16, o);
  back.load(d.file("m.pt"));
  EXPECT_TRUE(torch::allclose(back.score(test), s, 1e-6, 1e-6));
  TransformPredictionOptions wider = o, other_score = o;
  wider.widen = 2;
  other_score.score = "logprob";
  EXPECT_THROW(TransformPrediction(1, 16, wider).load(d.file("m.pt")), Error);
  EXPECT_THROW(TransformPrediction(1, 16, other_score).load(d.file("m.pt")), Error);
  EXPECT_THROW(back.load(d.file("missing.pt")), Error);
  EXPECT_THROW(m.fit(torch::zeros({4, 3, 16, 16})), Error);
  TransformPrediction unfitted(1, 16, o);
  EXPECT_THROW(unfitted.score(normal), Error);
}

}  // namespace
}  // namespace oiad::peers
