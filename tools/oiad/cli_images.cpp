#include "cli_images.h"

#include <algorithm>

#include "oiad/core/error.h"
#include "oiad/core/random.h"
#include "oiad/data/readers.h"
#include "oiad/data/registry.h"
#include "oiad/data/resize.h"
#include "oiad/model/preprocess.h"

namespace oiad::cli {

data::OneClassSplit model_split(const model::LoadedModel& m) {
  OIAD_CHECK(m.file.meta.contains("split"), "model has no stored split (was it trained by `oiad train`?)");
  return data::OneClassSplit::from_json(m.file.meta["split"].dump(), "model split");
}

namespace {
std::vector<size_t> subset(size_t n, int64_t limit) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  if (limit > 0 && int64_t(n) > limit) {
    Rng rng(12345);
    shuffle_in_place(idx, rng);
    idx.resize(size_t(limit));
    std::sort(idx.begin(), idx.end());
  }
  return idx;
}
}  // namespace

torch::Tensor selection_input(const model::LoadedModel& m, const ImageSelection& s, bool resize, const std::string& what) {
  return model::model_input(m, s.pixels.data(), s.n, s.channels, s.height, s.width, resize, what);
}

ChosenImages choose_images(const model::LoadedModel& m, const std::string& spec, const std::string& split,
                           int64_t limit) {
  const std::string model_data = m.file.meta.value("dataset", "");
  const bool own = spec.empty() || spec == model_data;
  OIAD_CHECK_USAGE(!(spec.empty() && model_data.empty()), "no --data given and the model names no data set");
  ChosenImages c;
  c.ds = data::load_dataset(own ? model_data : spec);
  c.what = own ? model_data : spec;
  data::Dataset& ds = c.ds;
  if (own) {
    data::OneClassSplit sp = model_split(m);
    // The stored indices mean the images they meant at training only if the data set is
    // unchanged: refuse one that changed (and any index out of range). A model trained on
    // images resized to its network (data/resize.h) recorded the resized set's fingerprint.
    const bool tiled = m.file.meta.contains("tiling");
    const int side = m.config().input_size;
    if (!tiled && data::needs_resize(ds, side)) {
      data::Dataset small = data::resized(ds, side);
      c.native = std::move(ds);
      ds = std::move(small);
    }
    data::check_data_fingerprint(ds, sp, m.file.meta.value("data_fingerprint", nlohmann::json()), model_data);
    data::SplitPart part;
    if (split == "train") part = sp.train;
    else if (split == "val") part = sp.val;
    else if (split == "test" || split == "cle") part = sp.test;
    else throw UsageError("unknown split '" + split + "' (expected train, val, test or cle)");
    if (split == "cle") {
      std::vector<size_t> normal;
      for (size_t i = 0; i < part.size(); ++i)
        if (!part.anomalous[i]) normal.push_back(i);
      part = part.subset(normal);
    }
    // (A defect's image keeps its id: the id names the data set image it was made from.)
    c.part = part.subset(subset(part.size(), limit));
    for (size_t i = 0; i < c.part.size(); ++i) {
      c.ids.push_back(ds.image_id(c.part.source, c.part.index[i]));
      c.labels.push_back(c.part.anomalous[i]);
    }
  } else {
    OIAD_CHECK_USAGE(split == "train" || split == "test", "split '", split, "' of ", spec,
                     ": expected train or test (val and cle exist only for the model's own data set)");
    const std::string which = (split == "test" && ds.test.count == 0) ? "train" : split;
    const auto& src = ds.split(which);
    const std::string normal = m.file.meta.value("normal_class_name", "");
    int normal_idx = -1;
    for (size_t k = 0; k < ds.class_names.size(); ++k)
      if (ds.class_names[k] == normal) normal_idx = int(k);
    c.part.source = which;
    for (size_t i : subset(size_t(src.count), limit)) {
      c.part.index.push_back(int64_t(i));
      c.part.anomalous.push_back(normal_idx >= 0 && src.labels[i] != normal_idx);
      c.ids.push_back(ds.image_id(which, int64_t(i)));
      c.labels.push_back(normal_idx < 0 ? -1 : int(src.labels[i] != normal_idx));
    }
  }
  OIAD_CHECK(!c.ids.empty(), "no images selected (", c.what, ", split ", split, ")");
  return c;
}

namespace {
void refuse_tiled(const model::LoadedModel& m) {
  // A tiled model scores whole images tile by tile (`oiad score`, `inspect --map`, the
  // experiment); this reads network-size images, which it would take for single tiles.
  OIAD_CHECK_USAGE(!m.file.meta.contains("tiling"), "this command reads images at the network's size, and the model "
                   "is tiled (trained with --tile): use `oiad score` or `oiad inspect --map` for its images, `oiad "
                   "experiment --tile` to evaluate it, and `oiad train --tile` to calibrate it again");
}
}  // namespace

ImageSelection select_images(const model::LoadedModel& m, const std::string& spec, const std::string& split,
                             int64_t limit) {
  refuse_tiled(m);
  ChosenImages c = choose_images(m, spec, split, limit);
  return gather_selection(m, c);
}

ImageSelection gather_selection(const model::LoadedModel& m, ChosenImages& c) {
  refuse_tiled(m);
  // Images of mixed sizes or larger than the network come resized to it (data/resize.h).
  const int side = m.config().input_size;
  if (data::needs_resize(c.ds, side)) {
    data::Dataset small = data::resized(c.ds, side);
    if (!c.native) c.native = std::move(c.ds);
    c.ds = std::move(small);
  }
  ImageSelection s;
  s.channels = c.ds.channels;
  s.height = c.ds.height;
  s.width = c.ds.width;
  s.pixels = data::gather_pixels(c.ds, c.part);  // bounds-checked, defects applied
  s.ids = c.ids;
  s.labels = c.labels;
  s.n = int64_t(s.ids.size());
  return s;
}

ImageSelection read_image_files(const std::vector<std::string>& paths) {
  ImageSelection s;
  for (const std::string& p : paths) {
    data::DecodedImage d = data::read_image_file(p);
    if (s.n == 0) {
      s.channels = d.channels;
      s.height = d.height;
      s.width = d.width;
    }
    OIAD_CHECK(d.channels == s.channels && d.height == s.height && d.width == s.width, p, ": ", d.width, "x",
               d.height, "x", d.channels, " differs from ", paths[0], " (", s.width, "x", s.height, "x", s.channels,
               "); score images of one size together");
    s.pixels.insert(s.pixels.end(), d.chw.begin(), d.chw.end());
    s.ids.push_back(p);
    s.labels.push_back(-1);
    s.n++;
  }
  return s;
}

}  // namespace oiad::cli
