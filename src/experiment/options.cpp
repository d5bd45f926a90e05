// Checks of the experiment's options, and the methods it knows.
#include <algorithm>
#include <cmath>

#include "oiad/core/error.h"
#include "oiad/data/defects.h"
#include "oiad/detect/consistency.h"
#include "oiad/experiment/experiment.h"

namespace oiad::experiment {

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> kNames = {"oiad", "vae", "dcae", "kde", "ocsvm", "gmm", "deepsvdd", "transforms", "recseg"};
  return kNames;
}

namespace {
std::string join_names(const std::vector<std::string>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + v[i];
  return r;
}
}  // namespace

bool uses_method(const ExperimentOptions& o, const std::string& method) {
  return std::find(o.methods.begin(), o.methods.end(), method) != o.methods.end();
}

void make_quick(ExperimentOptions& o) {
  o.limit = 600;
  o.train.epochs = 10;
  o.pca_dims = {20, 40};
  o.gmm_min_components = 2;
  o.gmm_max_components = 5;
  o.deepsvdd_epochs = {50, 50};
  o.transforms.transforms = peers::TransformSetOptions{};
  o.transforms.transforms.translations = false;
  o.transforms.passes = 40;
  o.recseg.steps = 300;
}

void check_options(const ExperimentOptions& o) {
  OIAD_CHECK_USAGE(!o.out.empty(), "experiment: --out DIR is required");
  OIAD_CHECK_USAGE(!o.methods.empty(), "experiment: --methods is empty");
  for (const auto& m : o.methods)
    OIAD_CHECK_USAGE(std::find(method_names().begin(), method_names().end(), m) != method_names().end(),
                     "experiment: unknown method '", m, "' (expected ", join_names(method_names()), ")");
  try {
    for (const auto& m : o.metrics) detect::parse_metric(m);
  } catch (const UsageError& e) {
    throw UsageError(std::string("experiment: ") + e.what());
  }
  OIAD_CHECK_USAGE(!o.metrics.empty(), "experiment: --metrics is empty");
  try {
    for (const auto& f : o.defects) data::parse_defect_family(f);
  } catch (const UsageError& e) {
    throw UsageError(std::string("experiment: ") + e.what());
  }
  OIAD_CHECK_USAGE(o.defects.empty() || o.protocol == data::Protocol::kDefects,
                   "experiment: --defects applies to --protocol defects only (the protocol is ",
                   data::protocol_name(o.protocol), ")");
  if (o.gamma) model::spec::kGamma.check(*o.gamma, "experiment", "--");
  train::check_options(o.train, "experiment", "--");
  if (o.tile) {
    for (const auto& m : o.methods)
      OIAD_CHECK_USAGE(m != "deepsvdd" && m != "transforms" && m != "recseg", "experiment: ", m,
                       " does not run on tiles (with --tile the methods are oiad, vae, dcae, kde, ocsvm and gmm)");
    OIAD_CHECK_USAGE(o.tile_stride >= 1 && o.tile_stride <= o.input_size, "experiment: tile stride ", o.tile_stride,
                     " outside [1, ", o.input_size, "] (the tile side)");
    OIAD_CHECK_USAGE(o.protocol != data::Protocol::kDefects && o.protocol != data::Protocol::kPaper,
                     "experiment: --tile runs on the standard and inspection protocols (the ",
                     data::protocol_name(o.protocol), " protocol's images are thumbnails)");
  }
  if (uses_method(o, "deepsvdd"))
    OIAD_CHECK_USAGE(o.input_size == 32, "experiment: deepsvdd takes 32x32 network input (--input-size is ", o.input_size,
                     ")");
  OIAD_CHECK_USAGE(o.deepsvdd_epochs.empty() || (o.deepsvdd_epochs.size() == 2 && o.deepsvdd_epochs[0] >= 0 &&
                                                 o.deepsvdd_epochs[1] >= 1),
                   "experiment: --deepsvdd-epochs takes AE,SVDD epochs (AE >= 0, SVDD >= 1)");
  {
    const auto& t = o.transforms;
    OIAD_CHECK_USAGE(t.transforms.flips || t.transforms.translations || t.transforms.rotations,
                     "experiment: --transforms-set is empty (expected some of flip, translate, rotate)");
    OIAD_CHECK_USAGE(t.depth >= 10 && (t.depth - 4) % 6 == 0 && t.widen >= 1 && t.widen <= 16,
                     "experiment: --transforms-net ", t.depth, ",", t.widen,
                     " is not a WRN depth,widen (depth 6n + 4 with n >= 1, widen 1..16)");
    OIAD_CHECK_USAGE(t.passes >= 1 && t.passes <= 100000, "experiment: --transforms-passes ", t.passes,
                     " outside [1, 100000]");
    OIAD_CHECK_USAGE(t.score == "dirichlet" || t.score == "logprob", "experiment: --transforms-score '", t.score,
                     "' (expected dirichlet or logprob)");
    if (uses_method(o, "transforms"))
      OIAD_CHECK_USAGE(o.input_size % 4 == 0, "experiment: transforms needs a network input divisible by 4 (--input-size is ",
                       o.input_size, ")");
  }
  {
    peers::check_recseg_options(o.recseg, o.recseg_source, o.recseg_sources, "experiment");
    if (uses_method(o, "recseg"))
      OIAD_CHECK_USAGE(o.input_size >= 16, "experiment: recseg needs a network input of 16 or more (--input-size is ",
                       o.input_size, ")");
  }
  OIAD_CHECK_USAGE(o.alpha > 0 && o.alpha <= 0.5, "experiment: --alpha ", o.alpha, " outside (0, 0.5]");
  OIAD_CHECK_USAGE(o.holdout_fraction > 0 && o.holdout_fraction < 0.5, "experiment: holdout fraction ",
                   o.holdout_fraction, " outside (0, 0.5)");
  OIAD_CHECK_USAGE(o.holdout_max >= 2, "experiment: holdout of at most ", o.holdout_max, " images is too small");
  OIAD_CHECK_USAGE(!o.pca_dims.empty(), "experiment: no PCA sizes");
  for (int d : o.pca_dims) OIAD_CHECK_USAGE(d >= 1, "experiment: PCA size ", d, " must be >= 1");
  OIAD_CHECK_USAGE(o.gmm_min_components >= 1 && o.gmm_max_components >= o.gmm_min_components,
                   "experiment: GMM components ", o.gmm_min_components, "..", o.gmm_max_components);
  OIAD_CHECK_USAGE(o.ocsvm_nu > 0 && o.ocsvm_nu <= 1, "experiment: OC-SVM ν ", o.ocsvm_nu, " outside (0, 1]");
}

}  // namespace oiad::experiment
