#include "oiad/detect/pipeline.h"

#include "oiad/dist/group.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "oiad/core/error.h"
#include "oiad/detect/complexity.h"
#include "oiad/model/preprocess.h"
#include "oiad/model/segmenter.h"

namespace oiad::detect {

nlohmann::json model_info(const model::LoadedModel& lm, const std::string& path) {
  const auto& meta = lm.file.meta;
  nlohmann::json j;
  j["model"] = path;
  j["format_version"] = meta.value("format_version", 0);
  const model::ModelConfig cfg = lm.config();
  j["kind"] = model::kind_name(cfg.kind);
  const Scorer scorer = scorer_of(cfg.kind);
  j["scorer"] = scorer_name(scorer);
  j["config"] = cfg.to_json();
  for (const char* k : {"dataset", "normal_class", "normal_class_name", "protocol", "seed", "preprocessing", "recseg"})
    if (meta.contains(k)) j[k] = meta[k];
  if (lm.net) {
    auto prec = lm.net->precision().detach().contiguous();
    j["precision"] = std::vector<float>(prec.data_ptr<float>(), prec.data_ptr<float>() + prec.numel());
  }
  if (meta.contains("training") && cfg.kind == model::ModelKind::kRecSeg) {
    // recseg: steps, and the last logged value of each loss term.
    const auto& t = meta["training"];
    j["steps"] = t.value("steps", 0);
    j["train_seconds"] = t.value("seconds", 0.0);
    nlohmann::json fin = nlohmann::json::object();
    if (t.contains("history") && t["history"].is_object())
      for (const auto& [term, v] : t["history"].items())
        if (v.is_array() && !v.empty()) fin[term] = v.back();
    j["final"] = fin;
  } else if (meta.contains("training")) {
    const auto& t = meta["training"];
    j["epochs"] = t.value("epochs_done", 0);
    if (t.contains("history") && !t["history"].empty()) j["final"] = t["history"].back();
  }
  j["calibrated"] = meta.contains("calibration");
  if (j["calibrated"] && scorer != Scorer::kStructureConsistency) {
    const auto& c = meta["calibration"];
    j["calibration"] = {{"scorer", c.value("scorer", "")}, {"rule", c.value("rule", "")}, {"fpr", c.value("fpr", 0.0)},
                        {"n_val", c.value("n_val", 0)}};
  } else if (j["calibrated"]) {
    // The scored codes and the settings that chose them (not the VAL distributions).
    const auto& c = meta["calibration"];
    nlohmann::json s = nlohmann::json::object();
    for (const char* k : {"codes", "merged_codes", "code_weights", "morphs_choice", "n_val", "detector"})
      if (c.contains(k)) s[k] = c[k];
    // The default decision as scoring reads it (older calibrations get it filled in).
    const Calibration cal = Calibration::from_json(c);
    s["rule"] = rule_name(cal.rule);
    s["alpha"] = cal.alpha;
    s["fpr"] = cal.fpr;
    // Metrics whose VAL one-sided scores are stored (the one-sided rule needs them).
    nlohmann::json one = nlohmann::json::array();
    if (c.contains("val_one_sided"))
      for (const auto& [metric, v] : c["val_one_sided"].items())
        if (!v.empty()) one.push_back(metric);
    s["one_sided_metrics"] = one;
    j["calibration"] = s;
  }
  if (meta.contains("evaluation")) j["evaluation"] = meta["evaluation"];
  return j;
}

Scorer scorer_of(model::ModelKind kind) {
  switch (kind) {
    case model::ModelKind::kDetectorVae: return Scorer::kStructureConsistency;
    case model::ModelKind::kRecSeg: return Scorer::kSegmentation;
    default: return Scorer::kReconstruction;
  }
}

std::string scorer_name(Scorer s) {
  switch (s) {
    case Scorer::kStructureConsistency: return "structure-consistency";
    case Scorer::kSegmentation: return "segmentation";
    default: return "reconstruction";
  }
}

std::string single_score_text(Scorer s) {
  return s == Scorer::kSegmentation ? "the highest value of its mean-filtered segmentation map"
                                    : "its reconstruction error";
}

DecisionRule CalibratedDetector::default_decision() const {
  if (single_score()) return {Rule::kOneSided, calibration.alpha, reconstruction.fpr};
  return calibration.default_decision();
}

bool CalibratedDetector::has_change_maps() const {
  return single_score() || calibration.has_metric(Metric::kLocal);
}

std::vector<Metric> CalibratedDetector::metrics() const {
  std::vector<Metric> out;
  if (scorer == Scorer::kStructureConsistency)
    for (int m = 0; m < kNumMetrics; ++m)
      if (calibration.has_metric(Metric(m))) out.push_back(Metric(m));
  return out;
}

DecisionRule preset_decision_for(Preset preset, model::ModelKind kind) {
  DecisionRule r = preset_decision(preset);
  if (scorer_of(kind) != Scorer::kStructureConsistency) r.rule = Rule::kOneSided;
  return r;
}

std::vector<double> reconstruction_scores(model::DetectorVae net, const torch::Tensor& images, int64_t block,
                                          torch::Tensor* maps) {
  OIAD_CHECK(block >= 1, "reconstruction scores: block ", block, " < 1");
  torch::NoGradGuard ng;
  const auto& cfg = net->config;
  // Scoring runs in eval mode; it is set (and restored) only when the network is training, so
  // that concurrent scorers of a loaded model never write to the module.
  const bool was_training = net->is_training();
  if (was_training) net->eval();
  std::vector<double> scores;
  scores.reserve(size_t(images.size(0)));
  std::vector<torch::Tensor> parts;
  for (int64_t a = 0; a < images.size(0); a += block) {
    const torch::Tensor xb = images.slice(0, a, std::min(images.size(0), a + block));
    const torch::Tensor logits = net->decoder->forward(net->encoder->forward(xb).first);
    const torch::Tensor err = model::reconstruction_error(logits, xb, cfg.reconstruction).to(torch::kDouble).contiguous();
    scores.insert(scores.end(), err.data_ptr<double>(), err.data_ptr<double>() + err.size(0));
    if (maps) parts.push_back((xb - model::output_to_image(logits, cfg.reconstruction)).pow(2).sum(1));
  }
  if (was_training) net->train();
  if (maps) *maps = parts.empty() ? torch::zeros({0, images.size(-2), images.size(-1)}) : torch::cat(parts);
  return scores;
}

std::vector<double> single_scores(const model::LoadedModel& m, const torch::Tensor& images, int64_t block,
                                  torch::Tensor* maps) {
  if (!m.segmenter) {
    OIAD_CHECK(m.net && scorer_of(m.net->config.kind) == Scorer::kReconstruction,
               "single_scores: a detector model scores by structure consistency");
    return reconstruction_scores(m.net, images, block, maps);
  }
  OIAD_CHECK(block >= 1, "segmentation scores: block ", block, " < 1");
  std::vector<double> scores;
  scores.reserve(size_t(images.size(0)));
  std::vector<torch::Tensor> parts;
  for (int64_t a = 0; a < images.size(0); a += block) {
    torch::Tensor part;
    const torch::Tensor s =
        m.segmenter->score(images.slice(0, a, std::min(images.size(0), a + block)), maps ? &part : nullptr).contiguous();
    scores.insert(scores.end(), s.data_ptr<double>(), s.data_ptr<double>() + s.size(0));
    if (maps) parts.push_back(part);
  }
  if (maps) *maps = parts.empty() ? torch::zeros({0, images.size(-2), images.size(-1)}) : torch::cat(parts);
  return scores;
}

CalibratedDetector calibrated_from(const model::LoadedModel& m, const std::string& name) {
  CalibratedDetector d;
  d.model = m;
  const model::ModelKind kind = m.config().kind;
  d.scorer = scorer_of(kind);
  const auto& meta = d.model.file.meta;
  OIAD_CHECK(meta.contains("calibration"), name, ": model has no calibration (run `oiad calibrate --model ", name,
             "`)");
  if (d.single_score()) {
    const auto& c = meta["calibration"];
    // Files written before reconstruction models had their own scorer hold a structure-
    // consistency calibration of the autoencoder's codes.
    OIAD_CHECK(c.is_object() && c.value("scorer", "") == scorer_name(d.scorer), name, ": a ", model::kind_name(kind),
               " model scores by ", single_score_text(d.scorer),
               ", and its calibration is not of that kind (run `oiad calibrate --model ", name, "`)");
    try {
      d.reconstruction = ReconstructionCalibration::from_json(c);
    } catch (...) {
      rethrow_with_context(name + ": reading calibration");
    }
    d.calibrated = true;
    return d;
  }
  try {
    StoredCalibration s = parse_stored_calibration(meta["calibration"], d.model.config().latent_dim);
    d.detector = std::make_unique<Detector>(d.model.net, s.options);
    d.calibration = std::move(s.calibration);
    const NormalRange& range = s.range;
    d.detector->set_normal_range(range, d.calibration.codes);
    d.detector->set_local_standard(std::move(s.local));
    d.calibrated = true;
  } catch (...) {
    rethrow_with_context(name + ": reading calibration");
  }
  return d;
}

void set_fast_decoder(CalibratedDetector& d, bool on) {
  OIAD_CHECK(d.calibrated, "set_fast_decoder: the model has no calibration");
  if (d.single_score()) return;  // one forward pass through LibTorch's modules
  DetectorOptions o = d.detector->options();
  o.fast_decoder = on;
  auto det = std::make_unique<Detector>(d.model.net, o);
  det->set_normal_range(d.detector->normal_range(), d.detector->codes());
  det->set_local_standard(d.detector->local_standard());
  d.detector = std::move(det);
}

CalibratedDetector load_detector(const std::string& path, bool require_calibration) {
  model::LoadedModel m = model::load_model(path);
  if (!m.file.meta.contains("calibration") && !require_calibration) {
    CalibratedDetector d;
    d.model = std::move(m);
    return d;
  }
  return calibrated_from(m, path);
}

void calibrate_into(model::LoadedModel& m, const DetectorOptions& options, const torch::Tensor& val_images,
                    const DecisionRule& decision, ConsistencyTable* val_values, const Detector::ConsistencyPass& pass) {
  check_fpr(decision.fpr);
  const model::ModelKind kind = m.config().kind;
  if (scorer_of(kind) != Scorer::kStructureConsistency) {
    OIAD_CHECK_USAGE(decision.rule == Rule::kOneSided, "calibrate: a ", model::kind_name(kind),
                     " model decides by the one-sided rule on ", single_score_text(scorer_of(kind)), ", not the ",
                     rule_name(decision.rule), " rule");
    OIAD_CHECK(val_images.size(0) >= 1, "calibrate: no VAL images");
    ReconstructionCalibration c;
    c.scorer = scorer_name(scorer_of(kind));
    c.fpr = decision.fpr;
    c.val_sorted = single_scores(m, val_images);
    std::sort(c.val_sorted.begin(), c.val_sorted.end());
    m.file.meta["calibration"] = c.to_json();
    m.file.meta.erase("evaluation");
    m.file.meta.erase("tiling");  // whole images were calibrated on the previous tile scores
    return;
  }
  Detector det(m.net, options);
  Calibration c = det.calibrate(val_images, decision.alpha, val_values, pass);
  c.rule = decision.rule;
  c.fpr = decision.fpr;
  nlohmann::json j = c.to_json();
  j["detector"] = options.to_json();
  j["normal_range"] = det.normal_range().to_json();
  j["local_standard"] = det.local_standard().to_json();
  if (options.duplicate_tolerance > 0) {
    // For the record: which codes each scored code stands for (not read back).
    nlohmann::json merged = nlohmann::json::object();
    for (size_t k = 0; k < det.codes().size(); ++k)
      merged[std::to_string(det.codes()[k])] = det.merged_codes()[k];
    j["merged_codes"] = merged;
  }
  m.file.meta["calibration"] = j;
  // An evaluation recorded by `oiad evaluate --record`, and a tiled model's calibration of
  // whole images (detect/tiling.h), were of the previous calibration.
  m.file.meta.erase("evaluation");
  m.file.meta.erase("tiling");
}

Detector::ConsistencyPass sharded_consistency_pass(dist::Group& group) {
  return [&group](const Detector& det, const torch::Tensor& images, std::vector<float>* maps) {
    const int64_t n = images.size(0), world = group.size();
    const size_t k = det.codes().size();
    const size_t side = size_t(local_map_side(int(images.size(-1))));
    const size_t cells = side * side;
    const auto [begin, end] = dist::shard(n, group.rank(), int(world), kCalibrationBlock);
    std::vector<float> part_maps;
    const ConsistencyTable part = det.consistency_in_blocks(images.slice(0, begin, end), &part_maps);
    // Per image: every metric's values per code, then the maps of its codes.
    std::vector<double> mine;
    mine.reserve(size_t(end - begin) * (size_t(kNumMetrics) * k + k * cells));
    for (int64_t i = 0; i < end - begin; ++i) {
      for (int mm = 0; mm < kNumMetrics; ++mm)
        for (size_t c = 0; c < k; ++c) mine.push_back(part.at(size_t(i), Metric(mm), c));
      const float* p = part_maps.data() + size_t(i) * k * cells;
      mine.insert(mine.end(), p, p + k * cells);
    }
    const auto all = group.all_gather(mine);
    ConsistencyTable table(size_t(n), k);
    if (maps) maps->assign(size_t(n) * k * cells, 0.f);
    size_t image = 0;
    for (const auto& values : all) {
      const size_t per = size_t(kNumMetrics) * k + k * cells;
      OIAD_CHECK(values.size() % per == 0, "calibration: a rank sent ", values.size(), " values, not a multiple of ",
                 per);
      for (size_t at = 0; at < values.size(); at += per, ++image) {
        OIAD_CHECK(image < size_t(n), "calibration: the ranks sent more than ", n, " images");
        for (int mm = 0; mm < kNumMetrics; ++mm)
          for (size_t c = 0; c < k; ++c) table.at(image, Metric(mm), c) = values[at + size_t(mm) * k + c];
        if (maps)
          std::copy(values.begin() + ptrdiff_t(at + size_t(kNumMetrics) * k), values.begin() + ptrdiff_t(at + per),
                    maps->begin() + ptrdiff_t(image * k * cells));
      }
    }
    OIAD_CHECK(image == size_t(n), "calibration: the ranks sent ", image, " of ", n, " images");
    return table;
  };
}

nlohmann::json MorphsChoice::to_json() const {
  // JSON has no infinity: a noise-only code's ratio is recorded as null.
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json st = nlohmann::json::array();
  for (const auto& x : steps) {
    nlohmann::json j = {{"morphs", x.morphs}, {"worst_code", x.worst_code}, {"worst_metric", metric_name(x.worst_metric)}};
    j["worst_ratio"] = number(x.worst_ratio);
    nlohmann::json r = nlohmann::json::object();
    for (size_t m = 0; m < x.ratios.size(); ++m) {
      nlohmann::json v = nlohmann::json::array();
      for (double q : x.ratios[m]) v.push_back(number(q));
      r[metric_name(Metric(m))] = v;
    }
    j["ratios"] = r;
    st.push_back(j);
  }
  return {{"rule", "monte_carlo_ratio"}, {"epsilon", epsilon}, {"images", images}, {"met", met},
          {"morphs", morphs}, {"codes", codes}, {"steps", st}};
}

MorphsChoice choose_morphs(const model::LoadedModel& m, DetectorOptions options, const torch::Tensor& val_images,
                           double epsilon, const std::vector<int>& ladder, int64_t max_images) {
  OIAD_CHECK_USAGE(epsilon > 0, "choosing N: epsilon must be > 0, got ", epsilon);
  OIAD_CHECK_USAGE(!ladder.empty(), "choosing N: empty ladder");
  OIAD_CHECK(max_images >= 2, "choosing N: need at least 2 images");
  MorphsChoice c;
  c.epsilon = epsilon;
  options.duplicate_tolerance = 0;  // judge every selected code
  Detector ranges(m.net, options);
  ranges.fit_normal_range(val_images);
  const int64_t n = val_images.size(0), k = std::min(n, max_images);
  std::vector<int64_t> idx(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) idx[size_t(i)] = i * n / k;
  const torch::Tensor sub = val_images.index_select(0, torch::tensor(idx, torch::kLong));
  c.images = k;
  c.codes = ranges.codes();
  for (int morphs : ladder) {
    OIAD_CHECK_USAGE(morphs >= 1, "choosing N: ladder value ", morphs, " < 1");
    ConsistencyTable sc[2];
    for (int r = 0; r < 2; ++r) {
      DetectorOptions o = options;
      o.morphs = morphs;
      o.seed = options.seed + uint64_t(r);
      Detector det(m.net, o);
      det.set_normal_range(ranges.normal_range(), ranges.codes());
      sc[r] = det.structure_consistency(sub);
    }
    MorphsChoice::Step step;
    step.morphs = morphs;
    step.ratios.assign(kNumMetrics, std::vector<double>(ranges.codes().size()));
    for (int mi = 0; mi < kNumMetrics; ++mi)
      for (size_t code = 0; code < ranges.codes().size(); ++code) {
        std::vector<double> a, b;
        for (int64_t i = 0; i < k; ++i) {
          a.push_back(sc[0].at(size_t(i), Metric(mi), code));
          b.push_back(sc[1].at(size_t(i), Metric(mi), code));
        }
        const double ratio = monte_carlo_ratio(a, b);
        step.ratios[size_t(mi)][code] = ratio;
        if (step.worst_code < 0 || ratio > step.worst_ratio)
          step.worst_ratio = ratio, step.worst_code = ranges.codes()[code], step.worst_metric = Metric(mi);
      }
    c.steps.push_back(step);
    c.morphs = morphs;
    if (step.worst_ratio <= epsilon) {
      c.met = true;
      break;
    }
  }
  return c;
}

std::vector<ImageScore> score_images(const CalibratedDetector& d, const torch::Tensor& images, Metric metric,
                                     double level, int64_t block,
                                     const std::function<void(int64_t, int64_t)>& progress, Rule rule,
                                     torch::Tensor* change_maps) {
  OIAD_CHECK(d.calibrated, "scoring needs a calibrated model");
  OIAD_CHECK(d.scorer == Scorer::kStructureConsistency, "score_images: a reconstruction model scores by detect::score");
  OIAD_CHECK(d.calibration.has_metric(metric), "the calibration has no ", metric_name(metric), " values");
  const bool paper = rule == Rule::kPaper, relative = rule == Rule::kRelative;
  if (paper)
    check_alpha(level);
  else
    check_fpr(level);
  const double threshold = paper ? 0.0 : d.calibration.threshold(metric, rule, level);
  const OneSidedScorer one_sided_score = paper ? OneSidedScorer{} : d.calibration.one_sided_scorer(metric);
  const double sigma = relative ? d.calibration.relative[size_t(metric)].sigma : 0.0;
  const int64_t n = images.size(0);
  if (change_maps)
    OIAD_CHECK(d.calibration.has_metric(Metric::kLocal), "change maps need a calibration with local values");
  std::vector<ImageScore> out;
  out.reserve(size_t(n));
  std::vector<torch::Tensor> maps;
  std::vector<float> local;
  for (int64_t a = 0; a < n; a += block) {
    const int64_t b = std::min(n, a + block);
    const torch::Tensor block_images = images.slice(0, a, b);
    const ConsistencyTable sc = d.detector->structure_consistency(block_images, change_maps ? &local : nullptr);
    if (change_maps) maps.push_back(d.detector->change_maps(local, b - a));
    const torch::Tensor cx = relative ? complexity(block_images, metric, sigma).contiguous() : torch::Tensor();
    for (size_t i = 0; i < sc.images(); ++i) {
      ImageScore s;
      for (int m = 0; m < kNumMetrics; ++m) s.consistency[size_t(m)] = sc.of(i, Metric(m));
      const auto& x = s.of(metric);
      if (!paper) {
        s.score = one_sided_score(x);
        if (relative) s.score -= d.calibration.relative[size_t(metric)].predict(cx.data_ptr<double>()[i]);
        s.anomalous = s.score > threshold;
      } else {
        s.score = d.calibration.score(metric, x);
        s.anomalous = d.calibration.anomalous(metric, x, level);
      }
      s.most_extreme_code = d.calibration.most_extreme_code(metric, x);
      out.push_back(std::move(s));
    }
    if (progress) progress(b, n);
  }
  if (change_maps) {
    const int64_t S = images.size(-1);
    *change_maps = maps.empty() ? torch::zeros({0, S, S}) : torch::cat(maps);
  }
  return out;
}

ScoringPlan plan_scoring(const CalibratedDetector& d, const ScoreOptions& o, const std::string& what,
                         const std::string& prefix) {
  OIAD_CHECK(d.calibrated, what, ": the model has no calibration (run `oiad calibrate`)");
  ScoringPlan p;
  p.scorer = d.scorer;
  p.decision = apply_overrides(d.default_decision(), o.decision, what, prefix);
  p.level = p.decision.rule == Rule::kPaper ? p.decision.alpha : p.decision.fpr;
  const std::string kind = model::kind_name(d.model.config().kind);
  if (d.single_score()) {
    const std::string text = single_score_text(d.scorer);
    OIAD_CHECK_USAGE(!o.metric, what, ": a ", kind, " model has one score, ", text, "; ", prefix,
                     "metric applies to detector models");
    OIAD_CHECK_USAGE(p.decision.rule == Rule::kOneSided, what, ": a ", kind, " model decides by the one-sided rule on ",
                     text, " (", prefix, "fpr), not the ", rule_name(p.decision.rule), " rule");
    p.score_name = scorer_name(d.scorer);
    p.threshold = d.reconstruction.threshold(p.level);
    return p;
  }
  p.metric = o.metric ? *o.metric : kDefaultMetric;
  p.score_name = metric_name(p.metric);
  OIAD_CHECK_USAGE(d.calibration.has_metric(p.metric), what, ": the calibration has no ", p.score_name, " values");
  OIAD_CHECK_USAGE(!o.change_maps || d.has_change_maps(), what,
                   ": no change maps (the calibration has no local values: run `oiad calibrate`)");
  p.threshold = d.calibration.threshold(p.metric, p.decision.rule, p.level);
  return p;
}

ScoreResult score(const CalibratedDetector& d, const torch::Tensor& images, const ScoreOptions& o) {
  ScoreResult r;
  r.plan = plan_scoring(d, o);
  const ScoringPlan& p = r.plan;
  if (d.single_score()) {
    const int64_t n = images.size(0);
    std::vector<torch::Tensor> maps;
    for (int64_t a = 0; a < n; a += o.block) {
      const int64_t b = std::min(n, a + o.block);
      torch::Tensor m;
      for (double e : single_scores(d.model, images.slice(0, a, b), o.block, o.change_maps ? &m : nullptr)) {
        ImageScore s;
        s.score = e;
        s.anomalous = e > p.threshold;
        s.p_value = d.reconstruction.p_value(e);
        r.images.push_back(std::move(s));
      }
      if (o.change_maps) maps.push_back(m);
      if (o.progress) o.progress(b, n);
    }
    if (o.change_maps)
      r.change_maps = maps.empty() ? torch::zeros({0, images.size(-2), images.size(-1)}) : torch::cat(maps);
    return r;
  }
  r.images = score_images(d, images, p.metric, p.level, o.block, o.progress, p.decision.rule,
                          o.change_maps ? &r.change_maps : nullptr);
  for (auto& s : r.images) s.p_value = d.calibration.p_value(p.metric, p.decision.rule, s.score);
  return r;
}

nlohmann::json MorphStrip::to_json() const {
  nlohmann::json codes = nlohmann::json::array();
  for (const auto& r : rows)
    codes.push_back({{"code", r.code},
                     {"consistency", r.consistency},
                     {"interval", {r.interval.first, r.interval.second}},
                     {"inside", r.inside}});
  return {{"score", score}, {"anomalous", anomalous}, {"alpha", alpha}, {"metric", metric_name(metric)},
          {"codes", codes}};
}

MorphStrip morph_strip(const CalibratedDetector& d, const torch::Tensor& x, Metric metric, double alpha,
                       int codes_shown, int morphs_shown) {
  OIAD_CHECK(x.dim() == 4 && x.size(0) == 1, "morph strip: a morph strip shows one image");
  OIAD_CHECK_USAGE(d.scorer == Scorer::kStructureConsistency, "morph strip: a ",
                   model::kind_name(d.model.config().kind), " model scores by ", single_score_text(d.scorer),
                   "; PR-morphs are the detector's");
  const ImageScore sc = score_images(d, x, metric, alpha, kCalibrationBlock, {}, Rule::kPaper)[0];
  const auto& values = sc.of(metric);
  const auto& dist = d.calibration.distributions[size_t(metric)];
  // Codes ranked by how far the image's SC lies in the tails of VAL.
  std::vector<size_t> rank(values.size());
  for (size_t k = 0; k < rank.size(); ++k) rank[k] = k;
  auto key = [&](size_t k) { return dist[k].outside_distance(values[k]) + 0.5 - dist[k].tail(values[k]); };
  std::stable_sort(rank.begin(), rank.end(), [&](size_t a, size_t b) { return key(a) > key(b); });
  rank.resize(std::min<size_t>(rank.size(), size_t(std::max(1, codes_shown))));
  MorphStrip strip;
  strip.channels = d.model.config().channels;
  strip.size = d.model.config().input_size;
  strip.input = model::input_to_bytes(x[0]);
  strip.metric = metric;
  strip.alpha = alpha;
  strip.score = sc.score;
  strip.anomalous = sc.anomalous;
  const auto th = d.calibration.thresholds(metric, alpha);
  const auto mu = d.detector->encode(x);
  for (size_t k : rank) {
    MorphStrip::Row row;
    row.code = d.calibration.codes[k];
    row.consistency = values[k];
    row.interval = th[k];
    row.inside = values[k] >= th[k].first && values[k] <= th[k].second;
    const auto morphs = d.detector->pr_morphs(x[0], row.code);
    // A few morphs spread over the sorted perturbed values.
    const auto zvals = d.detector->morph_values(row.code, mu[0][row.code].item<float>());
    std::vector<size_t> order(zvals.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return zvals[a] < zvals[b]; });
    const int shown = std::max(1, std::min<int>(morphs_shown, int(order.size())));
    for (int t = 0; t < shown; ++t) {
      const size_t i = order[size_t(t) * (order.size() - 1) / size_t(std::max(1, shown - 1))];
      row.morphs.push_back(model::input_to_bytes(morphs[int64_t(i)]));
      row.values.push_back(zvals[i]);
    }
    strip.rows.push_back(std::move(row));
  }
  return strip;
}

}  // namespace oiad::detect
