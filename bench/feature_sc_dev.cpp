// Development of a feature-space structure consistency on the paper protocol (Sec. IV.B: the
// test part is CLE, the normal class's own held-out training images, and ANO, other classes'
// training images; the data set's test split is never read).
//
// Input: a Detector-VAE model file trained with `oiad train --protocol paper` (its split is
// read from the file). A transformation classifier (peers/transform_prediction.h) is trained
// on the same training part; the detector is calibrated on the VAL part (`default` preset);
// then, for VAL and test images, the classifier's features F (the input of its dense layer)
// are computed for the image x, its reconstruction (the decode of the mean code) and every
// PR-morph of every selected code. Each candidate score is printed with its AUC on the test
// part, next to the pixel-space OIAD scores and the classifier's own scores.
//
//   cmake --build build --target oiad_feature_sc_dev
//   build/oiad_feature_sc_dev runs/table2/mnist_7.oiad > runs/dev/feature_sc_mnist_7.txt
//
// Environment: DEV_PASSES (the classifier's passes, 200 = GEOM's length), DEV_NET ("depth,
// widen", 10,1), DEV_FEAT_T (features of the first T transformations concatenated, 1 = the
// identity only; the first four are the rotations), DEV_FEAT ("wrn": the classifier's
// features; "svdd": the representation φ of a Deep SVDD network (peers/deep_svdd.h) trained
// on the same part with the experiment's schedule: 150 + 150 epochs grey, 30 + 50 colour).
// The networks are cached in runs/dev/cache by (model file name, network, length).
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "oiad/data/registry.h"
#include "oiad/data/split.h"
#include "oiad/detect/detector.h"
#include "oiad/eval/roc.h"
#include "oiad/experiment/experiment.h"
#include "oiad/model/model_io.h"
#include "oiad/model/preprocess.h"
#include "oiad/peers/deep_svdd.h"
#include "oiad/peers/transform_prediction.h"

using namespace oiad;

namespace {

std::vector<double> vec(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

// Features of every image, and of each code's morphs: morph[k] is (N, morphs, D).
struct FeatureSet {
  torch::Tensor x, rec;
  std::vector<torch::Tensor> morph;
};

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.oiad (trained with --protocol paper)\n", argv[0]);
    return 2;
  }
  torch::set_num_threads(2);
  const std::string model_path = argv[1];
  auto loaded = model::load_model(model_path, "detector");
  const auto& meta = loaded.file.meta;
  const data::Dataset ds = data::load_dataset(meta.at("dataset").get<std::string>());
  const auto split = data::OneClassSplit::from_json(meta.at("split").dump(), model_path);
  // A development program reads training images only: the paper protocol's test part is drawn
  // from the training split; any other protocol's is the data set's test split.
  for (const data::SplitPart* part : {&split.train, &split.val, &split.test})
    if (part->source != "train") {
      std::fprintf(stderr,
                   "%s: the model's split reads the data set's %s split (%s protocol); development programs read "
                   "training images only (train the model with --protocol paper)\n",
                   model_path.c_str(), part->source.c_str(), split.protocol.c_str());
      return 2;
    }
  auto input = [&](const data::SplitPart& p) {
    const auto px = data::gather_pixels(ds, p);
    return model::images_to_input(px.data(), int64_t(p.size()), ds.channels, ds.height, ds.width, 32);
  };
  const auto x_train = input(split.train), x_val = input(split.val), x_test = input(split.test);
  const std::vector<uint8_t>& label = split.test.anomalous;
  std::fprintf(stderr, "%s: train %zu val %zu test %zu\n", model_path.c_str(), split.train.size(), split.val.size(),
               split.test.size());
  auto report = [&](const std::string& name, const torch::Tensor& s) {
    std::printf("%-58s AUC %.4f\n", name.c_str(), eval::roc_auc(vec(s), label));
    std::fflush(stdout);
  };

  // The transformation classifier on the training part (cached).
  peers::TransformPredictionOptions to;
  to.passes = std::atoi(env_or("DEV_PASSES", "200"));
  const std::string net_spec = env_or("DEV_NET", "10,1");
  if (std::sscanf(net_spec.c_str(), "%d,%d", &to.depth, &to.widen) != 2)
    throw std::invalid_argument("DEV_NET '" + net_spec + "' is not DEPTH,WIDEN");
  peers::TransformPrediction tp(ds.channels, 32, to);
  const std::string cache = "runs/dev/cache/" + std::filesystem::path(model_path).stem().string() + "_wrn" +
                            std::to_string(to.depth) + "x" + std::to_string(to.widen) + "_p" + std::to_string(to.passes) +
                            ".pt";
  if (std::ifstream(cache).good()) {
    tp.load(cache);
  } else {
    const auto h = tp.fit(x_train, [](int e, int n, double loss) { std::fprintf(stderr, "classifier epoch %d/%d loss %.4f\n", e, n, loss); });
    std::fprintf(stderr, "classifier: %.1f s, final accuracy %.3f\n", h.train_seconds, h.accuracy.back());
    std::filesystem::create_directories("runs/dev/cache");
    tp.save(cache);
  }
  report("peer transforms (dirichlet)", tp.score(x_test));
  report("peer transforms (logprob)", -tp.log_probabilities(x_test).to(torch::kDouble).diagonal(0, 1, 2).sum(1));

  // The detector, calibrated on VAL; its pixel-space one-sided scores for reference.
  auto net = loaded.net;
  net->eval();
  detect::Detector det(net, detect::preset_options(detect::Preset::kDefault));
  const detect::Calibration cal = det.calibrate(x_val, 0.4);
  const auto table = det.structure_consistency(x_test);
  for (int m = 0; m < detect::kNumMetrics; ++m) {
    std::vector<double> s;
    for (size_t i = 0; i < table.images(); ++i) s.push_back(cal.one_sided_score(detect::Metric(m), table.of(i, detect::Metric(m))));
    report("oiad pixel " + detect::metric_name(detect::Metric(m)) + " one-sided", torch::tensor(s, torch::kDouble));
  }

  const int feat_t = std::atoi(env_or("DEV_FEAT_T", "1"));
  const std::string feat = env_or("DEV_FEAT", "wrn");
  const experiment::ExperimentOptions experiment_defaults;
  const auto svdd_opt = experiment::deepsvdd_options(experiment_defaults, ds.channels);
  peers::DeepSvdd svdd(ds.channels, 32, svdd_opt);
  if (feat == "svdd") {
    const std::string svdd_cache = "runs/dev/cache/" + std::filesystem::path(model_path).stem().string() + "_svdd" +
                                   std::to_string(svdd_opt.ae_epochs) + "x" + std::to_string(svdd_opt.epochs) + ".pt";
    if (std::ifstream(svdd_cache).good()) {
      svdd.load(svdd_cache);
    } else {
      const auto h = svdd.fit(x_train);
      std::fprintf(stderr, "deep svdd: %.1f + %.1f s\n", h.ae_seconds, h.svdd_seconds);
      svdd.save(svdd_cache);
    }
    report("peer deepsvdd", svdd.score(x_test));
  }
  auto features = [&](const torch::Tensor& x) {
    if (feat == "svdd") return svdd.representation(x);
    std::vector<torch::Tensor> f;
    for (int t = 0; t < feat_t; ++t) f.push_back(tp.features(x, t));
    return torch::cat(f, 1);
  };
  torch::NoGradGuard ng;
  auto image = [&](const torch::Tensor& z) { return net->decode(z); };  // in [0, 1]
  auto feature_set = [&](const torch::Tensor& x) {
    FeatureSet fs;
    const auto mu = det.encode(x).contiguous();
    fs.x = features(x);
    fs.rec = features(image(mu));
    const int64_t n = x.size(0), d = mu.size(1);
    const float* mp = mu.data_ptr<float>();
    for (int code : det.codes()) {
      std::vector<std::vector<float>> vals(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) vals[size_t(i)] = det.morph_values(code, mp[i * d + code]);
      std::vector<torch::Tensor> per_morph;
      for (int j = 0; j < det.options().morphs; ++j) {
        std::vector<float> col(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) col[size_t(i)] = vals[size_t(i)][size_t(j)];
        auto z = mu.clone();
        z.select(1, code).copy_(torch::from_blob(col.data(), {n}, torch::kFloat));
        per_morph.push_back(features(image(z)));
      }
      fs.morph.push_back(torch::stack(per_morph, 1));
    }
    return fs;
  };
  // What the feature space itself separates, without morphs: Mahalanobis distance from the
  // training features (covariance shrunk by 1e-3 of its mean variance), and the mean
  // distance to the k nearest training features after scaling each to unit length.
  {
    const auto f_train = features(x_train), f_test = features(x_test);
    const auto mean = f_train.mean(0).to(torch::kDouble);
    const auto c = f_train.to(torch::kDouble) - mean;
    auto cov = c.t().mm(c) / double(f_train.size(0));
    cov += torch::eye(cov.size(0), torch::kDouble) * (1e-3 * cov.diagonal().mean().item<double>());
    const auto d = f_test.to(torch::kDouble) - mean;
    report("feature density: Mahalanobis", (d.mm(torch::linalg_inv(cov)) * d).sum(1));
    const auto a = torch::nn::functional::normalize(f_test, torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto b = torch::nn::functional::normalize(f_train, torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto dist2 = 2 - 2 * a.mm(b.t());
    for (int k : {1, 5, 20}) report("feature density: mean of " + std::to_string(k) + " nearest (unit length)",
                                    std::get<0>(dist2.topk(k, 1, false)).mean(1));
  }
  const FeatureSet fv = feature_set(x_val), ft = feature_set(x_test);
  std::fprintf(stderr, "features: %lld dims, %zu codes x %d morphs\n", (long long)fv.x.size(1), fv.morph.size(),
               det.options().morphs);

  // Distances between feature rows: "l2" squared Euclidean; "zl2" after dividing each
  // dimension by its sd over the VAL images' own features; "cos" 1 - cosine similarity.
  const auto dim_sd = fv.x.std(0, false) + 1e-6;
  auto dist = [&](const torch::Tensor& a, const torch::Tensor& b, const std::string& how) {
    if (how == "l2") return (a - b).pow(2).sum(-1);
    if (how == "zl2") return ((a - b) / dim_sd).pow(2).sum(-1);
    return 1 - torch::cosine_similarity(a, b, -1);
  };
  // One-sided aggregation as the library's rule does it: each code's value standardised by
  // its VAL mean and sd, then the mean (or the maximum) over codes.
  auto over_codes = [&](const std::vector<torch::Tensor>& v, const std::vector<torch::Tensor>& t, bool max) {
    std::vector<torch::Tensor> z;
    for (size_t k = 0; k < v.size(); ++k) z.push_back((t[k] - v[k].mean()) / (v[k].std() + 1e-12));
    auto s = torch::stack(z, 1);
    return max ? std::get<0>(s.max(1)) : s.mean(1);
  };
  for (const std::string how : {"l2", "zl2", "cos"}) {
    report("feature " + how + ": x vs reconstruction", dist(ft.x, ft.rec, how));
    for (const std::string agg : {"mean", "min", "centroid"}) {
      std::vector<torch::Tensor> v, t;
      for (size_t k = 0; k < fv.morph.size(); ++k) {
        auto per = [&](const FeatureSet& fs) {
          const auto& m = fs.morph[k];
          if (agg == "centroid") return dist(fs.x, m.mean(1), how);
          const auto d = dist(fs.x.unsqueeze(1).expand_as(m), m, how);  // (N, morphs)
          return agg == "mean" ? d.mean(1) : std::get<0>(d.min(1));
        };
        v.push_back(per(fv));
        t.push_back(per(ft));
      }
      report("feature " + how + ": x vs morphs, " + agg + " per code, mean over codes", over_codes(v, t, false));
      report("feature " + how + ": x vs morphs, " + agg + " per code, max over codes", over_codes(v, t, true));
    }
    // The morphs' own spread around their centroid (no x): how much the code moves F.
    std::vector<torch::Tensor> v, t;
    for (size_t k = 0; k < fv.morph.size(); ++k) {
      auto spread = [&](const FeatureSet& fs) {
        const auto& m = fs.morph[k];
        return dist(m, m.mean(1, true).expand_as(m), how).mean(1);
      };
      v.push_back(spread(fv));
      t.push_back(spread(ft));
    }
    report("feature " + how + ": morph spread per code, mean over codes", over_codes(v, t, false));
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}
