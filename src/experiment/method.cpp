#include "method.h"

#include <algorithm>
#include <filesystem>

#include "oiad/core/error.h"
#include "oiad/core/progress.h"
#include "oiad/data/defects.h"
#include "oiad/eval/regions.h"
#include "oiad/eval/roc.h"
#include "oiad/model/preprocess.h"

namespace oiad::experiment::detail {

namespace fs = std::filesystem;

torch::Tensor to_input(const data::Dataset& ds, const std::vector<uint8_t>& px, int input_size) {
  const int64_t n = int64_t(px.size()) / ds.image_size();
  return model::images_to_input(px.data(), n, ds.channels, ds.height, ds.width, input_size);
}

torch::Tensor Context::input(const data::SplitPart& p) const {
  return to_input(ds, data::gather_pixels(ds, p), o.input_size);
}

void PixelTally::add(const double* map, const uint8_t* mask, int height, int width, const std::string& kind) {
  (kind.empty() ? normal : by_kind[kind]).add(map, mask, height, width);
}

namespace {
nlohmann::json measures(const std::vector<const eval::PixelMaps*>& parts) {
  eval::PixelMaps pm;
  for (const eval::PixelMaps* p : parts) {
    pm.scores.insert(pm.scores.end(), p->scores.begin(), p->scores.end());
    pm.masks.insert(pm.masks.end(), p->masks.begin(), p->masks.end());
    pm.heights.insert(pm.heights.end(), p->heights.begin(), p->heights.end());
    pm.widths.insert(pm.widths.end(), p->widths.begin(), p->widths.end());
  }
  const size_t defect = size_t(std::count(pm.masks.begin(), pm.masks.end(), uint8_t(1)));
  if (defect == 0 || defect == pm.masks.size()) return nullptr;
  return {{"pixel_auroc", eval::pixel_auroc(pm)}, {"aupro", eval::aupro(pm)}, {"pixel_images", pm.images()}};
}
}  // namespace

nlohmann::json PixelTally::result() const {
  std::vector<const eval::PixelMaps*> all = {&normal};
  for (const auto& [k, p] : by_kind) all.push_back(&p);
  nlohmann::json out = measures(all);
  if (!out.is_object()) return nullptr;
  nlohmann::json per = nlohmann::json::object();
  for (const auto& [k, p] : by_kind) {
    const nlohmann::json m = measures({&normal, &p});
    if (m.is_object()) per[k] = m;
  }
  out["per_kind"] = per;
  return out;
}

std::string test_kind(const Context& c, size_t i) { return map_kind(c.native, c.test, i); }

nlohmann::json pixel_metrics(const Context& c, const torch::Tensor& maps) {
  return pixel_measures(c.ds, c.native, c.test, maps);
}

std::vector<double> to_scores(const torch::Tensor& s) {
  const torch::Tensor d = s.to(torch::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

nlohmann::json last_or_null(const std::vector<double>& history) {
  return history.empty() ? nlohmann::json() : nlohmann::json(history.back());
}

double detector_gamma(const ExperimentOptions& o) { return o.gamma ? *o.gamma : detect::preset_gamma(o.preset); }

workflow::TrainJobResult train_or_load(const Context& c, const std::string& name, model::ModelKind kind) {
  const std::string path = c.o.out + "/models/" + name + ".oiad";
  if (fs::exists(path)) {
    // Training finished in an earlier run; reuse it (the split was checked already).
    workflow::TrainJobResult r;
    r.model = model::load_model(path);
    for (const auto& e : r.model.file.meta.at("training").at("history")) {
      r.state.history.push_back(train::EpochRecord::from_json(e));
      r.train_seconds += r.state.history.back().seconds;
    }
    r.state.epochs_done = int(r.state.history.size());
    return r;
  }
  workflow::TrainJob job;
  job.split = c.split;
  job.config = model::ModelConfig::defaults(kind, c.ds.channels, c.o.input_size);
  if (kind == model::ModelKind::kDetectorVae) job.config.gamma = detector_gamma(c.o);
  job.train = c.o.train;
  job.out = path;
  job.resume = fs::exists(path + ".ckpt");
  job.calibrate = false;
  job.seed = c.o.seed;
  return workflow::run_train_job(c.ds, job);
}

std::unique_ptr<Method> make_method(const std::string& name, const Context& c) {
  if (c.o.tile) return make_tiled_method(name);
  if (name == "oiad") return make_oiad_method();
  if (name == "vae") return make_autoencoder_method(model::ModelKind::kVae);
  if (name == "dcae") return make_autoencoder_method(model::ModelKind::kDcae);
  if (name == "deepsvdd") return make_deep_svdd_method(c);
  if (name == "transforms") return make_transforms_method(c);
  if (name == "recseg") return make_recseg_method(c);
  return nullptr;
}

MethodRun run_method(const Context& c, const std::string& name, Method& m) {
  const double t0 = now_seconds();
  const std::string path = c.o.out + "/models/" + m.model_file();
  if (fs::exists(path)) {
    m.load(c, path);
    c.log(name + ": reusing " + path);
  } else {
    fs::create_directories(c.o.out + "/models");
    m.fit(c, path);
  }
  const double s0 = now_seconds();
  const bool want_maps = c.has_masks() && !m.map_description().empty();
  torch::Tensor maps;
  MethodRun r;
  r.name = name;
  r.scores = m.score(c.input(c.test), want_maps ? &maps : nullptr);
  r.score_seconds = now_seconds() - s0;
  r.fit_seconds = m.fit_seconds();
  r.auc = eval::roc_auc(r.scores, c.labels);
  r.details = m.details();
  r.details["model"] = "models/" + m.model_file();
  r.details["wall_seconds"] = now_seconds() - t0;
  if (want_maps) {
    const nlohmann::json pm = pixel_metrics(c, maps);
    if (pm.is_object()) r.details.update(pm);
    r.details["pixel_map"] = m.map_description();
  }
  return r;
}

}  // namespace oiad::experiment::detail

namespace oiad::experiment {

std::string map_kind(const data::Dataset& native, const data::SplitPart& part, size_t i) {
  if (!part.anomalous.at(i)) return "";
  if (part.has_defects() && part.defect[i] >= 0) return data::defect_family_name(data::DefectFamily(part.defect[i]));
  const int label = native.split(part.source).labels.at(size_t(part.index[i]));
  return native.class_names.at(size_t(label));
}

size_t anomalous_without_mask(const data::Dataset& native, const data::SplitPart& part) {
  if (part.has_defects() || !data::has_masks(native, part)) return 0;
  const std::vector<uint8_t> known = data::known_masks(native, part);
  size_t missing = 0;
  for (size_t i = 0; i < part.size(); ++i) missing += part.anomalous[i] && !known[i];
  return missing;
}

nlohmann::json pixel_measures(const data::Dataset& ds, const data::Dataset& native, const data::SplitPart& part,
                              const torch::Tensor& maps) {
  if (!(data::has_masks(native, part) || part.has_defects())) return nullptr;
  OIAD_CHECK(maps.size(0) == int64_t(part.size()), "pixel measures: ", maps.size(0), " maps for ", part.size(),
             " images");
  detail::PixelTally tally;
  if (part.has_defects()) {  // synthetic defects: every image, at the stored size
    const std::vector<uint8_t> masks = data::defect_masks(ds, part);
    auto m = model::input_map_to_image(maps, ds.height, ds.width).to(torch::kDouble).contiguous();
    const size_t plane = size_t(ds.height) * ds.width;
    OIAD_CHECK(size_t(m.numel()) == masks.size(), "pixel measures: ", m.numel(), " map pixels for ", masks.size(),
               " mask pixels");
    for (size_t i = 0; i < part.size(); ++i)
      tally.add(m.data_ptr<double>() + i * plane, masks.data() + i * plane, ds.height, ds.width,
                map_kind(native, part, i));
  } else {  // ground-truth masks: each image with a known mask, at its own size
    for (size_t i = 0; i < part.size(); ++i) {
      const data::ImageView v = native.image(part.source, part.index[i]);
      if (!v.mask) continue;
      torch::Tensor m = model::input_map_to_image(maps.slice(0, int64_t(i), int64_t(i) + 1), ds.height, ds.width);
      if (v.height != ds.height || v.width != ds.width) m = model::resize_maps(m, v.height, v.width);  // resized
      m = m.to(torch::kDouble).contiguous();
      tally.add(m.data_ptr<double>(), v.mask, v.height, v.width, map_kind(native, part, i));
    }
  }
  return tally.result();
}

}  // namespace oiad::experiment
