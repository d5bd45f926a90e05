// Development of OIAD's local score on inspection-type data, on TRAINING images only: the
// images an `oiad experiment` of the same data, class, protocol and seed trains and
// calibrates on (its train and VAL parts); its test part is never read.
//
// Those images are shuffled (seed 1) and cut into dev-train (80%), dev-VAL (10%) and
// dev-test (10%). Every dev-test image is scored clean and with each of the four synthetic
// defect families (data/defects.h; paste donors from dev-train), so the defects AUC compares
// n clean images against 4n defective copies of the same images. A Detector-VAE is trained on
// dev-train with the `default` preset's settings, calibrated on dev-VAL, and the local maps of
// dev-VAL and dev-test give every candidate form of the local score:
//
//   standard  "window": each SSIM window's own VAL mean and sd (the library's form);
//             "pooled": one mean and sd per code over every window of every VAL image
//             (position-free: for surfaces whose images are not aligned)
//   smooth    box filter of side 1 (none), 3 or 7 windows over the standardised map
//   top       the share of the largest standardised windows averaged: 0.3%, 1%, 3% (the
//             library's), 10%
//
// each per code, VAL-standardised per code and averaged over the codes (the one-sided rule's
// form), and the same less its complexity line fitted on dev-VAL (the relative rule's form:
// the σ of detect::complexity_sigmas() with the largest R²). The library's own local
// one-sided and relative scores come first, as a check of the candidate that equals them
// (since 2026-12-07 window, smooth 3, top 1%, codes unweighted; before, window, smooth 1,
// top 3%, equal up to the weights of codes merged at calibration).
//
//   cmake --build build --target oiad_local_inspection_dev
//   build/oiad_local_inspection_dev magnetic-tile Free 128 0 > runs/dev/mt.txt
//   build/oiad_local_inspection_dev mnist 3 32 0 > runs/dev/mnist3.txt
//
// Arguments: DATA CLASS INPUT_SIZE SEED [EPOCHS (30)]. The protocol is `inspection` for data
// whose images carry masks (Magnetic-tile), `standard` otherwise. Trained networks are cached
// in runs/dev/cache. Environment: DEV_THREADS (2), DEV_SIGMAS (the σ the relative form
// chooses among, comma-separated; default detect::complexity_sigmas()), DEV_WINDOWS (SSIM
// windows of other sides for the local maps, "WIN:SIGMA,..." and pairs "A+B"; see below),
// DEV_NOVELTY (with DEV_WINDOWS: N training images of each other class as class-novelty
// anomalies), DEV_WINDOWS_ONLY (stop after the window lines).
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "oiad/core/random.h"
#include "oiad/data/defects.h"
#include "oiad/data/registry.h"
#include "oiad/data/resize.h"
#include "oiad/data/split.h"
#include "oiad/detect/complexity.h"
#include "oiad/detect/detector.h"
#include "oiad/eval/regions.h"
#include "oiad/eval/roc.h"
#include "oiad/model/preprocess.h"
#include "oiad/train/trainer.h"

using namespace oiad;

namespace {

std::vector<double> vec(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Per (image, code): the mean of the largest `frac` of the standardised, smoothed windows.
// maps (n, k, side, side); mean and sd broadcast against it.
torch::Tensor code_values(const torch::Tensor& maps, const torch::Tensor& mean, const torch::Tensor& sd, int smooth,
                          double frac) {
  auto z = (maps - mean) / (sd + detect::kLocalSdFloor);
  if (smooth > 1) {
    const auto n = z.size(0), k = z.size(1), s = z.size(2);
    z = torch::avg_pool2d(z.reshape({n * k, 1, s, s}), smooth, 1, smooth / 2, false, false).reshape({n, k, s, s});
  }
  auto flat = z.flatten(2);
  const int64_t cells = flat.size(2);
  const int64_t top = std::min<int64_t>(cells, std::max<int64_t>(1, std::llround(frac * double(cells))));
  return std::get<0>(flat.topk(top, 2)).mean(2);
}

// 1 - SSIM of every window (Gaussian window of side `win`, σ `sigma`, K1 0.01, K2 0.03, data
// range 1, population (co)variances, windows wholly inside the image), averaged over the
// channels: (N, H - win + 1, W - win + 1). With win 11 and σ 1.5, the library's map.
torch::Tensor dissimilarity(const torch::Tensor& x, const torch::Tensor& y, int win, double sigma) {
  std::vector<double> g(static_cast<size_t>(win));
  double sum = 0;
  for (int t = 0; t < win; ++t) sum += (g[size_t(t)] = std::exp(-double((t - win / 2) * (t - win / 2)) / (2 * sigma * sigma)));
  for (auto& v : g) v /= sum;
  const auto gk = torch::tensor(g, torch::kDouble);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto X = x.to(torch::kDouble).reshape({n * c, 1, h, w}), Y = y.to(torch::kDouble).reshape({n * c, 1, h, w});
  const auto f = torch::conv2d(torch::conv2d(torch::cat({X, Y, X * X, Y * Y, X * Y}, 0), gk.view({1, 1, 1, win})),
                               gk.view({1, 1, win, 1}));
  const auto p = f.chunk(5, 0);
  const auto &ux = p[0], &uy = p[1];
  const auto vx = p[2] - ux * ux, vy = p[3] - uy * uy, vxy = p[4] - ux * uy;
  const double c1 = 1e-4, c2 = 9e-4;
  const auto s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  return (1 - s).reshape({n, c, s.size(2), s.size(3)}).mean(1);
}

// The local metric's raw maps with SSIM windows of side `win`: per (image, selected code), the
// window-wise minimum over the code's morphs (the detector's own morph values) of the
// dissimilarity maps, (n, codes, S - win + 1, S - win + 1) float64.
torch::Tensor morph_minimum_maps(const detect::Detector& det, model::DetectorVae& net, const torch::Tensor& x, int win,
                                 double sigma) {
  torch::NoGradGuard ng;
  const auto& codes = det.codes();
  const int64_t n = x.size(0), k = int64_t(codes.size()), side = x.size(2) - win + 1;
  auto out = torch::empty({n, k, side, side}, torch::kDouble);
  for (int64_t a = 0; a < n; a += 64) {
    const int64_t b = std::min(n, a + 64);
    const auto xb = x.slice(0, a, b);
    const auto mu = det.encode(xb).contiguous();
    const int64_t d = mu.size(1);
    for (int64_t c = 0; c < k; ++c) {
      const int code = codes[size_t(c)];
      std::vector<float> vals;
      int64_t m = 0;
      for (int64_t i = 0; i < b - a; ++i) {
        const auto v = det.morph_values(code, mu.data_ptr<float>()[i * d + code]);
        m = int64_t(v.size());
        vals.insert(vals.end(), v.begin(), v.end());
      }
      auto z = mu.repeat_interleave(m, 0).contiguous();
      z.select(1, code).copy_(torch::tensor(vals));
      const auto dm = dissimilarity(xb.repeat_interleave(m, 0), net->decode(z), win, sigma);
      out.slice(0, a, b).select(1, c).copy_(dm.reshape({b - a, m, side, side}).amin(1));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s DATA CLASS INPUT_SIZE SEED [EPOCHS]\n", argv[0]);
    return 2;
  }
  torch::set_num_threads(std::getenv("DEV_THREADS") ? std::atoi(std::getenv("DEV_THREADS")) : 2);
  std::vector<double> sigmas = detect::complexity_sigmas();
  if (const char* v = std::getenv("DEV_SIGMAS")) {
    sigmas.clear();
    for (std::string rest = v; !rest.empty();) {
      const size_t comma = rest.find(',');
      sigmas.push_back(std::stod(rest.substr(0, comma)));
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
  }
  const std::string data_name = argv[1];
  const int size = std::stoi(argv[3]);
  const uint64_t seed = std::stoull(argv[4]);
  const int epochs = argc > 5 ? std::stoi(argv[5]) : 30;
  data::Dataset native = data::load_dataset(data_name);
  const int cls = data::resolve_class(native, argv[2]);
  const data::Dataset ds = data::needs_resize(native, size) ? data::resized(native, size) : std::move(native);
  const auto protocol = ds.has_masks() ? data::Protocol::kInspection : data::Protocol::kStandard;
  const data::OneClassSplit split = data::make_split(ds, cls, protocol, seed);

  // The experiment's training images (train and VAL parts), never its test part.
  data::SplitPart pool = split.train;
  pool.index.insert(pool.index.end(), split.val.index.begin(), split.val.index.end());
  pool.anomalous.assign(pool.index.size(), 0);
  Rng rng(1 * 7919 + 17);
  shuffle_in_place(pool.index, rng);
  const size_t n = pool.size(), n_test = n / 10, n_val = n / 10, n_train = n - n_test - n_val;
  auto part = [&](size_t from, size_t to) {
    data::SplitPart p;
    p.source = pool.source;
    p.index.assign(pool.index.begin() + std::ptrdiff_t(from), pool.index.begin() + std::ptrdiff_t(to));
    p.anomalous.assign(p.index.size(), 0);
    return p;
  };
  const auto px_train = data::gather_pixels(ds, part(0, n_train)), px_val = data::gather_pixels(ds, part(n_train, n_train + n_val));
  const auto px_clean = data::gather_pixels(ds, part(n_train + n_val, n));
  const int64_t isz = ds.image_size();
  // dev-test: the clean images, then each family applied to every one of them.
  std::vector<uint8_t> px_test = px_clean;
  std::vector<int> family_of(n_test, -1);
  // Each dev-test image's defect mask (H x W; zero for the clean ones), for the pixel measures.
  const size_t hw = size_t(ds.height) * size_t(ds.width);
  std::vector<uint8_t> masks(n_test * hw, 0);
  for (int f = 0; f < 4; ++f)
    for (size_t j = 0; j < n_test; ++j) {
      std::vector<uint8_t> img(px_clean.begin() + int64_t(j) * isz, px_clean.begin() + int64_t(j + 1) * isz);
      const auto donor = int64_t(rng.uniform_index(uint64_t(n_train)));
      const auto mask = data::apply_defect(img.data(), ds.channels, ds.height, ds.width, data::DefectFamily(f),
                                           rng.next_u64(), px_train.data() + donor * isz);
      masks.insert(masks.end(), mask.begin(), mask.end());
      px_test.insert(px_test.end(), img.begin(), img.end());
      family_of.push_back(f);
    }
  const int64_t n_all = int64_t(family_of.size());
  std::vector<uint8_t> label(family_of.size());
  for (size_t i = 0; i < label.size(); ++i) label[i] = family_of[i] >= 0;
  auto input = [&](const std::vector<uint8_t>& px, int64_t count) {
    return model::images_to_input(px.data(), count, ds.channels, ds.height, ds.width, size);
  };
  const auto x_train = input(px_train, int64_t(n_train)), x_val = input(px_val, int64_t(n_val)), x_test = input(px_test, n_all);
  std::fprintf(stderr, "dev %s class %d at %d: train %zu val %zu test %zu clean + %zu defective\n", data_name.c_str(), cls,
               size, n_train, n_val, n_test, size_t(n_all) - n_test);

  auto cfg = model::ModelConfig::defaults(model::ModelKind::kDetectorVae, ds.channels, size);
  cfg.gamma = detect::preset_gamma(detect::Preset::kDefault);
  model::DetectorVae net(cfg);
  torch::manual_seed(seed);
  train::TrainOptions to;
  to.epochs = epochs;
  to.seed = seed;
  to.verbose = false;
  const std::string cache = "runs/dev/cache/inspection_" + data_name + "_" + argv[2] + "_" + argv[3] + "_" + argv[4] + "_" +
                            std::to_string(epochs) + ".pt";
  if (std::ifstream(cache).good()) {
    torch::load(net, cache);
  } else {
    train::TrainState st;
    train::train_model(net, x_train, to, st);
    std::filesystem::create_directories("runs/dev/cache");
    torch::save(net, cache);
  }
  net->eval();
  torch::NoGradGuard ng;
  detect::Detector det(net, detect::preset_options(detect::Preset::kDefault));
  const detect::Calibration cal = det.calibrate(x_val, 0.4);
  std::vector<float> mv, mt;
  det.consistency_in_blocks(x_val, &mv);
  const detect::ConsistencyTable tt = det.consistency_in_blocks(x_test, &mt);
  const int64_t k = int64_t(det.codes().size()), side = detect::local_map_side(size);
  const auto maps_val = torch::from_blob(mv.data(), {int64_t(n_val), k, side, side}).to(torch::kDouble);
  const auto maps_test = torch::from_blob(mt.data(), {n_all, k, side, side}).to(torch::kDouble);

  // One line: the defects AUC, each family's, and with `nov` (the class-novelty images'
  // scores) the clean dev-test images against them.
  auto report = [&](const std::string& name, const std::vector<double>& s, const std::vector<double>& nov = {}) {
    std::vector<double> fam(4);
    for (int f = 0; f < 4; ++f) {
      std::vector<double> v;
      std::vector<uint8_t> l;
      for (size_t i = 0; i < s.size(); ++i)
        if (family_of[i] < 0 || family_of[i] == f) v.push_back(s[i]), l.push_back(label[i]);
      fam[size_t(f)] = eval::roc_auc(v, l);
    }
    std::printf("%-44s defects %.3f | scratch %.3f erase %.3f stain %.3f paste %.3f", name.c_str(),
                eval::roc_auc(s, label), fam[0], fam[1], fam[2], fam[3]);
    if (!nov.empty()) {
      std::vector<double> v(s.begin(), s.begin() + std::ptrdiff_t(n_test));
      std::vector<uint8_t> l(n_test, 0);
      v.insert(v.end(), nov.begin(), nov.end());
      l.insert(l.end(), nov.size(), 1);
      std::printf(" | novelty %.3f", eval::roc_auc(v, l));
    }
    std::printf("\n");
    std::fflush(stdout);
  };
  // The library's local score under the one-sided and relative rules.
  {
    std::vector<double> one, rel;
    const auto m = detect::Metric::kLocal;
    const auto cx = detect::complexity(x_test, m, cal.relative[size_t(m)].sigma).contiguous();
    for (int64_t i = 0; i < n_all; ++i) {
      one.push_back(cal.one_sided_score(m, tt.of(size_t(i), m)));
      rel.push_back(cal.relative_score(m, tt.of(size_t(i), m), cx.data_ptr<double>()[i]));
    }
    report("library local one-sided", one);
    report("library local relative", rel);
  }
  // The change map (the library's: each window's standardised local value, the mean over the
  // codes) smoothed by a box of `smooth` windows (border windows average their in-map
  // neighbours), brought to the image's size as the experiment does: pixel AUROC and AUPRO
  // against the synthetic defects' masks of dev-test.
  {
    const int64_t pad = (size - side) / 2;
    // The unsmoothed map: the detector's standard with a box of 1 (the library smooths its
    // change map by the standard's own box since 2026-12-07).
    detect::Detector unsmoothed = det;
    detect::LocalStandard plain = det.local_standard();
    plain.smooth = 1;
    unsmoothed.set_local_standard(plain);
    const auto full = unsmoothed.change_maps(mt, n_all);
    const auto z = full.slice(1, pad, pad + side).slice(2, pad, pad + side).unsqueeze(1);
    for (int smooth : {1, 3, 5, 7}) {
      auto m = smooth > 1 ? torch::avg_pool2d(z, smooth, 1, smooth / 2, false, false) : z;
      m = torch::replication_pad2d(m, {pad, pad, pad, pad}).squeeze(1);
      const auto img = model::input_map_to_image(m, ds.height, ds.width).to(torch::kDouble).contiguous();
      eval::PixelMaps pm;
      for (int64_t i = 0; i < n_all; ++i)
        pm.add(img.data_ptr<double>() + size_t(i) * hw, masks.data() + size_t(i) * hw, ds.height, ds.width);
      std::printf("change map smooth %d                       pixel AUROC %.3f | AUPRO %.3f\n", smooth,
                  eval::pixel_auroc(pm), eval::aupro(pm));
      std::fflush(stdout);
    }
  }
  // Complexity of dev-VAL and dev-test per σ, for the relative form of every candidate.
  std::vector<std::vector<double>> cval, ctest;
  for (double s : sigmas) {
    cval.push_back(vec(detect::complexity(x_val, detect::Metric::kLocal, s)));
    ctest.push_back(vec(detect::complexity(x_test, detect::Metric::kLocal, s)));
  }
  // The standards tried (DEV_STANDARDS, comma-separated; default window,pooled): "window" and
  // "pooled" as above; "shrinkL": each window's VAL variance shrunk towards the code's pooled
  // one, L · var_window + (1 − L) · var_pooled (L in (0, 1)); "boxstdK": the window mean and sd
  // maps averaged over a K x K box of windows (less estimation noise from few VAL images).
  // DEV_FORMS ("SMOOTH:TOP,..."; default every smoothing 1, 3, 7 with every top share).

  // SSIM windows of other sides (DEV_WINDOWS "WIN:SIGMA,...", e.g. 11:1.5,7:1,5:0.75): the
  // local maps recomputed from the detector's own morphs with that window, each window
  // standardised by its dev-VAL mean and sd, smoothing 3 and top 1% (the library's form), one-
  // sided and relative; "11:1.5" recomputes the library's own maps (its largest difference from
  // them is printed). A pair "A+B" averages the one-sided scores of windows A and B (several
  // scales). With DEV_NOVELTY=N (data with classes), N training images of every other class are
  // scored too, and each line gets its class-novelty AUC (clean dev-test against them).
  if (const char* wv = std::getenv("DEV_WINDOWS")) {
    std::vector<std::string> specs;
    {
      std::stringstream in(wv);
      for (std::string item; std::getline(in, item, ',');) specs.push_back(item);
    }
    torch::Tensor x_nov;
    if (const char* nv = std::getenv("DEV_NOVELTY")) {
      const int per = std::atoi(nv);
      std::vector<std::vector<int64_t>> by(ds.class_names.size());
      for (size_t i = 0; i < ds.train.labels.size(); ++i)
        if (ds.train.labels[i] != cls) by[size_t(ds.train.labels[i])].push_back(int64_t(i));
      data::SplitPart other;
      other.source = "train";
      Rng orng(2 * 7919 + 17);
      for (auto& ix : by) {
        shuffle_in_place(ix, orng);
        for (size_t j = 0; j < ix.size() && j < size_t(per); ++j) other.index.push_back(ix[j]);
      }
      other.anomalous.assign(other.index.size(), 1);
      const auto px_nov = data::gather_pixels(ds, other);
      x_nov = input(px_nov, int64_t(other.size()));
      std::fprintf(stderr, "novelty: %zu training images of the other classes\n", other.size());
    }
    const bool with_nov = x_nov.defined();
    std::vector<std::vector<double>> cnov;
    if (with_nov)
      for (double sg : sigmas) cnov.push_back(vec(detect::complexity(x_nov, detect::Metric::kLocal, sg)));
    // One-sided scores of dev-VAL, dev-test and the novelty images for one window; then the
    // one-sided and relative lines.
    struct Scores {
      std::vector<double> val, test, nov;
    };
    auto lines = [&](const std::string& name, const Scores& sc) {
      report(name + " one-sided", sc.test, sc.nov);
      size_t best = 0;
      detect::ComplexityFit fit;
      fit.r2 = -1;
      for (size_t j = 0; j < cval.size(); ++j) {
        const auto l = detect::fit_line(cval[j], sc.val);
        if (l.r2 > fit.r2) fit = l, best = j;
      }
      std::vector<double> rel(sc.test.size()), rnov(sc.nov.size());
      for (size_t i = 0; i < rel.size(); ++i) rel[i] = sc.test[i] - fit.predict(ctest[best][i]);
      for (size_t i = 0; i < rnov.size(); ++i) rnov[i] = sc.nov[i] - fit.predict(cnov[best][i]);
      char rname[128];
      std::snprintf(rname, sizeof rname, "%s relative (σ %.2g R² %.2f)", name.c_str(), sigmas[best], fit.r2);
      report(rname, rel, rnov);
    };
    std::map<std::string, Scores> by_window;
    for (const std::string& spec : specs) {
      const size_t plus = spec.find('+');
      if (plus != std::string::npos) {
        const auto& a = by_window.at(spec.substr(0, plus));
        const auto& b = by_window.at(spec.substr(plus + 1));
        Scores sc;
        auto avg = [](const std::vector<double>& u, const std::vector<double>& w) {
          std::vector<double> r(u.size());
          for (size_t i = 0; i < u.size(); ++i) r[i] = 0.5 * (u[i] + w[i]);
          return r;
        };
        sc.val = avg(a.val, b.val), sc.test = avg(a.test, b.test), sc.nov = avg(a.nov, b.nov);
        lines("windows " + spec + " smooth 3 top 1.0%", sc);
        continue;
      }
      const int win = std::stoi(spec.substr(0, spec.find(':')));
      const double sg = std::stod(spec.substr(spec.find(':') + 1));
      const auto wval = morph_minimum_maps(det, net, x_val, win, sg);
      const auto wtest = morph_minimum_maps(det, net, x_test, win, sg);
      if (win == 11)
        std::printf("window 11 recomputed: largest difference from the library's maps %.3g (val) %.3g (test)\n",
                    (wval - maps_val).abs().max().item<double>(), (wtest - maps_test).abs().max().item<double>());
      const auto mean = wval.mean(0, true), sd = wval.std(0, false, true);
      const auto v = code_values(wval, mean, sd, 3, 0.01), t = code_values(wtest, mean, sd, 3, 0.01);
      const auto vm = v.mean(0, true), vs = v.std(0, false, true) + 1e-12;
      Scores sc;
      sc.val = vec(((v - vm) / vs).mean(1)), sc.test = vec(((t - vm) / vs).mean(1));
      if (with_nov) {
        const auto u = code_values(morph_minimum_maps(det, net, x_nov, win, sg), mean, sd, 3, 0.01);
        sc.nov = vec(((u - vm) / vs).mean(1));
      }
      by_window[std::to_string(win)] = sc;
      lines("window " + std::to_string(win) + " (σ " + spec.substr(spec.find(':') + 1) + ") smooth 3 top 1.0%", sc);
    }
    if (std::getenv("DEV_WINDOWS_ONLY")) return 0;
  }
  std::vector<std::string> standards = {"window", "pooled"};
  if (const char* v = std::getenv("DEV_STANDARDS")) {
    standards.clear();
    std::stringstream in(v);
    for (std::string item; std::getline(in, item, ',');) standards.push_back(item);
  }
  std::vector<std::pair<int, double>> forms;
  for (int smooth : {1, 3, 7})
    for (double frac : {0.003, 0.01, 0.03, 0.1}) forms.emplace_back(smooth, frac);
  if (const char* v = std::getenv("DEV_FORMS")) {
    forms.clear();
    std::stringstream in(v);
    for (std::string item; std::getline(in, item, ',');)
      forms.emplace_back(std::stoi(item.substr(0, item.find(':'))), std::stod(item.substr(item.find(':') + 1)));
  }
  for (const std::string& standard : standards) {
    torch::Tensor mean = maps_val.mean(0, true), sd = maps_val.std(0, false, true);
    if (standard == "pooled") {
      mean = maps_val.mean({0, 2, 3}, true), sd = maps_val.std({0, 2, 3}, false, true);
    } else if (standard.rfind("shrink", 0) == 0) {
      const double l = std::stod(standard.substr(6));
      const auto pooled_var = maps_val.var({0, 2, 3}, false, true);
      sd = (l * sd.pow(2) + (1 - l) * pooled_var).sqrt();
    } else if (standard.rfind("boxstd", 0) == 0) {
      const int kbox = std::stoi(standard.substr(6));
      auto box = [&](const torch::Tensor& t) {
        return torch::avg_pool2d(t.reshape({k, 1, side, side}), kbox, 1, kbox / 2, false, false).reshape({1, k, side, side});
      };
      mean = box(mean), sd = box(sd);
    } else if (standard != "window") {
      std::fprintf(stderr, "unknown standard '%s'\n", standard.c_str());
      return 2;
    }
    for (const auto& [smooth, frac] : forms) {
        const auto v = code_values(maps_val, mean, sd, smooth, frac), t = code_values(maps_test, mean, sd, smooth, frac);
        const auto vm = v.mean(0, true), vs = v.std(0, false, true) + 1e-12;
        const auto sv = vec(((v - vm) / vs).mean(1)), st = vec(((t - vm) / vs).mean(1));
        char name[96];
        std::snprintf(name, sizeof name, "%s smooth %d top %.1f%%", standard.c_str(), smooth, 100 * frac);
        report(std::string(name) + " one-sided", st);
        size_t best = 0;
        detect::ComplexityFit fit;
        fit.r2 = -1;
        for (size_t j = 0; j < cval.size(); ++j) {
          const auto l = detect::fit_line(cval[j], sv);
          if (l.r2 > fit.r2) fit = l, best = j;
        }
        std::vector<double> rel(st.size());
        for (size_t i = 0; i < st.size(); ++i) rel[i] = st[i] - fit.predict(ctest[best][i]);
        char rname[128];
        std::snprintf(rname, sizeof rname, "%s relative (σ %.2g R² %.2f)", name, sigmas[best], fit.r2);
        report(rname, rel);
      }
  }
  return 0;
}
