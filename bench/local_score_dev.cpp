// Development of OIAD's local score on TRAINING images only (the test split is never read).
//
// The normal class's training images are shuffled (seed) and cut into dev-train (80%),
// dev-VAL (10%) and dev-test (10%); half of dev-test gets one synthetic defect (families
// cycling), and 100 training images of each other class are the class-novelty anomalies.
// A Detector-VAE and a DCAE are trained on dev-train; the detector is calibrated on dev-VAL
// (default preset); then per-pixel maps are computed for dev-VAL, dev-test and the novelty
// images, and every candidate aggregation is printed with its AUC on defects and on class
// novelty, next to the DCAE's reconstruction error and the whole-image SC one-sided score.
//
//   cmake --build build --target oiad_local_score_dev
//   build/oiad_local_score_dev mnist 3 30 1 > runs/dev/mnist3.txt
//
// Environment: DEV_GAMMA (the Detector-VAE's TC weight; unset: the `default` preset's),
// DEV_KL, DEV_LATENT, DEV_DENSE, DEV_LR (other training variants), DEV_SKIP_DCAE (no DCAE),
// DEV_WIN (SSIM window of the candidate maps, 7). The library's "oiad ... one-sided" lines
// come first; the candidates after them take much longer.
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "oiad/core/random.h"
#include "oiad/data/defects.h"
#include "oiad/data/registry.h"
#include "oiad/detect/detector.h"
#include "oiad/eval/roc.h"
#include "oiad/model/preprocess.h"
#include "oiad/train/trainer.h"

using namespace oiad;

namespace {

torch::Tensor to_input(const std::vector<uint8_t>& px, int64_t n, const data::Dataset& ds) {
  return model::images_to_input(px.data(), n, ds.channels, ds.height, ds.width, 32);
}

std::vector<double> vec(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Per-pixel squared error maps (N, S, S), summed over channels: the reconstruction of the
// mean code, and the minimum and mean over every morph of every selected code.
struct Maps {
  torch::Tensor recon, min, mean, ssim_recon, ssim_min;
  torch::Tensor intensity, gradient;  // of the reconstruction, (N, S, S)
  std::vector<torch::Tensor> ssim_min_code;  // per selected code: min over its morphs
  std::vector<torch::Tensor> err_min_code;   // per selected code: squared error, min over its morphs
};

// Gradient magnitude (Sobel) of maps (N, S, S), zero-padded.
torch::Tensor gradient_magnitude(const torch::Tensor& m) {
  auto kx = torch::tensor({-1.f, 0.f, 1.f, -2.f, 0.f, 2.f, -1.f, 0.f, 1.f}).view({1, 1, 3, 3});
  auto ky = kx.transpose(2, 3).contiguous();
  auto x = m.unsqueeze(1);
  auto gx = torch::conv2d(x, kx, {}, 1, 1), gy = torch::conv2d(x, ky, {}, 1, 1);
  return (gx.pow(2) + gy.pow(2)).sqrt().squeeze(1);
}

// Bin index (N, S, S) of every pixel from its reconstruction's intensity and gradient, by
// the given edges (bins = (edges_i.size() + 1) * (edges_g.size() + 1)).
torch::Tensor bin_of(const Maps& m, const torch::Tensor& ei, const torch::Tensor& eg) {
  auto bi = torch::bucketize(m.intensity, ei), bg = torch::bucketize(m.gradient, eg);
  return bi * (eg.size(0) + 1) + bg;
}

// 1 - SSIM per window (Gaussian window of side `win`, σ = sigma), summed over channels:
// (N, S - win + 1, S - win + 1).
torch::Tensor dissimilarity_map(const torch::Tensor& x, const torch::Tensor& y, int win, double sigma) {
  std::vector<float> g(static_cast<size_t>(win));
  double sum = 0;
  for (int t = 0; t < win; ++t) sum += (g[size_t(t)] = float(std::exp(-double((t - win / 2) * (t - win / 2)) / (2 * sigma * sigma))));
  for (auto& v : g) v = float(v / sum);
  auto gk = torch::tensor(g);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto X = x.reshape({n * c, 1, h, w}), Y = y.reshape({n * c, 1, h, w});
  auto stack = torch::cat({X, Y, X * X, Y * Y, X * Y}, 0);
  auto f = torch::conv2d(torch::conv2d(stack, gk.view({1, 1, 1, win})), gk.view({1, 1, win, 1}));
  auto p = f.chunk(5, 0);
  auto ux = p[0], uy = p[1];
  auto vx = p[2] - ux * ux, vy = p[3] - uy * uy, vxy = p[4] - ux * uy;
  const double c1 = 1e-4, c2 = 9e-4;
  auto s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  return (1 - s).reshape({n, c, s.size(2), s.size(3)}).sum(1);
}

Maps pixel_maps(const detect::Detector& det, model::DetectorVae& net, const torch::Tensor& x) {
  torch::NoGradGuard ng;
  auto mu = det.encode(x).contiguous();
  auto rec = net->decode(mu);
  Maps m;
  m.recon = (x - rec).pow(2).sum(1);
  m.intensity = rec.mean(1);
  m.gradient = gradient_magnitude(m.intensity);
  const int win = std::getenv("DEV_WIN") ? std::atoi(std::getenv("DEV_WIN")) : 7;
  const double sigma = win == 11 ? 1.5 : 1.0;
  m.ssim_recon = dissimilarity_map(x, rec, win, sigma);
  m.ssim_min = torch::full_like(m.ssim_recon, 1e30f);
  const int64_t n = x.size(0), s = x.size(2);
  m.min = torch::full({n, s, s}, 1e30f);
  m.mean = torch::zeros({n, s, s});
  int count = 0;
  auto mu_c = mu.contiguous();
  const float* mp = mu_c.data_ptr<float>();
  const int64_t d = mu.size(1);
  for (int code : det.codes()) {
    m.ssim_min_code.push_back(torch::full_like(m.ssim_recon, 1e30f));
    m.err_min_code.push_back(torch::full({n, s, s}, 1e30f));
    std::vector<std::vector<float>> vals(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) vals[size_t(i)] = det.morph_values(code, mp[i * d + code]);
    for (int t = 0; t < det.options().morphs; ++t) {
      std::vector<float> col(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) col[size_t(i)] = vals[size_t(i)][size_t(t)];
      auto z = mu.clone();
      z.select(1, code).copy_(torch::from_blob(col.data(), {n}, torch::kFloat));
      auto dz = net->decode(z);
      auto e = (x - dz).pow(2).sum(1);
      m.min = torch::minimum(m.min, e);
      m.err_min_code.back() = torch::minimum(m.err_min_code.back(), e);
      auto dm = dissimilarity_map(x, dz, win, sigma);
      m.ssim_min = torch::minimum(m.ssim_min, dm);
      m.ssim_min_code.back() = torch::minimum(m.ssim_min_code.back(), dm);
      m.mean += e;
      ++count;
    }
  }
  m.mean /= double(count);
  return m;
}

torch::Tensor smooth(const torch::Tensor& maps, int k) {
  if (k <= 1) return maps;
  return torch::avg_pool2d(maps.unsqueeze(1), k, 1, k / 2, false, false).squeeze(1);
}

// Aggregates standardised maps (N, S, S) into one value per image.
torch::Tensor aggregate(const torch::Tensor& z, const std::string& how) {
  auto flat = z.flatten(1);
  if (how == "max") return std::get<0>(flat.max(1));
  if (how == "mean") return flat.mean(1);
  if (how.rfind("frac", 0) == 0) {  // "frac3": the largest 3% of the cells
    const int64_t k = std::max<int64_t>(1, std::llround(std::stod(how.substr(4)) / 100.0 * double(flat.size(1))));
    return std::get<0>(flat.topk(k, 1)).mean(1);
  }
  const int k = std::stoi(how.substr(3));  // "top5", "top20"
  return std::get<0>(flat.topk(k, 1)).mean(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s DATA CLASS EPOCHS SEED\n", argv[0]);
    return 2;
  }
  torch::set_num_threads(2);
  const std::string data_name = argv[1];
  const data::Dataset ds = data::load_dataset(data_name);
  const int cls = data::resolve_class(ds, argv[2]);
  const int epochs = std::stoi(argv[3]);
  const uint64_t seed = std::stoull(argv[4]);
  const int64_t isz = ds.image_size();

  Rng rng(seed * 7919 + 17);
  std::vector<int64_t> normal;
  std::vector<std::vector<int64_t>> others(ds.class_names.size());
  for (int64_t i = 0; i < ds.train.count; ++i)
    (ds.train.labels[size_t(i)] == cls ? normal : others[size_t(ds.train.labels[size_t(i)])]).push_back(i);
  shuffle_in_place(normal, rng);
  const int64_t n = int64_t(normal.size()), n_test = n / 10, n_val = n / 10, n_train = n - n_test - n_val;
  auto gather = [&](const std::vector<int64_t>& idx) {
    std::vector<uint8_t> px(idx.size() * size_t(isz));
    for (size_t j = 0; j < idx.size(); ++j)
      std::copy_n(ds.train.pixels.begin() + idx[j] * isz, isz, px.begin() + int64_t(j) * isz);
    return px;
  };
  std::vector<int64_t> tr(normal.begin(), normal.begin() + n_train), va(normal.begin() + n_train, normal.begin() + n_train + n_val),
      te(normal.begin() + n_train + n_val, normal.end());
  auto px_train = gather(tr), px_val = gather(va), px_test = gather(te);
  std::vector<uint8_t> defect_label(size_t(n_test), 0);
  std::vector<int> family_of(size_t(n_test), -1);
  std::vector<std::vector<uint8_t>> masks(static_cast<size_t>(n_test));
  for (int64_t j = n_test / 2; j < n_test; ++j) {
    const int f = int((j - n_test / 2) % 4);
    const int64_t donor = int64_t(rng.uniform_index(uint64_t(n_train)));
    masks[size_t(j)] = data::apply_defect(px_test.data() + j * isz, ds.channels, ds.height, ds.width, data::DefectFamily(f),
                                          rng.next_u64(), px_train.data() + donor * isz);
    defect_label[size_t(j)] = 1;
    family_of[size_t(j)] = f;
  }
  std::vector<int64_t> nov;
  for (size_t c = 0; c < others.size(); ++c) {
    if (int(c) == cls) continue;
    auto o = others[c];
    shuffle_in_place(o, rng);
    nov.insert(nov.end(), o.begin(), o.begin() + std::min<int64_t>(100, int64_t(o.size())));
  }
  auto px_nov = gather(nov);

  auto x_train = to_input(px_train, n_train, ds), x_val = to_input(px_val, n_val, ds), x_test = to_input(px_test, n_test, ds),
       x_nov = to_input(px_nov, int64_t(nov.size()), ds);
  std::fprintf(stderr, "dev %s class %d: train %lld val %lld test %lld novelty %zu\n", data_name.c_str(), cls,
               (long long)n_train, (long long)n_val, (long long)n_test, nov.size());

  // Clean dev-test images (first half) are the normals of both tasks.
  std::vector<uint8_t> nov_label(size_t(n_test / 2), 0);
  nov_label.resize(size_t(n_test / 2) + nov.size(), 1);
  auto novelty_scores = [&](const torch::Tensor& test_s, const torch::Tensor& nov_s) {
    auto v = vec(test_s.slice(0, 0, n_test / 2));
    auto w = vec(nov_s);
    v.insert(v.end(), w.begin(), w.end());
    return v;
  };
  auto report = [&](const std::string& name, const torch::Tensor& test_s, const torch::Tensor& nov_s) {
    const double a_def = eval::roc_auc(vec(test_s), defect_label);
    const double a_nov = eval::roc_auc(novelty_scores(test_s, nov_s), nov_label);
    std::vector<double> fam(4);
    auto ts = vec(test_s);
    for (int f = 0; f < 4; ++f) {
      std::vector<double> s;
      std::vector<uint8_t> l;
      for (int64_t j = 0; j < n_test; ++j)
        if (j < n_test / 2 || family_of[size_t(j)] == f) {
          s.push_back(ts[size_t(j)]);
          l.push_back(defect_label[size_t(j)]);
        }
      fam[size_t(f)] = eval::roc_auc(s, l);
    }
    std::printf("%-40s defects %.3f  novelty %.3f  | scratch %.3f erase %.3f stain %.3f paste %.3f\n", name.c_str(), a_def,
                a_nov, fam[0], fam[1], fam[2], fam[3]);
    std::fflush(stdout);
  };

  for (const std::string kind : {"dcae", "detector"}) {
    auto cfg = model::ModelConfig::defaults(kind == "dcae" ? model::ModelKind::kDcae : model::ModelKind::kDetectorVae,
                                            ds.channels, 32);
    if (kind == "detector") {
      // Training variants under study, from the environment (unset: the `default` preset's).
      cfg.gamma = detect::preset_gamma(detect::Preset::kDefault);
      if (const char* v = std::getenv("DEV_KL")) cfg.kl_weight = std::atof(v);
      if (const char* v = std::getenv("DEV_GAMMA")) cfg.gamma = std::atof(v);
      if (const char* v = std::getenv("DEV_LATENT")) cfg.latent_dim = std::atoi(v);
      if (const char* v = std::getenv("DEV_DENSE")) cfg.decoder_dense = cfg.encoder_dense = std::atoi(v);
    } else if (std::getenv("DEV_SKIP_DCAE")) {
      continue;
    }
    model::DetectorVae net(cfg);
    torch::manual_seed(seed);
    train::TrainOptions to;
    to.epochs = epochs;
    if (const char* v = std::getenv("DEV_LR")) to.lr = std::atof(v);
    to.seed = seed;
    to.verbose = false;
    train::TrainState st;
    // Trained networks are cached by (data, class, epochs, seed, variant) in runs/dev/cache.
    std::string variant = kind;
    if (kind == "detector") {
      variant += "_gamma" + std::to_string(cfg.gamma);
      for (const char* e : {"DEV_KL", "DEV_LATENT", "DEV_DENSE", "DEV_LR"})
        if (const char* v = std::getenv(e)) variant += std::string("_") + e + v;
    }
    const std::string cache = "runs/dev/cache/" + data_name + "_" + argv[2] + "_" + argv[3] + "_" + argv[4] + "_" + variant + ".pt";
    if (std::ifstream(cache).good()) {
      torch::load(net, cache);
    } else {
      train::train_model(net, x_train, to, st);
      std::filesystem::create_directories("runs/dev/cache");
      torch::save(net, cache);
    }
    net->eval();
    torch::NoGradGuard ng;
    auto recon_err = [&](const torch::Tensor& x) {
      auto mu = net->encoder->forward(x).first;
      return model::reconstruction_error(net->decoder->forward(mu), x, cfg.reconstruction);
    };
    report(kind + " recon error", recon_err(x_test), recon_err(x_nov));
    if (kind == "dcae") continue;

    detect::Detector det(net, detect::preset_options(detect::Preset::kDefault));
    detect::Calibration cal = det.calibrate(x_val, 0.4);
    for (int mm = 0; mm < detect::kNumMetrics; ++mm) {
      auto one_sided = [&](const torch::Tensor& x) {
        auto t = det.structure_consistency(x);
        std::vector<double> s;
        for (size_t i = 0; i < t.images(); ++i) s.push_back(cal.one_sided_score(detect::Metric(mm), t.of(i, detect::Metric(mm))));
        return torch::tensor(s, torch::kDouble);
      };
      report("oiad " + detect::metric_name(detect::Metric(mm)) + " one-sided", one_sided(x_test), one_sided(x_nov));
    }
    Maps mv = pixel_maps(det, net, x_val), mt = pixel_maps(det, net, x_test), mn = pixel_maps(det, net, x_nov);
    // Per code: each code's min-over-its-morphs SSIM dissimilarity map, z-scored per pixel
    // on VAL, aggregated; then the one-sided rule's mean over codes of the VAL-standardised
    // values (and the max over codes).
    for (const std::string how : {"max", "top5", "top20"}) {
      std::vector<torch::Tensor> vs, ts, ns;
      for (size_t k = 0; k < mv.ssim_min_code.size(); ++k) {
        auto mean = mv.ssim_min_code[k].mean(0), sd = mv.ssim_min_code[k].std(0, false);
        auto f = [&](const torch::Tensor& m) { return aggregate((m - mean) / (sd + 1e-3), how); };
        auto v = f(mv.ssim_min_code[k]);
        const auto vm = v.mean(), vsd = v.std() + 1e-9;
        vs.push_back((v - vm) / vsd);
        ts.push_back((f(mt.ssim_min_code[k]) - vm) / vsd);
        ns.push_back((f(mn.ssim_min_code[k]) - vm) / vsd);
      }
      auto T = torch::stack(ts, 1), N = torch::stack(ns, 1);
      report("percode ssim_min z " + how + " mean-codes", T.mean(1), N.mean(1));
      report("percode ssim_min z " + how + " max-codes", std::get<0>(T.max(1)), std::get<0>(N.max(1)));
    }
    // Per code, per-pixel squared error (min over the code's morphs) beside the SSIM map, each
    // z-scored per cell on VAL and summarised by its largest cells; each code's value is
    // VAL-standardised, and the one-sided score is the mean over codes (as the library does).
    {
      auto per_code = [&](const std::vector<torch::Tensor>& vm_, const std::vector<torch::Tensor>& tm_,
                          const std::vector<torch::Tensor>& nm_, const std::string& how, int k_smooth) {
        std::vector<torch::Tensor> vs, ts, ns;
        for (size_t k = 0; k < vm_.size(); ++k) {
          auto sv = smooth(vm_[k], k_smooth);
          auto mean = sv.mean(0), sd = sv.std(0, false);
          auto f = [&](const torch::Tensor& m) { return aggregate((smooth(m, k_smooth) - mean) / (sd + 1e-3), how); };
          auto v = f(vm_[k]);
          const auto vmu = v.mean(), vsd = v.std() + 1e-9;
          vs.push_back((v - vmu) / vsd);
          ts.push_back((f(tm_[k]) - vmu) / vsd);
          ns.push_back((f(nm_[k]) - vmu) / vsd);
        }
        return std::array<torch::Tensor, 2>{torch::stack(ts, 1), torch::stack(ns, 1)};
      };
      std::vector<std::string> hows = {"frac1", "frac3", "frac10"};
      for (const auto& how : hows) {
        auto S = per_code(mv.ssim_min_code, mt.ssim_min_code, mn.ssim_min_code, how, 1);
        report("PC ssim " + how + " mean", S[0].mean(1), S[1].mean(1));
        report("PC ssim " + how + " max", std::get<0>(S[0].max(1)), std::get<0>(S[1].max(1)));
        for (int ks : {1, 3}) {
          auto E = per_code(mv.err_min_code, mt.err_min_code, mn.err_min_code, how, ks);
          const std::string tag = " k" + std::to_string(ks) + " " + how;
          report("PC err" + tag + " mean", E[0].mean(1), E[1].mean(1));
          report("PC err" + tag + " max", std::get<0>(E[0].max(1)), std::get<0>(E[1].max(1)));
          auto S3 = per_code(mv.ssim_min_code, mt.ssim_min_code, mn.ssim_min_code, "frac3", 1);
          report("PC ssim3+err" + tag + " mean", (S3[0].mean(1) + E[0].mean(1)) / 2, (S3[1].mean(1) + E[1].mean(1)) / 2);
          report("PC max(ssim3,err" + tag + ") mean", torch::maximum(S3[0], E[0]).mean(1), torch::maximum(S3[1], E[1]).mean(1));
        }
      }
    }
    if (std::getenv("DEV_PERCODE_ONLY")) continue;
    // Conditional standardisation: each pixel's error against VAL pixels whose reconstruction
    // has a like intensity and gradient (bins at VAL quantiles), instead of VAL pixels at the
    // same position.
    for (int nb : {4, 8}) {
      auto qs = torch::linspace(0, 1, nb + 1).slice(0, 1, nb);
      auto sample = [&](const torch::Tensor& t) { return t.flatten().slice(0, 0, std::min<int64_t>(t.numel(), 2000000)); };
      auto ei = torch::quantile(sample(mv.intensity), qs).contiguous(), eg = torch::quantile(sample(mv.gradient), qs).contiguous();
      const int64_t bins = (nb + 1) * (nb + 1);
      for (int which = 0; which < 2; ++which) {
        auto pick = [&](Maps& m) { return which == 0 ? m.recon : m.min; };
        auto bv = bin_of(mv, ei, eg).flatten(), vv = pick(mv).flatten();
        auto cnt = torch::zeros({bins}).index_add_(0, bv, torch::ones_like(vv));
        auto sum = torch::zeros({bins}).index_add_(0, bv, vv), sq = torch::zeros({bins}).index_add_(0, bv, vv * vv);
        auto mean = sum / cnt.clamp_min(1), sd = (sq / cnt.clamp_min(1) - mean * mean).clamp_min(0).sqrt();
        for (int k : {1, 3}) {
          auto zmap = [&](Maps& m) {
            auto b = bin_of(m, ei, eg);
            return smooth((pick(m) - mean.index({b})) / (sd.index({b}) + 1e-3), k);
          };
          auto zt = zmap(mt), zn = zmap(mn);
          for (const std::string how : {"max", "top5", "top20", "mean"}) {
            char name[128];
            std::snprintf(name, sizeof name, "cond%d %s k%d %s", nb, which == 0 ? "recon" : "min", k, how.c_str());
            report(name, aggregate(zt, how), aggregate(zn, how));
          }
        }
      }
    }
    const char* map_names[] = {"recon", "min", "mean", "ssim_recon", "ssim_min"};
    for (int which = 0; which < 5; ++which) {
      if (which == 2) continue;
      auto pick = [&](Maps& m) {
        return which == 0 ? m.recon : which == 1 ? m.min : which == 2 ? m.mean : which == 3 ? m.ssim_recon : m.ssim_min;
      };
      for (int k : {1, 3}) {
        auto sv = smooth(pick(mv), k), st2 = smooth(pick(mt), k), sn = smooth(pick(mn), k);
        auto mean = sv.mean(0), sd = sv.std(0, false);
        for (const std::string stdz : {"raw", "z"}) {
          for (double eps : {1e-3}) {
            if (stdz == "raw" && eps > 1e-3) continue;
            auto f = [&](const torch::Tensor& m) {
              if (stdz == "raw") return m;
              if (stdz == "z") return (m - mean) / (sd + eps);
              return m / (mean + eps);
            };
            for (const std::string how : {"max", "top5", "top20", "mean"}) {
              char name[128];
              std::snprintf(name, sizeof name, "%s k%d %s eps%g %s", map_names[which], k, stdz.c_str(), eps, how.c_str());
              report(name, aggregate(f(st2), how), aggregate(f(sn), how));
            }
          }
        }
      }
    }
  }
  return 0;
}
