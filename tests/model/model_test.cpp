#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "oiad/core/error.h"
#include "oiad/data/registry.h"
#include "oiad/data/split.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"
#include "oiad/train/trainer.h"
#include "test_util.h"

namespace oiad::model {
namespace {

ModelConfig small_config(ModelKind kind = ModelKind::kDetectorVae) {
  ModelConfig c = ModelConfig::defaults(kind, 1, 32);
  c.latent_dim = 4;
  c.disc_layers = 2;
  c.disc_units = 64;
  return c;
}

// The closed-form KL to N(0, 1/β) equals the textbook Gaussian KL written independently,
// log(σp/σq) + (σq² + μ²) / (2σp²) - 1/2 with σp² = 1/β, and a Monte Carlo estimate.
TEST(Losses, KlToScaledPriorClosedFormAndMonteCarlo) {
  const std::vector<double> mus = {0.3, -1.2, 0.0, 2.0}, logvars = {-0.5, 0.4, -2.0, 0.0},
                            betas = {1.0, 0.25, 3.0, 1.7};
  auto mu = torch::tensor(std::vector<float>(mus.begin(), mus.end())).view({1, 4});
  auto lv = torch::tensor(std::vector<float>(logvars.begin(), logvars.end())).view({1, 4});
  std::vector<float> lb;
  for (double b : betas) lb.push_back(float(std::log(b)));
  auto kl = kl_per_code(mu, lv, torch::tensor(lb));
  torch::manual_seed(3);
  for (int j = 0; j < 4; ++j) {
    const double sq = std::exp(0.5 * logvars[j]), sp = 1.0 / std::sqrt(betas[j]);
    const double expected = std::log(sp / sq) + (sq * sq + mus[j] * mus[j]) / (2 * sp * sp) - 0.5;
    EXPECT_NEAR(kl[0][j].item<double>(), expected, 1e-5) << "code " << j;
    // Monte Carlo: E_q[log q(z) - log p(z)] over 400k samples.
    auto z = torch::randn({400000}, torch::kDouble) * sq + mus[j];
    auto log_q = -0.5 * ((z - mus[j]) / sq).pow(2) - std::log(sq);
    auto log_p = -0.5 * (z / sp).pow(2) - std::log(sp);
    const double mc = (log_q - log_p).mean().item<double>();
    EXPECT_NEAR(kl[0][j].item<double>(), mc, 0.02) << "code " << j;
  }
  EXPECT_NEAR(kl_to_scaled_prior(mu, lv, torch::tensor(lb)).item<double>(), kl.sum().item<double>(), 1e-5);
}

// The precision regulariser is Σ (1/β - 1)², zero at β = 1.
TEST(Losses, PrecisionRegulariser) {
  auto lb = torch::log(torch::tensor({1.0f, 2.0f, 0.5f}));
  EXPECT_NEAR(precision_regulariser(lb).item<double>(), 0.0 + 0.25 + 1.0, 1e-6);
}

double corr(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = a - a.mean(), y = b - b.mean();
  return ((x * y).sum() / (x.pow(2).sum().sqrt() * y.pow(2).sum().sqrt())).item<double>();
}

// permute_dims keeps each column's values (as a multiset) and destroys correlation.
TEST(Losses, PermuteDimsKeepsMarginalsBreaksDependence) {
  torch::manual_seed(1);
  auto a = torch::randn({2000});
  auto z = torch::stack({a, a, -a}, 1);  // perfectly correlated columns
  auto p = permute_dims(z);
  for (int j = 0; j < 3; ++j)
    EXPECT_TRUE(torch::equal(std::get<0>(z.select(1, j).sort()), std::get<0>(p.select(1, j).sort())));
  // Independent permutations: |r| has sd 1/sqrt(2000) = 0.022.
  EXPECT_LT(std::abs(corr(p.select(1, 0), p.select(1, 1))), 0.12);
  EXPECT_LT(std::abs(corr(p.select(1, 0), p.select(1, 2))), 0.12);
}

// Trained alone, the discriminator's TC estimate is clearly positive for correlated codes
// (true TC of a bivariate Gaussian with ρ = 0.95: -½ log(1 - ρ²) = 1.16 nats) and near 0
// for independent ones.
TEST(Losses, DiscriminatorEstimatesTotalCorrelation) {
  auto estimate = [](double rho) {
    torch::manual_seed(5);
    ModelConfig c = small_config();
    c.latent_dim = 2;
    TcDiscriminator d(c);
    torch::optim::Adam opt(d->parameters(), torch::optim::AdamOptions(1e-3).betas({0.5, 0.9}));
    auto sample = [rho](int n) {
      auto a = torch::randn({n}), b = torch::randn({n});
      return torch::stack({a, rho * a + std::sqrt(1 - rho * rho) * b}, 1);
    };
    for (int it = 0; it < 1500; ++it) {
      auto loss = discriminator_loss(d, sample(256), permute_dims(sample(256)));
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
    torch::NoGradGuard ng;
    return tc_estimate(d, sample(20000)).item<double>();
  };
  const double dependent = estimate(0.95), independent = estimate(0.0);
  EXPECT_GT(dependent, 0.6) << "true TC 1.16";
  EXPECT_LT(dependent, 2.0);
  EXPECT_LT(std::abs(independent), 0.15);
}

// The TC estimate is invariant to per-code affine maps, as total correlation is, so the
// encoder cannot lower it by shrinking its codes.
TEST(Losses, TcEstimateIsScaleInvariant) {
  torch::manual_seed(8);
  ModelConfig c = small_config();
  TcDiscriminator d(c);
  auto z = torch::randn({64, 4});
  torch::NoGradGuard ng;
  EXPECT_NEAR(tc_estimate(d, z).item<double>(), tc_estimate(d, z * 0.001 + 3.0).item<double>(), 1e-4);
}

// The decoder gets no gradient from L_KL or L_TC; the discriminator none from the VAE loss.
TEST(Losses, GradientRouting) {
  torch::manual_seed(2);
  DetectorVae m(small_config());
  auto x = torch::rand({8, 1, 32, 32});
  LossTerms t = vae_losses(m, x);
  (t.kl + t.tc).backward();
  for (auto& p : m->decoder->parameters())
    EXPECT_TRUE(!p.grad().defined() || p.grad().abs().max().item<float>() == 0.0f);
  bool encoder_moved = false;
  for (auto& p : m->encoder->parameters()) encoder_moved |= p.grad().defined() && p.grad().abs().max().item<float>() > 0;
  EXPECT_TRUE(encoder_moved);
  m->zero_grad();
  LossTerms u = vae_losses(m, x);
  u.total.backward();
  for (auto& p : m->discriminator->parameters())
    EXPECT_TRUE(!p.grad().defined() || p.grad().abs().max().item<float>() == 0.0f);
  EXPECT_TRUE(m->log_precision.grad().defined());
  for (auto& p : m->discriminator->parameters()) EXPECT_TRUE(p.requires_grad());
}

// Table I: the stack maps 32x32 and 64x64 inputs back to the same shape.
TEST(Networks, ShapesForEveryInputSize) {
  for (int s : {32, 64, 128, 256}) {
    for (int ch : {1, 3}) {
      ModelConfig c = ModelConfig::defaults(ModelKind::kDetectorVae, ch, s);
      DetectorVae m(c);
      auto [mu, lv] = m->encoder->forward(torch::rand({2, ch, s, s}));
      EXPECT_EQ(mu.sizes(), (std::vector<int64_t>{2, c.latent_dim}));
      EXPECT_EQ(m->decoder->forward(mu).sizes(), (std::vector<int64_t>{2, ch, s, s}));
    }
  }
  EXPECT_EQ(ModelConfig::defaults(ModelKind::kDetectorVae, 3, 32).latent_dim, 40);
  EXPECT_EQ(ModelConfig::defaults(ModelKind::kDetectorVae, 3, 32).decoder_dense, 512);
}

// Table I's stack at 32 and 64 (parameter names and shapes as model files store them), and
// one more stride-2 stage of 64 channels per doubling above 64, counted by hand: each extra
// 4x4 convolution and transposed convolution has 64·64·16 weights and 64 biases, and the
// dense layers keep the 4x4 map of the 64-pixel network.
TEST(Networks, OneStagePerDoubling) {
  auto params = [](int side) {
    ModelConfig c = ModelConfig::defaults(ModelKind::kDcae, 1, side);
    DetectorVae m(c);
    std::map<std::string, std::vector<int64_t>> p;
    for (const auto& kv : m->named_parameters()) p[kv.key()] = kv.value().sizes().vec();
    return p;
  };
  const auto p32 = params(32), p64 = params(64), p128 = params(128), p512 = params(512);
  EXPECT_EQ(p32.at("encoder.dense.weight"), (std::vector<int64_t>{128, 64 * 2 * 2}));
  EXPECT_EQ(p64.at("encoder.dense.weight"), (std::vector<int64_t>{128, 64 * 4 * 4}));
  EXPECT_EQ(p128.at("encoder.dense.weight"), (std::vector<int64_t>{128, 64 * 4 * 4}));
  EXPECT_EQ(p64.at("decoder.deconv.6.weight"), (std::vector<int64_t>{32, 1, 4, 4}));
  EXPECT_EQ(p64.at("encoder.features.0.weight"), (std::vector<int64_t>{32, 1, 4, 4}));
  EXPECT_EQ(p64.size(), p32.size());
  // 128: one extra stage each side (2 tensors each); 512: three.
  EXPECT_EQ(p128.size(), p64.size() + 4);
  EXPECT_EQ(p512.size(), p64.size() + 12);
  EXPECT_EQ(p128.at("encoder.features.8.weight"), (std::vector<int64_t>{64, 64, 4, 4}));
  EXPECT_EQ(p128.at("decoder.deconv.0.weight"), (std::vector<int64_t>{64, 64, 4, 4}));
  EXPECT_EQ(p128.at("decoder.deconv.8.weight"), (std::vector<int64_t>{32, 1, 4, 4}));
  auto count = [](const std::map<std::string, std::vector<int64_t>>& p) {
    int64_t n = 0;
    for (const auto& [k, v] : p) {
      int64_t e = 1;
      for (int64_t d : v) e *= d;
      n += e;
    }
    return n;
  };
  EXPECT_EQ(count(p512) - count(p64), 3 * 2 * (64 * 64 * 16 + 64));
  EXPECT_THROW(ModelConfig::defaults(ModelKind::kDcae, 1, 96).validate(), Error);
}

// A model's weights at 32 and 64 are drawn from the seed in the order they always were: the
// decoder built here as the constructor built it before sides above 64 existed (the same
// expressions, after the encoder) gets the same weights under the same seed.
TEST(Networks, SeededWeightsUnchangedAt32And64) {
  namespace nn = torch::nn;
  for (int side : {32, 64}) {
    const ModelConfig c = ModelConfig::defaults(ModelKind::kDcae, 1, side);
    torch::manual_seed(7);
    DetectorVae now(c);
    torch::manual_seed(7);
    ConvEncoder encoder(c);
    const int base = side / 16;
    nn::Sequential dense(nn::Linear(c.latent_dim, c.decoder_dense), nn::ReLU(),
                         nn::Linear(c.decoder_dense, 64 * base * base), nn::ReLU());
    auto up = [](int in, int out) { return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1)); };
    nn::Sequential deconv(up(64, 64), nn::ReLU(), up(64, 32), nn::ReLU(), up(32, 32), nn::ReLU(), up(32, c.channels));
    for (int i : {0, 2, 4, 6}) {
      const auto& a = now->decoder->deconv[size_t(i)]->as<nn::ConvTranspose2d>()->weight;
      const auto& b = deconv[size_t(i)]->as<nn::ConvTranspose2d>()->weight;
      EXPECT_TRUE(torch::equal(a, b)) << side << " layer " << i;
    }
    EXPECT_TRUE(torch::equal(now->encoder->features[0]->as<nn::Conv2d>()->weight,
                             encoder->features[0]->as<nn::Conv2d>()->weight));
  }
}

// 28x28 images are zero-padded by 2 pixels to 32x32; pixel values scale to [0, 1].
TEST(Preprocess, PadAndScale) {
  std::vector<uint8_t> px(28 * 28, 0);
  px[0] = 255;
  px[27 * 28 + 27] = 51;
  auto x = images_to_input(px.data(), 1, 1, 28, 28, 32);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{1, 1, 32, 32}));
  EXPECT_FLOAT_EQ(x[0][0][2][2].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(x[0][0][29][29].item<float>(), 0.2f);
  EXPECT_FLOAT_EQ(x[0][0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(resize_method(28, 28, 64), "bilinear");
  EXPECT_EQ(images_to_input(px.data(), 1, 1, 28, 28, 64).size(3), 64);
}

// A per-pixel map on the network input comes back on the stored image's pixels: the
// padding cut off (pixel (y, x) of a 28x28 image is input pixel (y + 2, x + 2)), a same-size
// map unchanged, a resized map back to the image's size (a constant map stays constant).
TEST(Preprocess, InputMapToImage) {
  std::vector<uint8_t> px(3 * 28 * 28);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 37) % 251);
  auto x = images_to_input(px.data(), 3, 1, 28, 28, 32).squeeze(1);
  auto back = input_map_to_image(x, 28, 28);
  ASSERT_EQ(back.sizes(), (std::vector<int64_t>{3, 28, 28}));
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t y = 0; y < 28; y += 9)
      for (int64_t c = 0; c < 28; c += 5)
        EXPECT_FLOAT_EQ(back[n][y][c].item<float>(), float(px[size_t((n * 28 + y) * 28 + c)]) / 255.0f);
  auto same = torch::rand({2, 32, 32});
  EXPECT_TRUE(torch::equal(input_map_to_image(same, 32, 32), same));
  auto resized = input_map_to_image(torch::full({1, 64, 64}, 0.25f), 28, 28);
  ASSERT_EQ(resized.sizes(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_NEAR(resized.min().item<float>(), 0.25f, 1e-6);
  EXPECT_NEAR(resized.max().item<float>(), 0.25f, 1e-6);
  EXPECT_THROW(input_map_to_image(torch::zeros({2, 32, 30}), 28, 28), Error);
}

// Saving then loading gives bit-identical outputs.
TEST(ModelFileTest, SaveLoadBitIdentical) {
  torch::manual_seed(4);
  DetectorVae m(small_config());
  m->eval();
  test::TempDir d;
  ModelFile f;
  f.meta["note"] = "x";
  save_model(d.file("m.oiad"), m, f);
  LoadedModel lm = load_model(d.file("m.oiad"), "detector");
  EXPECT_EQ(lm.file.meta["note"], "x");
  auto x = torch::rand({3, 1, 32, 32});
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(m->encoder->forward(x).first, lm.net->encoder->forward(x).first));
  auto z = torch::randn({3, 4});
  EXPECT_TRUE(torch::equal(m->decode(z), lm.net->decode(z)));
  EXPECT_TRUE(torch::equal(m->log_precision, lm.net->log_precision));
}

// Corrupt, truncated, wrong-magic, wrong-version and wrong-kind files are refused clearly.
TEST(ModelFileTest, RefusesBadFiles) {
  DetectorVae m(small_config());
  test::TempDir d;
  save_model(d.file("m.oiad"), m, {});
  auto bytes = test::read_text(d.file("m.oiad"));
  auto expect = [&](const std::string& content, const std::string& fragment, const std::string& kind = "") {
    test::write_bytes(d.file("bad"), std::vector<uint8_t>(content.begin(), content.end()));
    try {
      load_model(d.file("bad"), kind);
      ADD_FAILURE() << "accepted: " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(d.file("bad")), std::string::npos) << e.what();
    }
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  expect(flipped, "checksum mismatch");
  expect(bytes.substr(0, bytes.size() - 100), "checksum mismatch");
  expect(bytes.substr(0, 20), "truncated");
  expect("hello world, not a model", "not an oiad model file");
  std::string v2 = bytes;
  v2[8] = 2;
  expect(v2, "format version 2");
  expect(bytes, "expected vae", "vae");
  // A valid checksum over absurd sizes: refused before anything is allocated.
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"disc_layers", 100000000}, {"encoder_dense", 2000000000}, {"latent_dim", 0},
           {"gamma", -1.0}, {"disc_units", 1e12}, {"channels", 2.5}}) {
    ModelFile f = load_model(d.file("m.oiad")).file;
    f.meta["config"][key] = value;
    f.save(d.file("absurd.oiad"));
    const std::string saved = test::read_text(d.file("absurd.oiad"));
    expect(saved, key);
  }
}

// A small model's loss falls on 256 real images (MNIST class 1, or Fashion-MNIST when absent).
TEST(Training, LossFallsOnRealImages) {
  data::Dataset ds;
  try {
    ds = data::load_dataset("mnist");
  } catch (const Error& e) {
    GTEST_SKIP() << "MNIST absent: " << e.what();
  }
  data::OneClassSplit sp = data::make_split(ds, 1, data::Protocol::kPaper, 0, 256);
  auto px = data::gather_pixels(ds, sp.train);
  auto x = images_to_input(px.data(), 256, 1, 28, 28, 32);
  torch::manual_seed(0);
  DetectorVae m(small_config());
  train::TrainOptions o;
  o.epochs = 6;
  o.batch_size = 32;
  o.lr = 1e-3;
  o.verbose = false;
  train::TrainState st;
  train::train_model(m, x, o, st);
  ASSERT_EQ(st.history.size(), 6u);
  EXPECT_LT(st.history.back().recon, 0.7 * st.history.front().recon)
      << "first " << st.history.front().recon << " last " << st.history.back().recon;
  EXPECT_TRUE(std::isfinite(st.history.back().total));
}

// Same seed, same data, same threads: same weights; a resumed run equals an uninterrupted one.
TEST(Training, DeterministicAndResumable) {
  torch::manual_seed(0);
  auto x = torch::rand({64, 1, 32, 32});
  train::TrainOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.seed = 11;
  o.verbose = false;
  auto fresh = [] {
    torch::manual_seed(7);
    return DetectorVae(small_config());
  };
  DetectorVae a = fresh();
  train::TrainState sa;
  train::train_model(a, x, o, sa);
  DetectorVae b = fresh();
  train::TrainState sb;
  train::train_model(b, x, o, sb);
  // Interrupted after epoch 1, resumed from a saved model + optimiser state.
  DetectorVae c = fresh();
  train::TrainState sc;
  train::TrainOptions one = o;
  one.epochs = 1;
  train::train_model(c, x, one, sc);
  LoadedModel lc = model_from_file(ModelFile::from_bytes([&] {
    ModelFile g;
    g.meta["config"] = c->config.to_json();
    g.blobs["weights"] = module_to_blob(*c);
    return g.to_bytes();
  }(), "mem"), "mem");
  train::train_model(lc.net, x, o, sc);
  auto pa = a->parameters(), pb = b->parameters(), pc = lc.net->parameters();
  ASSERT_EQ(pa.size(), pc.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i << " differs between identical runs";
    EXPECT_TRUE(torch::equal(pa[i], pc[i])) << "parameter " << i << " differs after resume";
  }
}

}  // namespace
}  // namespace oiad::model
