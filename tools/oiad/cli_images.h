// The images a scoring command reads (a model's stored split, another data set, or image
// files) and their conversion to a model's input: the CLI's LibTorch part (cli_common.h is
// the plain one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"
#include "oiad/model/model_io.h"

namespace oiad::cli {

/// Images chosen for scoring, with ids and labels (1 anomalous, 0 normal, -1 unknown).
struct ImageSelection {
  std::vector<uint8_t> pixels;  ///< (n, C, H, W) uint8
  int64_t n = 0;
  int channels = 0, height = 0, width = 0;
  std::vector<std::string> ids;
  std::vector<int> labels;
};

/// Images chosen from a data set, as references into it (at their own sizes: the tile route
/// reads them there), with ids and labels as in ImageSelection.
struct ChosenImages {
  data::Dataset ds;
  data::SplitPart part;
  std::vector<std::string> ids;
  std::vector<int> labels;
  std::string what;  ///< the data set as named
  /// The data set as read, kept when `ds` holds it resized to a model's network (a model's
  /// own split; masks are measured at each image's own size).
  std::optional<data::Dataset> native;
  const data::Dataset& at_own_size() const { return native ? *native : ds; }
};
/// The images select_images returns, not yet gathered (see there).
ChosenImages choose_images(const model::LoadedModel& m, const std::string& spec, const std::string& split,
                           int64_t limit);

/// With `spec` empty or equal to the model's data set: the part `split` (train, val, test,
/// or cle = the normal images of test) of the one-class split stored in the model, labelled.
/// Otherwise the data set's own split (`split` = train or test), labelled against the
/// model's normal class when the data set has a class of that name.
/// `limit` > 0 keeps a seeded random subset of that many images (in their original order).
ImageSelection select_images(const model::LoadedModel& m, const std::string& spec, const std::string& split,
                             int64_t limit);
/// The second half of select_images: the chosen images gathered at the network's size.
ImageSelection gather_selection(const model::LoadedModel& m, ChosenImages& c);

/// The selection as the model's input (model::model_input; `what` names it in errors).
torch::Tensor selection_input(const model::LoadedModel& m, const ImageSelection& s, bool resize, const std::string& what);

/// Reads image files (PNG, JPEG, BMP); all must have one size and channel count.
ImageSelection read_image_files(const std::vector<std::string>& paths);

/// The one-class split stored in a model file.
data::OneClassSplit model_split(const model::LoadedModel& m);

}  // namespace oiad::cli
