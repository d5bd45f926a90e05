// `oiad experiment`: every method of Table II trained, calibrated and evaluated on one
// one-class split, with results.json, report.md/html and the figures of Sec. IV (Figs. 2-7).
//
// Protocol (docs/architecture.md, "Experiments"):
// - the split (paper or standard, seeded) gives train (normal), VAL (normal) and test parts;
// - a stratified, seeded holdout is drawn from the test part (holdout_fraction of each label,
//   at most holdout_max images in all). Only the baselines look at it, to choose the PCA size
//   and kernel width by AUC, as Sec. IV.B says; every method is then reported on the rest of
//   the test part ("reported test"), never on the holdout;
// - OIAD: Detector-VAE on train, calibration on VAL (nothing else), scores on reported test;
// - VAE and DCAE: trained on train, scored by reconstruction loss;
// - KDE / OC-SVM / GMM on PCA features fitted on train.
// Every finished method is saved in DIR/methods/<name>.json, so an interrupted run resumes
// where it stopped (training itself resumes from its checkpoint).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/detect/detector_options.h"
#include "oiad/model/config.h"
#include "oiad/peers/peer_options.h"
#include "oiad/train/train_options.h"

namespace oiad::experiment {

/// "oiad", "vae", "dcae", "kde", "ocsvm", "gmm", "deepsvdd", "transforms", "recseg": the
/// allowed values of --methods.
const std::vector<std::string>& method_names();

struct ExperimentOptions {
  data::Protocol protocol = data::Protocol::kPaper;
  /// The defect families of the defects protocol (data::defect_family_names()); empty: all.
  std::vector<std::string> defects;
  /// Any of method_names().
  std::vector<std::string> methods = {"oiad", "vae", "dcae", "kde", "ocsvm", "gmm"};
  /// OIAD structure-consistency metrics reported (all are computed in one pass).
  std::vector<std::string> metrics = {"mse", "loss", "ssim", "local"};
  detect::Preset preset = detect::Preset::kDefault;
  /// The Detector-VAE's TC weight γ; unset: the preset's (detect::preset_gamma).
  std::optional<double> gamma;
  uint64_t seed = 0;
  /// Caps the images drawn for each part of the split (0: none).
  int64_t limit = 0;
  /// α of the decisions (paper: 0.4).
  double alpha = 0.4;
  /// VAL false-positive rate of the one-sided rule's decisions reported beside them.
  double one_sided_fpr = 0.05;
  int input_size = model::kDefaultInputSize;
  /// The tile route (`--tile`): when `tile` is set, input_size is the tile side; OIAD, the VAE
  /// and the DCAE train on seeded tiles (`tiles`, 0: the library's default) and score every
  /// image tile by tile at its own size, `tile_stride` apart (detect/tiling.h); the feature
  /// baselines see each image resized to input_size.
  bool tile = false;
  int tile_stride = 0;
  int64_t tiles = 0;
  /// Training of the Detector-VAE, VAE and DCAE (epochs, batch, learning rates, warm-up).
  train::TrainOptions train;
  /// Holdout for the baselines: this share of each label of the test part, seeded.
  double holdout_fraction = 0.1;
  int64_t holdout_max = 500;
  /// Sec. IV.B: PCA sizes, GMM components, OC-SVM ν.
  std::vector<int> pca_dims = {20, 40, 60, 80, 100};
  int gmm_min_components = 2, gmm_max_components = 20;
  /// The GMM's BIC search over components runs on at most this many training images
  /// (seeded), the chosen size is then fitted on all: full-covariance EM in Armadillo took
  /// 47 s for k = 2..20 on 400 images of 100 features (docs/results.md). 0: all images.
  int64_t gmm_bic_max_samples = 1000;
  /// Deep SVDD's autoencoder and Deep SVDD epochs; empty: the authors' schedule
  /// (peers::DeepSvddOptions::published) for grey images, 30,50 for colour images (the
  /// authors' 350,150 takes about 2 hours per CIFAR-10 class on 2 cores). A shorter schedule
  /// moves each learning-rate drop to the same share of its phase.
  std::vector<int> deepsvdd_epochs;
  /// The transformation-prediction peer: its set, classifier, training length and score.
  peers::TransformPredictionOptions transforms;
  /// The DRAEM-type peer (peers/recseg.h): its networks and schedule (seed: the run's), and
  /// its anomaly sources: "procedural" (peers::procedural_sources), "openarena" (the texture
  /// set of Debian's openarena-081-textures, data::texture_set_path) or a folder or archive of
  /// images (data::read_image_collection); at most `recseg_sources` of them (seeded).
  peers::RecSegOptions recseg;
  std::string recseg_source = "openarena";
  int64_t recseg_sources = 2000;
  /// How the run reads an image collection for `recseg_source` (source, side, channels, at
  /// most this many, seed) -> (n, C, side, side) uint8; the CLI gives
  /// data::read_image_collection of data::texture_set_path. Empty: procedural sources only.
  std::function<std::vector<uint8_t>(const std::string&, int, int, int64_t, uint64_t)> read_images;
  double ocsvm_nu = 0.1;
  /// OC-SVM kernel widths tried: these multiples of 1 / (d · Var(x)) (scikit-learn's "scale"),
  /// 2^-2 to 2^8 (until 2026-12-07, 2^-2 to 2^2; on a grid to 2^12 the holdout chose 2^2 to
  /// 2^6 on every PCA size of the cells measured: docs/results.md, "The OC-SVM's kernel width").
  std::vector<double> ocsvm_gamma_factors = {0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256};
  /// Figures: morph strips per label and the size of the most-anomalous grids.
  bool figures = true;
  int strips_per_label = 2;
  int top_grid = 32;
  /// Only return the run's configuration (experiment.json's content: the settings of every
  /// method in `methods`, the preset's parameters included), writing nothing: how a campaign
  /// decides whether a recorded cell was made with the configuration it would use now.
  bool configuration_only = false;
  /// The command line that started the run (written in the report).
  std::string command;
  std::string out;
  /// Progress lines (stderr in the CLI); may be empty.
  std::function<void(const std::string&)> log;
};

/// Whether o.methods holds `method`.
bool uses_method(const ExperimentOptions& o, const std::string& method);

/// The quick mode (`oiad experiment --quick`): a first look at a data set in a minute or two
/// on 2 cores instead of hours, with noisier and usually lower AUCs. Sets: at most 600 images
/// for each part of the split, 10 training epochs, PCA sizes 20 and 40, GMMs of 2 to 5
/// components, Deep SVDD 50+50 epochs, and the transformation classifier trained on the 8
/// flips and rotations for 40 passes. Other options are kept. (Measured on MNIST digit 1,
/// paper protocol, one thread: Deep SVDD reached AUC 0.26 with 10+10 epochs, 0.97 with
/// 30+30 and 0.98 with 50+50 in 18 s; transformations 0.93 / 0.95 / 0.96 with 16 / 24 / 40
/// passes.)
void make_quick(ExperimentOptions& o);

/// Throws UsageError for an unknown method or metric, or other bad options.
void check_options(const ExperimentOptions& o);

/// Runs (or resumes) the experiment in o.out and returns results.json's content (with
/// o.configuration_only: the configuration, and nothing run or written).
nlohmann::json run_experiment(const data::Dataset& ds, int normal_class, const ExperimentOptions& o);

/// The settings `--methods deepsvdd` trains with on images of `channels` channels: the
/// authors' (peers::DeepSvddOptions::published) with o.deepsvdd_epochs, or 30,50 for colour
/// images when that is empty, and o.seed.
peers::DeepSvddOptions deepsvdd_options(const ExperimentOptions& o, int channels);

// ---- pieces, exposed for tests ----

/// The holdout: a seeded sample of `fraction` of each label of `part` (at least one of each
/// label when the part has two or more of it), `max_total` images in all at most. Returns
/// positions into part, ascending; `rest` receives the other positions, ascending.
std::vector<size_t> draw_holdout(const data::SplitPart& part, double fraction, int64_t max_total, uint64_t seed,
                                 std::vector<size_t>& rest);

/// Fig. 3: TP, TN and accuracy at each α, from per-image decisions `flagged_at(alpha, i)`.
struct SweepRow {
  double alpha = 0, tp = 0, tn = 0, acc = 0;
};
/// The α grid of the sweeps: 0.01, 0.02, ..., 0.50.
std::vector<double> alpha_grid();

/// Paper Table II AUCs (Sec. IV.C) for (dataset, class name, method), NaN when the paper
/// has no such cell. Methods: kde, ocsvm, gmm, vae, dcae, oiad.
double paper_auc(const std::string& dataset, const std::string& class_name, const std::string& method);

}  // namespace oiad::experiment
