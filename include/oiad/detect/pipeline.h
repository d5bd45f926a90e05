// One scoring path for every entry point (score, find, inspect, evaluate, experiment):
// a calibrated detector loaded from a model file, applied to batches of images.
#pragma once

#include <functional>
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

/// A model with its detector and (when present) its calibration.
struct CalibratedDetector {
  model::LoadedModel model;
  std::unique_ptr<Detector> detector;
  Calibration calibration;
  bool calibrated = false;
};

/// What `oiad model info` prints (and the Python module's Model.info): {"model": path,
/// "format_version", "kind", "config", "dataset", "normal_class", "normal_class_name",
/// "protocol", "seed", "preprocessing" (those stored), "precision", "epochs", "final" (the last
/// epoch's losses), "calibrated", and for a calibrated model "calibration": the scored codes,
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
/// the file); an evaluation recorded there (`oiad evaluate --record`) is dropped, being of
/// the previous calibration. With `val_values`, also returns each VAL image's consistencies.
/// `pass` computes the VAL consistencies (default: Detector::consistency_in_blocks).
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

struct ImageScore {
  double score = 0;
  bool anomalous = false;
  int most_extreme_code = -1;
  /// Every metric's consistency, one value per selected code (all metrics come from one pass).
  ImageConsistency consistency;
  const std::vector<double>& of(Metric m) const { return consistency[size_t(m)]; }
};

/// Scores images (N, C, S, S) in blocks of `block` images; `progress(done, total)` after each.
/// With Rule::kPaper the score is Calibration::score and `level` is α; with Rule::kOneSided
/// the score is Calibration::one_sided_score, with Rule::kRelative Calibration::relative_score
/// (the image's complexity computed here), and `level` is the VAL false-positive rate f.
/// With `change_maps`, also returns the local metric's change maps (N, S, S) from the same
/// pass (Detector::change_maps; the calibration needs the local metric).
std::vector<ImageScore> score_images(const CalibratedDetector& d, const torch::Tensor& images, Metric metric,
                                     double level, int64_t block = 64,
                                     const std::function<void(int64_t, int64_t)>& progress = {},
                                     Rule rule = Rule::kPaper, torch::Tensor* change_maps = nullptr);

/// The same with the calibration's default decision (its rule and level): what `oiad score`
/// does without --rule, --alpha or --fpr.
std::vector<ImageScore> score_images(const CalibratedDetector& d, const torch::Tensor& images,
                                     Metric metric = Metric::kSsim);

/// Fig. 2 for one image x (1, C, S, S): `morphs_shown` of its PR-morphs (spread over the
/// perturbed values) along each of the `codes_shown` codes whose SC lies furthest in the tails
/// of VAL (report::write_morph_strip draws it).
MorphStrip morph_strip(const CalibratedDetector& d, const torch::Tensor& x, Metric metric, double alpha,
                       int codes_shown, int morphs_shown);

}  // namespace oiad::detect
