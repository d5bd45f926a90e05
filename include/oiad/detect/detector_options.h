// What a calibrated detector stores besides its network: the morph-search options, each
// code's normal range, and the parsing of a model file's calibration (plain C++, no LibTorch,
// so that the model file's metadata can be checked and fuzzed on its own).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oiad/core/option_spec.h"
#include "oiad/detect/calibration.h"
#include "oiad/model/config.h"

namespace oiad::detect {

/// Where the morph search draws its perturbations (DetectorOptions::placement); the order of
/// placement_names().
enum class Placement { kRandom, kQuasi };
/// Which codes are scored (DetectorOptions::code_selection); the order of code_selection_names().
enum class CodeSelection { kAll, kPrecision, kSpread };
/// A named set of detector options (preset_options): `default` and `paper` (preset_names(), the
/// values of every --preset option); `custom` marks options changed from a preset's.
enum class Preset { kDefault, kPaper, kCustom };

/// "random", "quasi".
const std::vector<std::string>& placement_names();
std::string placement_name(Placement p);
Placement parse_placement(const std::string& s);  ///< UsageError for another name
/// "all", "precision", "spread".
const std::vector<std::string>& code_selection_names();
std::string code_selection_name(CodeSelection c);
CodeSelection parse_code_selection(const std::string& s);  ///< UsageError for another name
/// "default", "paper": the presets a user may ask for (not "custom").
const std::vector<std::string>& preset_names();
/// "default", "paper" or "custom".
std::string preset_name(Preset p);
/// One of preset_names() (UsageError for another, "custom" included).
Preset parse_preset(const std::string& s);

struct DetectorOptions {
  /// N: PR-morphs per code (paper: 100, Sec. IV.B).
  int morphs = 100;
  /// B: perturbations drawn per search round (0: B = max(1, N / 10)). B well below N makes
  /// the radius grow over several rounds, so the kept morphs spread over the code's normal
  /// range. (With B = N and Δr = 0.05 every draw of the first round was kept: the morphs
  /// were within 5% of the range of the code's value, decoded to images indistinguishable
  /// from the reconstruction, and every code's SC equalled the reconstruction error to 1e-7.)
  int draws_per_round = 0;
  /// Δr as a fraction of the code's normal range width: round t draws Δz ~ U[-tΔr, tΔr].
  double radius_step = 0.1;
  /// Rounds before the documented fallback: the missing morphs are drawn uniformly in the
  /// normal range itself (the code's value was more than max_rounds·Δr outside it).
  int max_rounds = 40;
  /// Normal range of a code: the [q, 1-q] fractiles of the encoder means on VAL.
  double range_quantile = 0.01;
  /// Number of codes to use (0: all), chosen by `code_selection`.
  int top_k = 0;
  /// All codes, or top_k by precision (largest learned β_j first) or by spread (widest VAL
  /// range first).
  CodeSelection code_selection = CodeSelection::kAll;
  /// > 0: after calibration, drop codes whose VAL consistencies duplicate a kept code's
  /// within this fraction of its VAL spread, every metric (detect::distinct_codes); 0: keep
  /// all. Collapsed codes are such duplicates (on a 30-epoch MNIST-7 model, 17 of 20 codes
  /// stayed within 0.02 sd of the median code's SC on every VAL image, while the 3 active
  /// ones came 1.7-6.7 sd away).
  double duplicate_tolerance = 0;
  /// Where the search draws its perturbations inside each round's [-tΔr, tΔr]: random
  /// (independent uniform draws: the paper's natural search) or quasi (the golden-ratio
  /// sequence u_j = frac(u_0 + j·0.618...) from a seeded random start u_0: the same search,
  /// with draws that fill the interval evenly, to lower the search noise of SC at a given N).
  Placement placement = Placement::kRandom;
  /// Seed of the morph search; every image uses the same stream per code, so an image's
  /// score does not depend on which other images are scored with it.
  uint64_t seed = 0;
  /// Morphs decoded per call: bounds peak memory; a runtime setting, not stored with the
  /// calibration (it does not change results). Measured on MNIST-size models: 256 or 128
  /// morphs per call make activation buffers larger than glibc's largest mmap threshold
  /// (32 MB), and the page faults of mapping them anew cost 40% of the time; 64 and 32 run
  /// at the same speed without them (docs/performance-history.md).
  int decode_batch = 64;
  /// Decode with FastDecoder (transposed convolutions as per-phase matrix products) instead
  /// of LibTorch's modules; equal to 1e-5 (tested). A runtime setting, not stored.
  bool fast_decoder = true;
  /// The preset these options came from (kCustom once changed from it).
  Preset preset = Preset::kCustom;

  nlohmann::json to_json() const;
  static DetectorOptions from_json(const nlohmann::json& j);
};

/// The declarations of the calibration's flags (core/option_spec.h); unset, each takes the
/// preset's value. A model file's stored options are held to the same ranges.
namespace spec {
inline constexpr NumberSpec kMorphs{"morphs", "N, PR-morphs per code", 1, 10000};
inline constexpr NumberSpec kRadiusStep{"radius-step",
                                        "Δr of the morph search as a share of the code's normal range: round t draws "
                                        "within ±t·Δr of the code's value",
                                        1e-3, 10, false, false};
inline constexpr NumberSpec kDuplicateTolerance{"duplicate-tolerance",
                                                "score codes whose VAL consistencies duplicate another's (within this "
                                                "many VAL sd) once; 0 keeps every code",
                                                0, 10, false, false};
inline constexpr NumberSpec kTopK{"top-k", "use only k codes (0: all)", 0, model::kMaxLatentDim};
inline constexpr NumberSpec kMorphsEpsilon{"morphs-epsilon", "tolerance of --morphs auto (noise sd / VAL sd)", 0, 1e6,
                                           true, false};
}  // namespace spec

/// kPaper: N = 100 morphs per code drawn at random (the paper's search), every code.
/// kDefault: N = 5 morphs per code placed along the golden-ratio sequence (quasi) with
/// radius step Δr = 0.2 (so the search still reaches the whole normal range), and codes whose
/// VAL consistencies duplicate another's (within 0.05 sd) are scored once (and weighted in
/// the one-sided mean by the codes they stand for); chosen by paired measurement against
/// `paper` for the one-sided rule, the default decision (docs/performance-history.md). The paper
/// rule's AUC needs the `paper` preset to be repeatable. kCustom is no preset (UsageError).
DetectorOptions preset_options(Preset p);
/// A preset's default decision: paper is the paper's two-sided rule at α = 0.4 (Sec. IV.B);
/// default is the one-sided rule at a VAL false-positive rate of 0.05.
DecisionRule preset_decision(Preset p);
/// The TC weight γ of eq. 9 a preset trains the Detector-VAE with (`oiad train`, `oiad
/// experiment`, unless --gamma is given): paper 40 (Sec. IV.B); default 5, chosen on
/// development splits of training images for the local metric (docs/results.md, "The
/// local metric: how it was chosen").
double preset_gamma(Preset p);

/// The normal value range of each code (from VAL).
struct NormalRange {
  std::vector<double> low, high;
  nlohmann::json to_json() const;
  static NormalRange from_json(const nlohmann::json& j);
};

/// The local metric's form (detector.h, local_value): the standardised map is smoothed by a
/// box of kLocalSmooth x kLocalSmooth windows, and the mean of its largest kLocalTopFraction
/// share is the value. Chosen on development splits of training images (Magnetic-tile at 128
/// pixels, MNIST and Fashion-MNIST class 3 at 32: bench/local_inspection_dev.cpp, docs/results.md
/// "The local score at photograph resolution"). Calibrations written before 2026-12-07 have
/// no form stored and were made with kLocalSmoothBefore and kLocalTopFractionBefore; they are
/// read, and score, as they were made.
constexpr int kLocalSmooth = 3;
constexpr double kLocalTopFraction = 0.01;
constexpr int kLocalSmoothBefore = 1;
constexpr double kLocalTopFractionBefore = 0.03;

/// The local metric's standard, fitted on VAL: for each selected code (parallel to
/// Calibration::codes), the mean and population sd over the VAL images of the code's local
/// map (side x side window positions, row-major), and the form of the metric it was fitted
/// for. Empty in calibrations written before the local metric existed: such a model scores
/// the local metric as 0 (calibrate again).
struct LocalStandard {
  int side = 0;
  int smooth = kLocalSmooth;                ///< odd side of the box filter (1: none)
  double top_fraction = kLocalTopFraction;  ///< share of the largest smoothed values averaged
  std::vector<std::vector<float>> mean, sd;
  bool empty() const { return mean.empty(); }
  nlohmann::json to_json() const;
  /// Checks `codes` entries of side x side finite values (sd >= 0), an odd smooth of 1 to 15
  /// and a top fraction in [1e-6, 1]; a standard without them has the form before 2026-12-07.
  static LocalStandard from_json(const nlohmann::json& j, size_t codes);
};

/// A model file's "calibration" object, read and checked against a network of `latent_dim`
/// codes: the options, the normal range of every code and the calibration (selected codes,
/// intervals, VAL scores). Throws Error naming the field that is missing or out of range.
struct StoredCalibration {
  DetectorOptions options;
  NormalRange range;
  Calibration calibration;
  LocalStandard local;  ///< empty when the calibration has no "local_standard"
};
StoredCalibration parse_stored_calibration(const nlohmann::json& calibration, int latent_dim);

}  // namespace oiad::detect
