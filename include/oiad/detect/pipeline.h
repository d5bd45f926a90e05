// One scoring path for every entry point (score, find, inspect, evaluate, experiment):
// a calibrated detector loaded from a model file, applied to batches of images.
#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "oiad/detect/calibration.h"
#include "oiad/detect/detector.h"
#include "oiad/detect/morph_strip.h"
#include "oiad/model/model_io.h"

namespace oiad::dist {
class Group;
}

namespace oiad::detect {

/// How a model scores images. A Detector-VAE by OIAD's structure consistency (the detector,
/// Sec. III.D); the VAE and DCAE baselines by the reconstruction error of the decoded mean
/// code (model::reconstruction_error, their training loss's L_R), as `oiad experiment`
/// reports them in Table II: one forward pass per image; the DRAEM-type recseg by the highest
/// value of its mean-filtered segmentation map (peers::RecSeg::score), one pass as well.
/// The last two have one score per image and decide by the one-sided rule on it.
enum class Scorer { kStructureConsistency, kReconstruction, kSegmentation };
Scorer scorer_of(model::ModelKind kind);
/// "structure-consistency", "reconstruction", "segmentation": the "scorer" of `oiad model
/// info` and the model card; also the score's name for the last two.
std::string scorer_name(Scorer s);
/// What the one score of a reconstruction or segmentation model is, in words (for messages).
std::string single_score_text(Scorer s);

/// A model with its scorer and (when present) its calibration: for a Detector-VAE the
/// detector and its Calibration, for a VAE, DCAE or recseg the VAL images' scores.
struct CalibratedDetector {
  model::LoadedModel model;
  Scorer scorer = Scorer::kStructureConsistency;
  std::unique_ptr<Detector> detector;        ///< structure-consistency models
  Calibration calibration;                   ///< structure-consistency models
  ReconstructionCalibration reconstruction;  ///< reconstruction and segmentation models
  bool calibrated = false;

  /// Whether the model has one score per image (reconstruction and segmentation scorers).
  bool single_score() const { return scorer != Scorer::kStructureConsistency; }
  /// The decision stored with the calibration (single-score models: one-sided at their f).
  DecisionRule default_decision() const;
  /// Whether scoring can return change maps: the local metric's (detector), the per-pixel
  /// squared error (reconstruction models, always) or the segmentation map (recseg, always).
  bool has_change_maps() const;
  /// The metrics a request may name: those the calibration holds (none for a reconstruction
  /// model, whose one score is its reconstruction error).
  std::vector<Metric> metrics() const;
};

/// What `oiad model info` prints (and the Python module's Model.info): {"model": path,
/// "format_version", "kind", "config", "dataset", "normal_class", "normal_class_name",
/// "protocol", "seed", "preprocessing" (those stored), "precision", "epochs", "final" (the last
/// epoch's losses; a recseg model: "recseg" (its settings), "steps", "train_seconds" and
/// "final" the last logged value of each loss term, no precision), "calibrated", and for a
/// calibrated model "calibration": the scored codes,
/// the settings that chose them, the default decision and the metrics with one-sided scores,
/// and "evaluation" when `oiad evaluate --record` stored one}.
nlohmann::json model_info(const model::LoadedModel& lm, const std::string& path);

/// Rebuilds the detector with or without FastDecoder (same normal range and codes).
void set_fast_decoder(CalibratedDetector& d, bool on);

/// Loads a model file; with `require_calibration`, a model without calibration is an error
/// ("model has no calibration: run `oiad calibrate`").
CalibratedDetector load_detector(const std::string& path, bool require_calibration);

/// Calibrates on VAL images (N, C, S, S) and stores options, normal range, VAL
/// distributions and the default decision in the model file's metadata (the caller saves
/// the file); an evaluation recorded there (`oiad evaluate --record`) and a tiled model's
/// calibration of whole images (meta["tiling"], detect/tiling.h) are dropped, being of the
/// previous calibration. With `val_values`, also returns each VAL image's consistencies.
/// `pass` computes the VAL consistencies (default: Detector::consistency_in_blocks).
/// A reconstruction or segmentation model (VAE, DCAE, recseg) stores its VAL scores instead
/// (ReconstructionCalibration; `options`, `val_values` and `pass` do not apply), and only
/// the one-sided rule: another rule in `decision` is a UsageError.
void calibrate_into(model::LoadedModel& m, const DetectorOptions& options, const torch::Tensor& val_images,
                    const DecisionRule& decision, ConsistencyTable* val_values = nullptr,
                    const Detector::ConsistencyPass& pass = {});

/// A calibration pass over a process group: every rank holds all the images and computes its
/// share (dist::shard in blocks of kCalibrationBlock images), and every rank gets the whole
/// table and maps in image order, as one process with the same thread count computes them.
Detector::ConsistencyPass sharded_consistency_pass(dist::Group& group);

/// A label-free choice of N, the PR-morphs per code (VAL holds normal images only). For each N
/// of `ladder` in turn, two independent morph searches (seeds options.seed and options.seed + 1)
/// score up to `max_images` VAL images (evenly spaced); the N chosen is the first at which,
/// for every metric and every selected code, monte_carlo_ratio (search noise of SC against
/// its spread over the images) is at most `epsilon`. The ladder's last N when none is.
struct MorphsChoice {
  struct Step {
    int morphs = 0;
    double worst_ratio = 0;  ///< max over metrics and codes
    int worst_code = -1;
    Metric worst_metric = Metric::kSsim;
    std::vector<std::vector<double>> ratios;  ///< [metric][k] for code codes[k]
  };
  std::vector<int> codes;  ///< the selected codes judged
  int morphs = 0;
  bool met = false;  ///< some N of the ladder met epsilon
  double epsilon = 0;
  int64_t images = 0;
  std::vector<Step> steps;
  nlohmann::json to_json() const;
};
MorphsChoice choose_morphs(const model::LoadedModel& m, DetectorOptions options, const torch::Tensor& val_images,
                           double epsilon, const std::vector<int>& ladder = {10, 20, 40, 70, 100},
                           int64_t max_images = 256);

/// The detector and calibration stored in a model (the state load_detector gives).
CalibratedDetector calibrated_from(const model::LoadedModel& m, const std::string& name);

/// The decision of a preset for a model of `kind`: preset_decision(preset), except that a
/// reconstruction model decides by the one-sided rule (at the preset's f).
DecisionRule preset_decision_for(Preset preset, model::ModelKind kind);

/// The reconstruction error of the decoded mean code of each image (N, C, S, S), in blocks
/// of `block` images: how reconstruction models score. With `maps`, also the per-pixel
/// squared error of the reconstruction summed over channels, (N, S, S).
std::vector<double> reconstruction_scores(model::DetectorVae net, const torch::Tensor& images,
                                          int64_t block = kCalibrationBlock, torch::Tensor* maps = nullptr);

/// The one score per image of a reconstruction or segmentation model (reconstruction_scores,
/// or peers::RecSeg::score with its segmentation maps), in blocks of `block` images; with
/// `maps`, also their maps (N, S, S). A detector model is an error.
std::vector<double> single_scores(const model::LoadedModel& m, const torch::Tensor& images,
                                  int64_t block = kCalibrationBlock, torch::Tensor* maps = nullptr);

struct ImageScore {
  double score = 0;
  bool anomalous = false;
  /// The conformal p-value of the score against VAL under the decision's rule (NaN when the
  /// calibration predates the VAL scores it needs); set by detect::score.
  double p_value = std::numeric_limits<double>::quiet_NaN();
  /// The selected code whose consistency lies furthest in VAL's tails (-1: reconstruction models).
  int most_extreme_code = -1;
  /// Every metric's consistency, one value per selected code (all metrics come from one pass).
  ImageConsistency consistency;
  const std::vector<double>& of(Metric m) const { return consistency[size_t(m)]; }
};

/// The structure-consistency engine under detect::score, for callers that hold the metric,
/// rule and level themselves (experiment, evaluate, bench); detector models only, every
/// argument explicit. Scores images (N, C, S, S) in blocks of `block` images (kCalibrationBlock
/// gives VAL images their calibration values to the last digit); `progress(done, total)`
/// after each (may be empty); p_value is left NaN. With Rule::kPaper the score is Calibration::score and `level` is α; with Rule::kOneSided
/// the score is Calibration::one_sided_score, with Rule::kRelative Calibration::relative_score
/// (the image's complexity computed here), and `level` is the VAL false-positive rate f.
/// With `change_maps`, also returns the local metric's change maps (N, S, S) from the same
/// pass (Detector::change_maps; the calibration needs the local metric).
std::vector<ImageScore> score_images(const CalibratedDetector& d, const torch::Tensor& images, Metric metric,
                                     double level, int64_t block, const std::function<void(int64_t, int64_t)>& progress,
                                     Rule rule, torch::Tensor* change_maps = nullptr);

/// A scoring request, the same on every surface (the CLI, the Python module, the service).
struct ScoreOptions {
  /// The structure-consistency metric of a detector model (unset: kDefaultMetric). A reconstruction
  /// model has one score, its reconstruction error: a metric given for it is refused.
  std::optional<Metric> metric;
  /// The decision: each part left unset keeps the model's stored default decision.
  DecisionOverrides decision;
  /// Also return change maps (CalibratedDetector::has_change_maps).
  bool change_maps = false;
  /// Images per block: a score does not depend on it (kCalibrationBlock: a VAL image gets its
  /// calibration values to the last digit).
  int64_t block = kCalibrationBlock;
  /// Called with (images done, total) after each block.
  std::function<void(int64_t, int64_t)> progress;
};

/// A request checked against a model: the metric and decision it resolves to.
struct ScoringPlan {
  Scorer scorer = Scorer::kStructureConsistency;
  Metric metric = kDefaultMetric;  ///< detector models
  /// What the scores are: the metric's name, or "reconstruction".
  std::string score_name;
  DecisionRule decision;
  /// α (paper rule) or f (one-sided and relative rules).
  double level = 0;
  /// Anomalous ⇔ score > threshold.
  double threshold = 0;
};

/// The plan of `o` for the calibrated model `d`: a UsageError, starting with `what` and naming
/// options with `prefix` ("--" for the CLI), when the model cannot serve it (a metric its
/// calibration lacks, a metric or the paper rule for a reconstruction model, a level out of
/// range, change maps without the local metric).
ScoringPlan plan_scoring(const CalibratedDetector& d, const ScoreOptions& o, const std::string& what = "score",
                         const std::string& prefix = "");

struct ScoreResult {
  ScoringPlan plan;
  std::vector<ImageScore> images;
  torch::Tensor change_maps;  ///< (N, S, S) on the network input, when asked for
};

/// Scores images (N, C, S, S) as `o` asks, by the model's own scorer: what `oiad score`,
/// the Python module and the service do.
ScoreResult score(const CalibratedDetector& d, const torch::Tensor& images, const ScoreOptions& o = {});

/// Fig. 2 for one image x (1, C, S, S): `morphs_shown` of its PR-morphs (spread over the
/// perturbed values) along each of the `codes_shown` codes whose SC lies furthest in the tails
/// of VAL (report::write_morph_strip draws it).
MorphStrip morph_strip(const CalibratedDetector& d, const torch::Tensor& x, Metric metric, double alpha,
                       int codes_shown, int morphs_shown);

}  // namespace oiad::detect
