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
#include <torch/torch.h>

#include <cstdio>
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
  torch::Tensor recon, min, mean;
};

Maps pixel_maps(const detect::Detector& det, model::DetectorVae& net, const torch::Tensor& x) {
  torch::NoGradGuard ng;
  auto mu = det.encode(x).contiguous();
  auto rec = net->decode(mu);
  Maps m;
  m.recon = (x - rec).pow(2).sum(1);
  const int64_t n = x.size(0), s = x.size(2);
  m.min = torch::full({n, s, s}, 1e30f);
  m.mean = torch::zeros({n, s, s});
  int count = 0;
  for (int code : det.codes()) {
    // morph t of every image at once
    std::vector<std::vector<float>> vals(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) vals[size_t(i)] = det.morph_values(code, mu[i][code].item<float>());
    for (int t = 0; t < det.options().morphs; ++t) {
      auto z = mu.clone();
      for (int64_t i = 0; i < n; ++i) z[i][code] = vals[size_t(i)][size_t(t)];
      auto e = (x - net->decode(z)).pow(2).sum(1);
      m.min = torch::minimum(m.min, e);
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
      // Training variants under study, from the environment (unset: the defaults).
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
    train::train_model(net, x_train, to, st);
    net->eval();
    torch::NoGradGuard ng;
    auto recon_err = [&](const torch::Tensor& x) {
      auto mu = net->encoder->forward(x).first;
      return model::reconstruction_error(net->decoder->forward(mu), x, cfg.reconstruction);
    };
    report(kind + " recon error", recon_err(x_test), recon_err(x_nov));
    if (kind == "dcae") continue;

    detect::Detector det(net, detect::preset_options("default"));
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
    const char* map_names[] = {"recon", "min", "mean"};
    for (int which = 0; which < 3; ++which) {
      auto pick = [&](Maps& m) { return which == 0 ? m.recon : which == 1 ? m.min : m.mean; };
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
