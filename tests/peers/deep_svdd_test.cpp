// Deep SVDD (peers/deep_svdd.h): its preprocessing against hand-computed values, the
// networks' shapes and parameter counts against the authors' layer list, the centre rule,
// and a fitted model that separates two kinds of image and survives a save and a load.
#include <gtest/gtest.h>

#include <cmath>

#include "oiad/core/error.h"
#include "oiad/eval/roc.h"
#include "oiad/peers/deep_svdd.h"
#include "test_util.h"

namespace oiad::peers {
namespace {

// GCN-l1 of [0, 2, 4, 6]: mean 3, deviations -3, -1, 1, 3 of mean absolute value 2; an
// image without contrast stays 0.
TEST(DeepSvdd, GlobalContrastByHand) {
  auto x = torch::tensor({0.f, 2.f, 4.f, 6.f, 5.f, 5.f, 5.f, 5.f}).view({2, 1, 2, 2});
  auto g = global_contrast_l1(x).flatten();
  const std::vector<float> want = {-1.5f, -0.5f, 0.5f, 1.5f, 0.f, 0.f, 0.f, 0.f};
  for (int64_t i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(g[i].item<float>(), want[size_t(i)]) << i;
}

// The authors' networks have no bias and batch norm without affine parameters, so the
// parameters are the convolution and dense weights alone: grey 8·1·25 + 4·8·25 + 32·(4·8·8);
// colour 32·3·25 + 64·32·25 + 128·64·25 + 128·(128·4·4). Outputs: (N, 32) and (N, 128); the
// autoencoders give back (N, C, 32, 32) in (0, 1).
TEST(DeepSvdd, NetworksAsPublished) {
  for (const auto& [c, rep, params] : std::vector<std::tuple<int, int64_t, int64_t>>{
           {1, 32, 8 * 1 * 25 + 4 * 8 * 25 + 32 * 4 * 8 * 8},
           {3, 128, 32 * 3 * 25 + 64 * 32 * 25 + 128 * 64 * 25 + 128 * 128 * 4 * 4}}) {
    LeNetEncoder enc(c, 32);
    int64_t n = 0;
    for (const auto& p : enc->parameters()) n += p.numel();
    EXPECT_EQ(n, params) << c;
    for (const auto& item : enc->named_parameters()) EXPECT_EQ(item.key().find("bias"), std::string::npos) << item.key();
    torch::NoGradGuard ng;
    enc->eval();
    EXPECT_EQ(enc->forward(torch::rand({3, c, 32, 32})).sizes(), (std::vector<int64_t>{3, rep}));
    LeNetAutoencoder ae(c, 32);
    ae->eval();
    auto y = ae->forward(torch::rand({3, c, 32, 32}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, c, 32, 32}));
    EXPECT_GT(y.min().item<float>(), 0.f);
    EXPECT_LT(y.max().item<float>(), 1.f);
  }
  EXPECT_THROW(LeNetEncoder(2, 32), Error);
  EXPECT_THROW(LeNetEncoder(1, 64), Error);
}

// Normal: a bright disc at a varying place; anomalous: a vertical bar. Both (N, 1, 32, 32).
torch::Tensor discs(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  auto yy = torch::arange(32).view({32, 1}).to(torch::kFloat), xx = torch::arange(32).view({1, 32}).to(torch::kFloat);
  auto out = torch::zeros({n, 1, 32, 32});
  for (int64_t i = 0; i < n; ++i) {
    const float cy = 12 + 8 * torch::rand({1}).item<float>(), cx = 12 + 8 * torch::rand({1}).item<float>();
    out[i][0] = ((yy - cy).pow(2) + (xx - cx).pow(2) < 36).to(torch::kFloat);
  }
  return out;
}

torch::Tensor bars(int64_t n) {
  auto out = torch::zeros({n, 1, 32, 32});
  for (int64_t i = 0; i < n; ++i) out[i][0].slice(0, 4, 28).slice(1, 8 + i % 12, 12 + i % 12).fill_(0.8f);
  return out;
}

// A short fit: the loss falls, every centre entry lies at least ε from 0, scores are the
// same one image at a time as in a batch (batch norm uses its running statistics), the
// bars score above the discs, and a saved model scores the same after loading.
// A shorter schedule keeps each learning-rate drop at its share of the phase: colour 350
// epochs with the drop after 250 -> 30 epochs, drop after 250 · 30 / 350 = 21.4 -> 21; 150
// with the drop after 50 -> 50 epochs, 16.7 -> 17.
TEST(DeepSvdd, ShorterScheduleScalesTheDrops) {
  const DeepSvddOptions o = DeepSvddOptions::published(3).with_epochs(30, 50);
  EXPECT_EQ(o.ae_epochs, 30);
  EXPECT_EQ(o.ae_lr_milestone, 21);
  EXPECT_EQ(o.epochs, 50);
  EXPECT_EQ(o.lr_milestone, 17);
  EXPECT_EQ(o.ae_weight_decay, DeepSvddOptions::published(3).ae_weight_decay);
  const DeepSvddOptions same = DeepSvddOptions::published(1).with_epochs(150, 150);
  EXPECT_EQ(same.ae_lr_milestone, 50);
  EXPECT_EQ(same.lr_milestone, 50);
}

TEST(DeepSvdd, FitsSeparatesAndRoundTrips) {
  DeepSvddOptions o;
  o.ae_epochs = 3;
  o.epochs = 6;
  o.lr_milestone = 4;
  o.batch_size = 32;
  o.lr = o.ae_lr = 1e-3;
  DeepSvdd m(1, 32, o);
  const auto train = discs(160, 1);
  const DeepSvddHistory h = m.fit(train);
  ASSERT_EQ(h.ae_loss.size(), 3u);
  ASSERT_EQ(h.svdd_loss.size(), 6u);
  EXPECT_LT(h.svdd_loss.back(), h.svdd_loss.front());
  EXPECT_GE(m.center().abs().min().item<float>(), float(o.center_eps) - 1e-7f);

  const auto normal = discs(40, 2), anomalous = bars(40);
  const auto s = m.score(torch::cat({normal, anomalous}));
  ASSERT_EQ(s.size(0), 80);
  for (int64_t i : {0, 41, 79})
    EXPECT_NEAR(m.score(torch::cat({normal, anomalous}).slice(0, i, i + 1))[0].item<double>(), s[i].item<double>(),
                1e-4 * (1 + s[i].item<double>()));
  // φ: 32 units for grey images; the score is its squared distance from the centre.
  const auto rep = m.representation(torch::cat({normal, anomalous}));
  ASSERT_EQ(rep.sizes(), (std::vector<int64_t>{80, 32}));
  for (int64_t i : {0, 79}) {
    double d2 = 0;
    for (int64_t j = 0; j < 32; ++j) d2 += std::pow(double(rep[i][j].item<float>()) - m.center()[j].item<float>(), 2);
    EXPECT_NEAR(d2, s[i].item<double>(), 1e-5 * (1 + d2));
  }
  std::vector<double> sc(s.data_ptr<double>(), s.data_ptr<double>() + 80);
  std::vector<uint8_t> labels(80, 0);
  std::fill(labels.begin() + 40, labels.end(), 1);
  EXPECT_GT(eval::roc_auc(sc, labels), 0.9);

  test::TempDir d;
  m.save(d.file("m.pt"));
  DeepSvdd back(1, 32, o);
  back.load(d.file("m.pt"));
  EXPECT_TRUE(torch::allclose(back.score(normal), m.score(normal), 1e-6, 1e-6));
  DeepSvdd colour(3, 32, o);
  EXPECT_THROW(colour.load(d.file("m.pt")), Error);
  EXPECT_THROW(back.load(d.file("missing.pt")), Error);
}

}  // namespace
}  // namespace oiad::peers
