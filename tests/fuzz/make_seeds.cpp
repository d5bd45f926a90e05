// Writes the seed corpora of the fuzz targets: small valid inputs of every layout each parser
// reads (the fuzzer mutates them). Usage: make_seeds OUT_DIR [MODEL_FILE]; OUT_DIR gets one
// folder per target. MODEL_FILE (a calibrated model, e.g. the test suite's fixture) adds its
// metadata, weights dropped, as model seeds.
#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "oiad/core/file_util.h"
#include "oiad/data/split.h"
#include "oiad/model/config.h"
#include "oiad/model/model_file.h"
#include "targets.h"
#include "test_util.h"

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

std::string out_dir;

void seed(const std::string& target, const std::string& name, const Bytes& b) {
  fs::create_directories(out_dir + "/" + target);
  std::ofstream(out_dir + "/" + target + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                                                 std::streamsize(b.size()));
}
void seed(const std::string& target, const std::string& name, const std::string& s) {
  seed(target, name, Bytes(s.begin(), s.end()));
}

// An IDX array of the given shape with values i * 37 (mod 256).
Bytes idx(const std::vector<uint32_t>& dims) {
  size_t n = 1;
  for (uint32_t d : dims) n *= d;
  Bytes values(n);
  for (size_t i = 0; i < n; ++i) values[i] = uint8_t(i * 37);
  return oiad::test::idx_bytes(dims, values);
}
Bytes gzip(const Bytes& raw) { return oiad::test::gzip_bytes(raw); }

Bytes encode(const std::string& ext, const cv::Mat& m, const std::vector<int>& params = {}) {
  Bytes b;
  cv::imencode(ext, m, b, params);
  return b;
}

// A tar (gzip-compressed or not) of the given entries, written with libarchive.
Bytes tar(const std::vector<std::pair<std::string, Bytes>>& entries, bool gz) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gz) archive_write_add_filter_gzip(a);
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& [name, data] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, la_int64_t(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return Bytes(buf.begin(), buf.begin() + std::ptrdiff_t(used));
}

// Machine paths in a model's metadata (where its data set was) become their last component.
void strip_paths(nlohmann::json& j) {
  if (j.is_string()) {
    const std::string v = j.get<std::string>();
    if (!v.empty() && v[0] == '/') j = fs::path(v).filename().string();
  } else if (j.is_structured()) {
    for (auto& x : j) strip_paths(x);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_seeds OUT_DIR [MODEL_FILE]\n";
    return 2;
  }
  out_dir = argv[1];

  // IDX: images (3 dims), labels (1 dim), 2 and 4 dims; raw and gzip.
  for (const auto& [name, dims] : std::vector<std::pair<std::string, std::vector<uint32_t>>>{
           {"images", {3, 4, 4}}, {"labels", {3}}, {"matrix", {2, 5}}, {"four", {1, 2, 2, 2}}}) {
    seed("idx", name, idx(dims));
    seed("idx", name + ".gz", gzip(idx(dims)));
  }

  // CIFAR-10 batches of one and two records.
  for (int n : {1, 2}) {
    Bytes b;
    for (int r = 0; r < n; ++r) {
      b.push_back(uint8_t(r * 3 % 10));
      for (int i = 0; i < 3072; ++i) b.push_back(uint8_t(i * 7 + r));
    }
    seed("cifar", "batch" + std::to_string(n), b);
  }

  // Images: every layout the decoder has a path for.
  cv::Mat grey(8, 8, CV_8UC1), colour(8, 8, CV_8UC3), rgba(8, 8, CV_8UC4), grey16(8, 8, CV_16UC1);
  cv::randu(grey, 0, 256);
  cv::randu(colour, 0, 256);
  cv::randu(rgba, 0, 256);
  cv::randu(grey16, 0, 65536);
  seed("image", "grey.png", encode(".png", grey));
  seed("image", "colour.png", encode(".png", colour));
  seed("image", "rgba.png", encode(".png", rgba));
  seed("image", "bilevel.png", encode(".png", grey > 128, {cv::IMWRITE_PNG_BILEVEL, 1}));
  seed("image", "grey16.png", encode(".png", grey16));
  seed("image", "grey.jpg", encode(".jpg", grey));
  seed("image", "colour.jpg", encode(".jpg", colour, {cv::IMWRITE_JPEG_QUALITY, 75}));
  seed("image", "progressive.jpg", encode(".jpg", colour, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  seed("image", "grey.bmp", encode(".bmp", grey));
  seed("image", "colour.bmp", encode(".bmp", colour));

  // Archives: an image folder (split layout, tar.gz and tar) and the CIFAR-10 release layout.
  const Bytes png = encode(".png", colour), jpg = encode(".jpg", colour);
  seed("archive", "split.tar.gz", tar({{"set/train/cat/a.png", png}, {"set/test/dog/b.jpg", jpg}}, true));
  seed("archive", "classes.tar", tar({{"cat/a.png", png}, {"dog/b.png", png}}, false));
  std::vector<std::pair<std::string, Bytes>> cifar;
  Bytes record(3073, 1);
  for (int b = 1; b <= 5; ++b) cifar.push_back({"cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin", record});
  cifar.push_back({"cifar-10-batches-bin/test_batch.bin", record});
  seed("archive", "cifar.tar.gz", tar(cifar, true));

  // Splits of the synthetic data set the split target gathers from, every protocol.
  const oiad::data::Dataset& ds = oiad::fuzz::synthetic_dataset();
  seed("split", "paper.json", oiad::data::make_split(ds, 1, oiad::data::Protocol::kPaper, 7, 0).to_json());
  seed("split", "standard.json", oiad::data::make_split(ds, 2, oiad::data::Protocol::kStandard, 3, 8).to_json());
  seed("split", "defects.json", oiad::data::make_split(ds, 3, oiad::data::Protocol::kDefects, 5).to_json());

  // Model files: first byte 0 = whole file, 1 = metadata JSON (targets.h).
  nlohmann::json meta = {{"config", oiad::model::ModelConfig::defaults(oiad::model::ModelKind::kDetectorVae, 1, 32).to_json()}};
  seed("model", "config.json", "\x01" + meta.dump());
  seed("model", "config.oiad", std::string(1, '\0') + oiad::fuzz::model_container(meta.dump()));
  if (argc > 2) {
    oiad::model::ModelFile f = oiad::model::ModelFile::load(argv[2]);
    f.blobs.clear();
    strip_paths(f.meta);
    seed("model", "calibrated.json", "\x01" + f.meta.dump());
    seed("model", "calibrated.oiad", std::string(1, '\0') + f.to_bytes());
  }
  std::cout << "seeds written to " << out_dir << "\n";
  return 0;
}
