// The DRAEM-type peer (peers/recseg.h): Perlin noise against its definition evaluated by
// hand from the same random draws, the augmentations with closed forms, the blend of a
// simulated anomaly, the focal loss against its formula, the networks' shapes and depths, and
// a save and load that keeps the scores.
#include <gtest/gtest.h>

#include <cmath>

#include "oiad/core/error.h"
#include "oiad/peers/recseg.h"
#include "test_util.h"

namespace oiad::peers {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Perlin noise is zero at every grid point, and between them it is the fade-weighted blend of
// the four corner gradients' ramps: computed here from the same draws (one angle per grid
// point, row by row) with the formula written out.
TEST(RecSeg, PerlinNoiseFollowsItsDefinition) {
  const int side = 16, ry = 2, rx = 4;
  Rng rng(3);
  const std::vector<float> n = perlin_noise(side, ry, rx, rng);
  Rng again(3);
  std::vector<double> angle((ry + 1) * (rx + 1));
  for (double& a : angle) a = 2 * kPi * again.uniform01();
  auto fade = [](double t) { return 6 * std::pow(t, 5) - 15 * std::pow(t, 4) + 10 * std::pow(t, 3); };
  for (int i = 0; i < side; ++i)
    for (int j = 0; j < side; ++j) {
      const double y = double(i) * ry / side, x = double(j) * rx / side;
      const int gy = int(std::floor(y)), gx = int(std::floor(x));
      const double u = y - gy, v = x - gx;
      auto ramp = [&](int a, int b) {
        const double t = angle[size_t((gy + a) * (rx + 1) + gx + b)];
        return (u - a) * std::cos(t) + (v - b) * std::sin(t);
      };
      const double tu = fade(u), tv = fade(v);
      const double want = std::sqrt(2.0) * ((1 - tv) * ((1 - tu) * ramp(0, 0) + tu * ramp(1, 0)) +
                                            tv * ((1 - tu) * ramp(0, 1) + tu * ramp(1, 1)));
      EXPECT_NEAR(n[size_t(i * side + j)], want, 1e-5) << i << "," << j;
      if (i % (side / ry) == 0 && j % (side / rx) == 0) EXPECT_NEAR(n[size_t(i * side + j)], 0.0, 1e-6);
    }
  Rng bad(1);
  EXPECT_THROW(perlin_noise(16, 3, 2, bad), Error);
}

// Masks are 0/1, the same for the same seed, and over many draws cover some but not most of
// the image (thresholded noise of values in about [-1, 1] at 0.5).
TEST(RecSeg, PerlinMasks) {
  double covered = 0;
  int empty = 0;
  for (uint64_t s = 0; s < 40; ++s) {
    Rng a(s), b(s);
    const auto m = perlin_mask(32, a);
    EXPECT_TRUE(torch::equal(m, perlin_mask(32, b)));
    EXPECT_EQ(((m == 0) | (m == 1)).all().item<bool>(), true);
    covered += m.mean().item<double>();
    empty += m.sum().item<double>() == 0;
  }
  EXPECT_GT(covered / 40, 0.02);
  EXPECT_LT(covered / 40, 0.4);
  EXPECT_LT(empty, 20);
}

// Augmentations with closed forms: invert, posterize (multiples of 2^(8 - bits) levels),
// autocontrast (per channel to [0, 1]), equalize (levels to their cumulative share), and
// every augmentation keeps the shape and [0, 1].
TEST(RecSeg, Augmentations) {
  auto x = torch::rand({3, 16, 16});
  Rng rng(7);
  EXPECT_TRUE(torch::allclose(augment(x, 6, rng), 1 - x));
  const auto p = augment(x, 5, rng) * 255;
  const auto levels = (p.round() - p).abs().max().item<double>();
  EXPECT_LT(levels, 1e-3);
  // Autocontrast: a channel spanning [0.2, 0.6] goes to [0, 1] linearly.
  auto ramp = torch::linspace(0.2, 0.6, 256).view({1, 16, 16});
  EXPECT_TRUE(torch::allclose(augment(ramp, 7, rng), (ramp - 0.2) / 0.4, 1e-5, 1e-5));
  // Equalize: 4 levels of 64 pixels each -> 0, 1/3, 2/3, 1.
  auto four = torch::cat({torch::full({64}, 10.0 / 255), torch::full({64}, 50.0 / 255), torch::full({64}, 90.0 / 255),
                          torch::full({64}, 200.0 / 255)})
                  .view({1, 16, 16});
  const auto eq = augment(four, 8, rng).view({256});
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(eq[k * 64].item<double>(), k / 3.0, 1e-6);
  for (int which = 0; which < kAugmentations; ++which)
    for (int channels : {1, 3}) {
      const auto y = augment(torch::rand({channels, 16, 16}), which, rng);
      EXPECT_EQ(y.sizes(), torch::IntArrayRef({channels, 16, 16})) << which;
      EXPECT_GE(y.min().item<double>(), -1e-6) << which;
      EXPECT_LE(y.max().item<double>(), 1 + 1e-6) << which;
    }
  EXPECT_THROW(augment(x, kAugmentations, rng), Error);
}

// Outside the mask a simulated anomaly leaves the image as it is; inside, each pixel lies
// between the image and the augmented source (a convex blend, β < 0.8). With probability 0
// nothing changes.
TEST(RecSeg, SimulatedAnomalyBlend) {
  RecSegOptions o;
  o.anomaly_probability = 1.0;
  const auto image = torch::full({1, 32, 32}, 0.25);
  int nonempty = 0;
  for (uint64_t s = 0; s < 20; ++s) {
    Rng rng(s);
    const SimulatedSample a = simulate_anomaly(image, torch::rand({1, 32, 32}), o, rng);
    const auto outside = a.mask == 0;
    EXPECT_TRUE(torch::equal(a.image.masked_select(outside), image.masked_select(outside)));
    nonempty += a.mask.sum().item<double>() > 0;
  }
  EXPECT_GT(nonempty, 10);
  o.anomaly_probability = 0.0;
  Rng rng(1);
  const SimulatedSample none = simulate_anomaly(image, torch::rand({1, 32, 32}), o, rng);
  EXPECT_TRUE(torch::equal(none.image, image));
  EXPECT_EQ(none.mask.sum().item<double>(), 0.0);
}

// The focal loss of two pixels, by its formula: −(1 − p_t)² log p_t averaged.
TEST(RecSeg, FocalLoss) {
  const auto p = torch::tensor({0.8f, 0.3f, 0.2f, 0.7f}).view({1, 2, 1, 2});  // pixel 0: (0.8, 0.2), pixel 1: (0.3, 0.7)
  const auto mask = torch::tensor({0.f, 1.f}).view({1, 1, 1, 2});
  const double want = 0.5 * (-(0.2 * 0.2) * std::log(0.8) - (0.3 * 0.3) * std::log(0.7));
  EXPECT_NEAR(focal_loss(p, mask).item<double>(), want, 1e-6);
  const auto wrong = torch::tensor({1.f, 1.f}).view({1, 1, 1, 2});
  const double want2 = 0.5 * (-(0.8 * 0.8) * std::log(0.2) - (0.3 * 0.3) * std::log(0.7));
  EXPECT_NEAR(focal_loss(p, wrong).item<double>(), want2, 1e-6);
}

// Depths as DRAEM's at 256 and fewer poolings below; the networks give images and two-class
// logits of the input's size; widths double per level up to 8x the base.
TEST(RecSeg, NetworkShapes) {
  EXPECT_EQ(reconstructive_depth(32), 3);
  EXPECT_EQ(discriminative_depth(32), 3);
  EXPECT_EQ(reconstructive_depth(64), 4);
  EXPECT_EQ(discriminative_depth(64), 4);
  EXPECT_EQ(reconstructive_depth(256), 4);
  EXPECT_EQ(discriminative_depth(256), 5);
  EXPECT_EQ(level_width(16, 0), 16);
  EXPECT_EQ(level_width(16, 3), 128);
  EXPECT_EQ(level_width(16, 5), 128);
  for (int side : {32, 64}) {
    ReconstructiveNet r(3, 8, reconstructive_depth(side));
    DiscriminativeNet d(3, 4, discriminative_depth(side));
    const auto x = torch::rand({2, 3, side, side});
    EXPECT_EQ(r->forward(x).sizes(), x.sizes());
    EXPECT_EQ(d->forward(torch::cat({x, x}, 1)).sizes(), torch::IntArrayRef({2, 2, side, side}));
  }
}

// A short fit runs, its maps are probabilities, the score is the highest value of the
// mean-filtered map (recomputed here by brute force), and a saved model scores the same after
// loading; a model of other settings is refused.
TEST(RecSeg, FitScoreSaveLoad) {
  test::TempDir d;
  RecSegOptions o;
  o.rec_width = 4;
  o.seg_width = 4;
  o.steps = 4;
  o.batch_size = 2;
  const auto x = torch::rand({6, 1, 16, 16});
  RecSeg m(1, 16, o);
  const auto h = m.fit(x, procedural_sources(1, 16, 3, 0));
  ASSERT_EQ(h.loss.size(), 1u);
  EXPECT_TRUE(std::isfinite(h.loss[0]));
  torch::Tensor maps;
  const auto s = m.score(x, &maps);
  ASSERT_EQ(maps.sizes(), torch::IntArrayRef({6, 16, 16}));
  EXPECT_GE(maps.min().item<double>(), 0.0);
  EXPECT_LE(maps.max().item<double>(), 1.0);
  EXPECT_EQ(m.filter_side(), 3);
  for (int64_t i = 0; i < 6; ++i) {
    double best = -1;
    for (int y = 0; y < 16; ++y)
      for (int xx = 0; xx < 16; ++xx) {
        double sum = 0;  // zeros outside, divided by the full window (count_include_pad)
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx)
            if (y + dy >= 0 && y + dy < 16 && xx + dx >= 0 && xx + dx < 16) sum += maps[i][y + dy][xx + dx].item<double>();
        best = std::max(best, sum / 9);
      }
    EXPECT_NEAR(s[i].item<double>(), best, 1e-5);
  }
  m.save(d.file("m.pt"));
  RecSeg back(1, 16, o);
  back.load(d.file("m.pt"));
  EXPECT_TRUE(torch::allclose(back.score(x), s));
  EXPECT_GT(back.trained_seconds(), 0.0);
  RecSegOptions other = o;
  other.rec_width = 8;
  RecSeg wrong(1, 16, other);
  try {
    wrong.load(d.file("m.pt"));
    ADD_FAILURE() << "a model of other widths was loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(d.file("m.pt") + ": not a recseg model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oiad::peers
