#include "cli_common.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/random.h"
#include "oiad/data/defects.h"
#include "oiad/data/readers.h"
#include "oiad/data/registry.h"
#include "oiad/model/preprocess.h"

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

ImageSelection select_images(const model::LoadedModel& m, const std::string& spec, const std::string& split,
                             int64_t limit) {
  const std::string model_data = m.file.meta.value("dataset", "");
  const bool own = spec.empty() || spec == model_data;
  OIAD_CHECK_USAGE(!(spec.empty() && model_data.empty()), "no --data given and the model names no data set");
  data::Dataset ds = data::load_dataset(own ? model_data : spec);
  ImageSelection s;
  s.channels = ds.channels;
  s.height = ds.height;
  s.width = ds.width;
  const size_t sz = size_t(ds.image_size());
  if (own) {
    data::OneClassSplit sp = model_split(m);
    // The stored indices mean the images they meant at training only if the data set is
    // unchanged: refuse one that changed (and any index out of range).
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
    const data::SplitPart chosen = part.subset(subset(part.size(), limit));
    for (size_t i = 0; i < chosen.size(); ++i) {
      s.ids.push_back(ds.image_id(chosen.source, chosen.index[i]));
      s.labels.push_back(chosen.anomalous[i]);
    }
    s.pixels = data::gather_pixels(ds, chosen);  // bounds-checked, defects applied
  } else {
    OIAD_CHECK_USAGE(split == "train" || split == "test", "split '", split, "' of ", spec,
                     ": expected train or test (val and cle exist only for the model's own data set)");
    const std::string which = (split == "test" && ds.test.count == 0) ? "train" : split;
    const auto& src = ds.split(which);
    const std::string normal = m.file.meta.value("normal_class_name", "");
    int normal_idx = -1;
    for (size_t c = 0; c < ds.class_names.size(); ++c)
      if (ds.class_names[c] == normal) normal_idx = int(c);
    for (size_t i : subset(size_t(src.count), limit)) {
      s.pixels.insert(s.pixels.end(), src.pixels.begin() + ptrdiff_t(i * sz), src.pixels.begin() + ptrdiff_t((i + 1) * sz));
      s.ids.push_back(ds.image_id(which, int64_t(i)));
      s.labels.push_back(normal_idx < 0 ? -1 : int(src.labels[i] != normal_idx));
    }
  }
  s.n = int64_t(s.ids.size());
  OIAD_CHECK(s.n > 0, "no images selected (", own ? model_data : spec, ", split ", split, ")");
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

detect::DecisionRule apply_decision_flags(detect::DecisionRule d, const DecisionFlags& f, const char* command,
                                          bool both_levels) {
  return detect::apply_overrides(d, f, command, "--", both_levels);
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
