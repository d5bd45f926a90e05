// oiad inspect | compare: one image's morph strip and change map; two images' MSE and SSIM.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cli_images.h"
#include "cli_scoring.h"
#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/parse.h"
#include "oiad/core/progress.h"
#include "oiad/data/readers.h"
#include "oiad/detect/complexity.h"
#include "oiad/detect/pipeline.h"
#include "oiad/detect/tiling.h"
#include "oiad/dist/group.h"
#include "oiad/eval/roc.h"
#include "oiad/experiment/experiment.h"
#include "oiad/model/preprocess.h"
#include "oiad/report/picture.h"

namespace oiad::cli {

namespace {

using Clock = std::chrono::steady_clock;

// ---- inspect ----
struct InspectOptions {
  std::string model, image, metric, out, map;
  int codes = 3;
  int morphs_shown = 8;
  bool resize = false;
};

void run_inspect(const InspectOptions& o) {
  OIAD_CHECK_USAGE(!o.out.empty() || !o.map.empty(), "inspect: give --out strip.png, --map map.png or both");
  OIAD_CHECK_USAGE(o.out.empty() || o.map.empty() ||
                       std::filesystem::weakly_canonical(o.out) != std::filesystem::weakly_canonical(o.map),
                   "inspect: --out and --map name the same file");
  for (const std::string* f : {&o.out, &o.map})
    if (!f->empty()) {
      check_out_is_not_an_input("inspect", *f, {o.model, o.image});
      check_can_write("inspect", *f);
    }
  detect::CalibratedDetector d = detect::load_detector(o.model, true);
  if (detect::is_tiled(d.model)) {
    // A tiled model: the image at its own size, its map stitched from the tiles' maps.
    OIAD_CHECK_USAGE(o.out.empty(), "inspect: ", o.model, " is a tiled model: --map draws its full-size change map; ",
                     "a morph strip (--out) is of one network-size image");
    const detect::TileCalibration t = detect::tile_calibration(d.model, o.model);
    data::DecodedImage img = data::read_image_file(o.image);
    OIAD_CHECK_USAGE(img.channels == d.model.config().channels, o.image, ": ", img.channels,
                     " channel(s), the model expects ", d.model.config().channels);
    const data::ImageView v{img.channels, img.height, img.width, img.chw.data(), nullptr};
    const detect::TiledScore r = detect::score_tiled(d, t, v, t.fpr, true);
    report::write_change_map(o.map, img.chw.data(), img.channels, img.height, img.width, r.map.data(), 1);
    print_json_line(nlohmann::json{{"image", o.image},
                                   {"score", r.image.score},
                                   {"anomalous", r.image.anomalous},
                                   {"p_value", json_number(r.image.p_value)},
                                   {"metric", t.score_name},
                                   {"tiles", r.layout.count()},
                                   {"map", o.map},
                                   {"map_max", *std::max_element(r.map.begin(), r.map.end())}}
                        .dump());
    return;
  }
  const bool single = d.single_score();  // reconstruction and segmentation models
  OIAD_CHECK_USAGE(!single || o.out.empty(), "inspect: ", o.model, " is a ", model::kind_name(d.model.config().kind),
                   " model, scored by ", detect::single_score_text(d.scorer),
                   ": it has no morph strip (--out); --map shows its ",
                   d.scorer == detect::Scorer::kSegmentation ? "segmentation map" : "per-pixel error");
  detect::ScoreOptions so;
  so.metric = metric_flag(o.metric);
  so.change_maps = !o.map.empty();
  detect::plan_scoring(d, so, "inspect", "--");
  ImageSelection s = read_image_files({o.image});
  auto x = selection_input(d.model, s, o.resize, o.image);
  nlohmann::json r;
  if (!single) {
    const detect::MorphStrip strip = detect::morph_strip(d, x, so.metric.value_or(detect::Metric::kSsim),
                                                         d.calibration.alpha, o.codes, o.morphs_shown);
    r = strip.to_json();
    if (!o.out.empty()) report::write_morph_strip(o.out, strip), r["strip"] = o.out;
  }
  r["image"] = o.image;
  if (!o.map.empty()) {
    // The map comes from the scoring pass: the local metric's (detector models, scored under
    // the paper rule at the calibration's α as the strip is), the per-pixel error or the
    // segmentation map.
    if (!single) {
      so.metric = detect::Metric::kLocal;
      so.decision.rule = detect::rule_name(detect::Rule::kPaper);
      so.decision.alpha = d.calibration.alpha;
    }
    const detect::ScoreResult scored = detect::score(d, x, so);
    if (single) r["score"] = scored.images[0].score, r["anomalous"] = scored.images[0].anomalous;
    const torch::Tensor m = scored.change_maps[0].contiguous();
    const auto [stored_h, stored_w] = model::stored_image_size(d.model);
    if (s.height != stored_h || s.width != stored_w) {
      // A resized photograph (--resize): the map brought back to its own size, over it.
      const torch::Tensor big =
          model::resize_maps(model::input_map_to_image(m.unsqueeze(0), stored_h, stored_w), s.height, s.width)[0]
              .to(torch::kFloat)
              .contiguous();
      report::write_change_map(o.map, s.pixels.data(), s.channels, s.height, s.width, big.data_ptr<float>(), 1);
    } else {
      const std::vector<uint8_t> input = model::input_to_bytes(x[0]);
      report::write_change_map(o.map, input.data(), int(x.size(1)), int(x.size(2)), m.data_ptr<float>());
    }
    r["map"] = o.map;
    r["map_max"] = m.max().item<double>();
  }
  print_json_line(r.dump());
}

// ---- compare ----
void run_compare(const std::string& a, const std::string& b) {
  data::DecodedImage x = data::read_image_file(a), y = data::read_image_file(b);
  OIAD_CHECK(x.channels == y.channels && x.height == y.height && x.width == y.width, b, ": ", y.width, "x", y.height,
             "x", y.channels, " differs from ", a, " (", x.width, "x", x.height, "x", x.channels, ")");
  auto tx = torch::from_blob(x.chw.data(), {1, x.channels, x.height, x.width}, torch::kUInt8).to(torch::kDouble) / 255.0;
  auto ty = torch::from_blob(y.chw.data(), {1, y.channels, y.height, y.width}, torch::kUInt8).to(torch::kDouble) / 255.0;
  OIAD_CHECK(x.height >= 11 && x.width >= 11, a, ": SSIM needs images of at least 11x11 pixels");
  print_json_line(nlohmann::json{{"mse", detect::mse(tx, ty).item<double>()}, {"ssim", detect::ssim(tx, ty).item<double>()}}
                      .dump());
}

}  // namespace

void add_inspect_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* c = app.add_subcommand("inspect", "Fig. 2 for one image: its PR-morphs along the most telling codes, and its change map");
  add_model_file(c, o->model);
  c->add_option("image", o->image, "image file")->required();
  c->add_option("--codes", o->codes, "how many codes to show")->capture_default_str();
  add_metric_option(c, o->metric);
  c->add_flag("--resize", o->resize, "resize an image of another size to the model's");
  c->add_option("--out", o->out, "PNG strip to write");
  c->add_option("--map", o->map,
                "PNG to write: the image with its change map overlaid in colour (where it resists its morphs, in "
                "VAL standard deviations of the local metric; a VAE or DCAE: its per-pixel squared error)");
  c->callback([&run, o] { run = [o] { run_inspect(*o); return 0; }; });
}

void add_compare_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("compare", "MSE and SSIM of two image files of one size (pixels in [0, 1])");
  c->add_option("a", *a, "first image")->required();
  c->add_option("b", *b, "second image")->required();
  c->callback([&run, a, b] { run = [a, b] { run_compare(*a, *b); return 0; }; });
}

}  // namespace oiad::cli
