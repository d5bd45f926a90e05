#include "cli_common.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "oiad/core/choice.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/random.h"
#include "oiad/data/defects.h"
#include "oiad/data/readers.h"
#include "oiad/data/registry.h"
#include "oiad/model/config.h"

namespace oiad::cli {

SplitData load_split_data(const std::string& spec, const std::string& normal_class, const std::string& protocol,
                          uint64_t seed, int64_t limit, const std::vector<std::string>& families) {
  SplitData d;
  const data::Protocol p = data::parse_protocol(protocol);
  d.dataset = data::load_dataset(spec);
  const int cls = data::resolve_class(d.dataset, normal_class);
  d.split = data::make_split(d.dataset, cls, p, seed, limit, families);
  return d;
}

void add_defects_option(CLI::App* c, std::vector<std::string>& families) {
  std::string names;
  for (const auto& f : data::defect_family_names()) names += (names.empty() ? "" : ", ") + f;
  c->add_option("--defects", families,
                "defect families of --protocol defects, comma-separated, of: " + names + " (default: all, taking turns)")
      ->delimiter(',')
      ->check(CLI::IsMember(data::defect_family_names()));
}

detect::DecisionRule apply_decision_flags(detect::DecisionRule d, const DecisionFlags& f, const char* command,
                                          bool both_levels) {
  return detect::apply_overrides(d, f, command, "--", both_levels);
}

std::string join(const std::vector<std::string>& values, const char* sep) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? sep : "") + values[i];
  return out;
}

CLI::Option* add_choice(CLI::App* c, const std::string& flag, std::string& value, const std::vector<std::string>& names,
                        const std::string& help) {
  // CLI11 lists the allowed values beside the flag (TEXT:{a,b,c}); the help adds the default.
  return c->add_option(flag, value, value.empty() ? help : help + " (default: " + value + ")")
      ->check(CLI::IsMember(names));
}

CLI::Option* add_model_file(CLI::App* c, std::string& path, const std::string& help) {
  return c->add_option("--model", path, help)->required();
}

CLI::Option* add_data_option(CLI::App* c, std::string& spec, const std::string& help) {
  return c->add_option("--data", spec, help + ": " + choice_list(data::known_dataset_names(), ", ") +
                                           ", a folder of images or a .tar.gz archive");
}

void add_split_options(CLI::App* c, std::string& normal_class, std::string& protocol,
                       std::vector<std::string>& families) {
  c->add_option("--normal-class", normal_class, "normal class: index or name")->required();
  add_choice(c, "--protocol", protocol, data::protocol_names(),
             "one-class split: paper (Sec. IV.B), standard (Ruff et al. 2018) or defects (synthetic local defects "
             "on the normal class)");
  add_defects_option(c, families);
}

CLI::Option* add_split_limit(CLI::App* c, int64_t& limit) {
  return c->add_option("--limit", limit, "cap the images drawn for each part of the split (0: no cap)")
      ->check(CLI::NonNegativeNumber);
}

void add_sample_option(CLI::App* c, int64_t& sample, const std::string& what) {
  c->add_option("--sample", sample, "score a seeded random subset of this many " + what + " (0: all)")
      ->check(CLI::NonNegativeNumber);
  // The old spelling, which other commands use for a cap per split part.
  c->add_option_function<int64_t>(
       "--limit",
       [&sample, c](int64_t v) {
         std::cerr << "oiad: " << c->get_name() << " --limit is deprecated and will be removed; use --sample " << v
                   << "\n";
         sample = v;
       },
       "deprecated: the old name of --sample")
      ->check(CLI::NonNegativeNumber)
      ->group("");
}

CLI::Option* add_seed_option(CLI::App* c, uint64_t& seed, const std::string& what) {
  return c->add_option("--seed", seed, "seed of " + what)->capture_default_str();
}

CLI::Option* add_preset_option(CLI::App* c, std::string& preset, const std::string& help) {
  return add_choice(c, "--preset", preset, detect::preset_names(), help);
}

CLI::Option* add_input_size_option(CLI::App* c, int& size) {
  std::vector<std::string> sizes;
  for (int s : model::input_sizes()) sizes.push_back(std::to_string(s));
  return c->add_option("--input-size", size,
                       "network input side: " + choice_list(sizes) + " (28x28 images are padded to 32, others "
                       "resized; default " + std::to_string(size) + ")")
      ->check(CLI::IsMember(model::input_sizes()));
}

void add_tile_options(CLI::App* c, TileFlags& t) {
  std::vector<std::string> sizes;
  for (int s : model::input_sizes()) sizes.push_back(std::to_string(s));
  c->add_option("--tile", t.side,
                "score images at their own resolution in overlapping tiles of SIDE (the network side: " +
                    choice_list(sizes) + "); the image score is the highest tile score, calibrated on whole VAL "
                    "images, and change maps are stitched at full size (default: images are resized to the network)")
      ->check(CLI::IsMember(model::input_sizes()));
  c->add_option("--stride", t.stride, "tile stride in pixels, 1 to SIDE (default SIDE / 2)")->check(CLI::PositiveNumber);
  c->add_option("--tiles", t.tiles, "training tiles drawn (seeded) from the normal images (default 16 per image, "
                                    "at least 2000)")
      ->check(CLI::PositiveNumber);
}

void TileFlags::resolve(int& input_size, bool input_size_given, const char* command) {
  if (side == 0) {
    OIAD_CHECK_USAGE(stride == 0 && tiles == 0, command, ": --stride and --tiles apply with --tile SIDE");
    return;
  }
  OIAD_CHECK_USAGE(!input_size_given || input_size == side, command, ": --input-size ", input_size, " and --tile ",
                   side, " disagree (with tiles the network side is the tile side)");
  input_size = side;
  if (stride == 0) stride = side / 2;
  OIAD_CHECK_USAGE(stride <= side, command, ": --stride ", stride, " is larger than the tile side ", side,
                   " (tiles would leave gaps)");
}

std::string preset_gamma_help() {
  std::string h = "default: the preset's";
  for (const std::string& p : detect::preset_names())
    h += (p == detect::preset_names().front() ? ", " : ", ") +
         NumberSpec::default_text(detect::preset_gamma(detect::parse_preset(p))) + " for " + p;
  return h;
}

std::string preset_values_help(double (*field)(const detect::DetectorOptions&)) {
  std::string h = "default: the preset's";
  for (const std::string& p : detect::preset_names())
    h += ", " + NumberSpec::default_text(field(detect::preset_options(detect::parse_preset(p)))) + " for " + p;
  return h;
}

std::string presets_help() {
  std::vector<std::string> parts;
  for (const std::string& name : detect::preset_names()) {
    const detect::Preset p = detect::parse_preset(name);
    const detect::DetectorOptions o = detect::preset_options(p);
    const detect::DecisionRule d = detect::preset_decision(p);
    const auto n = [](double v) { return NumberSpec::default_text(v); };
    std::string h = name + " (N = " + std::to_string(o.morphs) + " morphs per code, " +
                    detect::placement_name(o.placement) + "-placed over radius steps of " + n(o.radius_step) + ", ";
    h += o.duplicate_tolerance > 0 ? "duplicate codes once (within " + n(o.duplicate_tolerance) + " VAL sd)"
                                   : std::string("every code");
    h += "; decides by the " + detect::rule_name(d.rule) + " rule at " +
         (d.rule == detect::Rule::kPaper ? "α = " + n(d.alpha) : "F = " + n(d.fpr)) +
         "; trains the Detector-VAE with γ = " + n(detect::preset_gamma(p)) + ")";
    parts.push_back(h);
  }
  return choice_list(parts);
}

void add_train_options(CLI::App* c, train::TrainOptions& t) {
  add_number(c, train::spec::kEpochs, t.epochs);
  add_number(c, train::spec::kBatchSize, t.batch_size);
  add_number(c, train::spec::kLr, t.lr);
  add_number(c, train::spec::kDiscLr, t.disc_lr);
  add_number(c, train::spec::kKlWarmup, t.kl_warmup_epochs);
}

void add_recseg_options(CLI::App* c, peers::RecSegOptions& o, std::vector<int>& widths, std::string& source,
                        int64_t& sources) {
  c->add_option("--recseg-widths", widths,
                "recseg: base widths of the reconstructive and discriminative networks, REC,SEG (DRAEM: 128,64; "
                "default: " + std::to_string(o.rec_width) + "," + std::to_string(o.seg_width) + ")")
      ->delimiter(',')
      ->expected(2);
  c->add_option("--recseg-steps", o.steps,
                "recseg: training steps of " + std::to_string(o.batch_size) +
                    " images (DRAEM: 700 epochs, about 22,000 steps on an MVTec AD category)")
      ->capture_default_str();
  c->add_option("--recseg-filter", o.filter,
                "recseg: side of the image score's mean filter (odd; 0: 21 scaled from 256 pixels to the input)")
      ->capture_default_str();
  c->add_option("--anomaly-source", source,
                "recseg: where simulated anomalies take their content: openarena (Debian's openarena-081-textures), "
                "procedural, or a folder or archive (tar, zip) of images")
      ->capture_default_str();
  c->add_option("--recseg-sources", sources, "recseg: at most this many anomaly-source images (seeded)")
      ->capture_default_str();
}

void apply_recseg_widths(peers::RecSegOptions& o, const std::vector<int>& widths) {
  if (widths.size() == 2) o.rec_width = widths[0], o.seg_width = widths[1];
}

void check_anomaly_source(const std::string& source, const char* command) {
  if (source == "procedural") return;
  const std::string path = data::texture_set_path(source);
  OIAD_CHECK_USAGE(std::filesystem::exists(path), command, ": --anomaly-source ", path,
                   ": no such folder or archive (or use procedural)");
}

void add_metric_option(CLI::App* c, std::string& metric) {
  c->add_option("--metric", metric,
                "structure-consistency metric of a detector model: " + choice_list(detect::metric_names()) +
                    " (default " + detect::metric_name(detect::kDefaultMetric) +
                    "). A VAE or DCAE model has one score, its reconstruction error; a recseg model its "
                    "segmentation score")
      ->check(CLI::IsMember(detect::metric_names()));
}

void add_decision_flags(CLI::App* c, DecisionFlags& flags, const std::string& what) {
  c->add_option("--rule", flags.rule,
                what + ": one-sided (mean standardised SC against VAL, flags a share F of normal images), "
                       "relative (the one-sided score less what the image's own complexity predicts of it, "
                       "fitted on VAL; flags a share F) or paper (the two-sided α rule of Sec. III.D)")
      ->check(CLI::IsMember(detect::rule_names()));
  c->add_option("--fpr", flags.fpr, "F of the one-sided and relative rules: the share of normal VAL images flagged, in (0, 1)");
  c->add_option("--alpha", flags.alpha, "α of the paper rule, in (0, 0.5]");
}

void check_out_is_not_an_input(const char* command, const std::string& out, const std::vector<std::string>& inputs) {
  if (out.empty() || out == "-") return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path o = fs::weakly_canonical(out, ec);
  for (const auto& in : inputs) {
    std::error_code ec2;
    OIAD_CHECK_USAGE(ec || o != fs::weakly_canonical(in, ec2), command, ": --out ", out,
                     " is an input of this command; writing it would destroy it");
  }
}

void check_can_write(const char* command, const std::string& out) {
  if (out.empty() || out == "-") return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(out, ec);
  OIAD_CHECK(!fs::is_directory(st), command, ": --out ", out, " is a folder, not a file");
  if (fs::is_character_file(st) || fs::is_fifo(st)) {  // /dev/null, /dev/stdout: written in place
    OIAD_CHECK(access(out.c_str(), W_OK) == 0, command, ": --out ", out, " is not writable");
    return;
  }
  OIAD_CHECK(!fs::exists(st) || fs::is_regular_file(st), command, ": --out ", out,
             " is a block device or socket; refusing to replace it");
  // The file is replaced by renaming a new one beside it: its folder must be writable (a
  // symbolic link is followed to where the file really is).
  const fs::path real = fs::exists(st) ? fs::canonical(out, ec) : fs::path(out);
  const fs::path parent = real.has_parent_path() ? real.parent_path() : fs::path(".");
  OIAD_CHECK(fs::is_directory(parent, ec), command, ": --out ", out, ": folder ", parent.string(), " does not exist");
  OIAD_CHECK(access(parent.c_str(), W_OK) == 0, command, ": --out ", out, ": folder ", parent.string(),
             " is not writable");
}

void check_can_write_folder(const char* command, const std::string& out) {
  if (out.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out, ec)) {
    OIAD_CHECK(fs::is_directory(out, ec), command, ": --out ", out, " exists and is not a folder");
    OIAD_CHECK(access(out.c_str(), W_OK) == 0, command, ": --out ", out, ": folder is not writable");
    return;
  }
  // Created with its missing parents: the nearest existing ancestor must be a writable folder.
  fs::path p = fs::absolute(out, ec).parent_path();
  while (!p.empty() && !fs::exists(p, ec) && p != p.root_path()) p = p.parent_path();
  OIAD_CHECK(fs::is_directory(p, ec), command, ": --out ", out, ": ", p.string(), " is not a folder");
  OIAD_CHECK(access(p.c_str(), W_OK) == 0, command, ": --out ", out, ": cannot create it in ", p.string(),
             " (not writable)");
}

void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text << std::flush;
    return;
  }
  remove_stale_temporaries(path);
  write_file_atomic(path, text);
}

}  // namespace oiad::cli
