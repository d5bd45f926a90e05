// The settings of the same-run peers (peers/deep_svdd.h, peers/transform_prediction.h,
// peers/recseg.h):
// plain data, no LibTorch, so that option structs holding them
// (experiment::ExperimentOptions) compile without it. The methods are described in the
// peers' own headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oiad::peers {

// ---- Deep SVDD (peers/deep_svdd.h) ----
struct DeepSvddOptions {
  /// Autoencoder pre-training: epochs, Adam learning rate, epoch after which it drops to a
  /// tenth, weight decay (Adam's L2 term), as the authors' examples have them.
  int ae_epochs = 150;
  double ae_lr = 1e-4;
  int ae_lr_milestone = 50;
  double ae_weight_decay = 0.5e-3;
  /// Deep SVDD training, the same four settings.
  int epochs = 150;
  double lr = 1e-4;
  int lr_milestone = 50;
  double weight_decay = 0.5e-6;
  int batch_size = 200;
  /// Centre entries with |c_j| < ε become ±ε (a zero unit is matched trivially by zero weights).
  double center_eps = 0.1;
  uint64_t seed = 0;

  /// The authors' example settings for grey (MNIST: 150 + 150 epochs, milestones 50, AE
  /// weight decay 0.5e-3) or colour images (CIFAR-10: AE 350 epochs with milestone 250 and
  /// weight decay 0.5e-6; Deep SVDD 150 with milestone 50).
  static DeepSvddOptions published(int channels);
  /// These settings with ae_epochs and epochs instead, each learning-rate drop moved to the
  /// same share of its phase (rounded to the nearest epoch).
  DeepSvddOptions with_epochs(int ae_epochs, int epochs) const;
};

// ---- Transformation prediction (peers/transform_prediction.h) ----
/// One geometric transformation: flip, then translate (rows by ty, columns by tx, positive
/// = content moves down / right), then rotate counter-clockwise by rot90 · 90°.
struct GeometricTransform {
  bool flip = false;
  int tx = 0, ty = 0;
  int rot90 = 0;
};

/// Which factors of GEOM's product are used (all three: GEOM's 72 transformations).
struct TransformSetOptions {
  bool flips = true;         ///< ×2: identity and horizontal flip
  bool translations = true;  ///< ×9: tx, ty ∈ {0, −S/4, +S/4}
  bool rotations = true;     ///< ×4: k·90°, k = 0..3
};

/// "flip,translate,rotate" (any non-empty subset, comma-separated) -> the factors; a usage
/// error names anything else.
TransformSetOptions parse_transform_set(const std::string& s);
/// The factors as parse_transform_set reads them, in the order flip, translate, rotate.
std::string transform_set_name(const TransformSetOptions& o);

/// The transformations of `o` for S-pixel images, in GEOM's order (flip outermost, then tx,
/// then ty, rotation innermost). The first is the identity.
std::vector<GeometricTransform> geometric_transforms(const TransformSetOptions& o, int size);

struct TransformPredictionOptions {
  TransformSetOptions transforms;
  /// The classifier WRN-depth-widen. GEOM used WRN-16-8; on 2 cores it trains about 150 times
  /// slower than WRN-10-1 (docs/results.md, "Peers"), a day per class, so the default is
  /// WRN-10-1: with it GEOM's full set and training length fit 15 minutes per class.
  int depth = 10;
  int widen = 1;
  /// Training length as GEOM sets it: ⌈passes / T⌉ epochs over the N·T (image,
  /// transformation) pairs, so that each image is seen about `passes` times (GEOM: 200,
  /// i.e. 3 epochs of its 72 transformations).
  int passes = 200;
  int batch_size = 128;
  double lr = 1e-3;  ///< Adam (GEOM: Keras' Adam defaults)
  /// "dirichlet" (GEOM) or "logprob".
  std::string score = "dirichlet";
  uint64_t seed = 0;

  int epochs(int transforms) const { return (passes + transforms - 1) / transforms; }
};

// ---- DRAEM-type reconstruct-and-segment peer (peers/recseg.h) ----
struct RecSegOptions {
  /// Base widths of the reconstructive and the discriminative network (DRAEM: 128 and 64;
  /// a step's time on 2 cores for each: bench/recseg_steps.sh).
  int rec_width = 16;
  int seg_width = 8;
  /// Adam steps of `batch_size` images (DRAEM: 700 epochs of batches of 8, i.e. about 22,000
  /// steps on an MVTec AD category); the learning rate drops to a fifth after 80% and again
  /// after 90% of them.
  int steps = 2000;
  int batch_size = 8;
  double lr = 1e-4;
  /// Share of training samples given a simulated anomaly (DRAEM: 1/2).
  double anomaly_probability = 0.5;
  /// The image score's mean filter side (odd); 0: the odd number nearest 21 · S / 256.
  int filter = 0;
  uint64_t seed = 0;
};

/// Refuses settings out of range (UsageError starting with `command` and naming the flag:
/// --recseg-widths, --recseg-steps, --recseg-filter, --recseg-sources, --anomaly-source), for
/// `sources` anomaly-source images read from `source`.
void check_recseg_options(const RecSegOptions& o, const std::string& source, int64_t sources,
                          const std::string& command);

}  // namespace oiad::peers
