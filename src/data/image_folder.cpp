// Image folders (archives of them: image_archive.cpp); decoding is in image_decode.cpp.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/readers.h"
#include "image_entries.h"

namespace fs = std::filesystem;

namespace oiad::data {

bool has_image_extension(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

DecodedImage read_image_file(const std::string& path) { return decode_image(read_file_bytes(path), path); }

void write_png(const std::string& path, const uint8_t* chw, int channels, int height, int width) {
  OIAD_CHECK(channels == 1 || channels == 3, path, ": cannot write ", channels, "-channel PNG");
  cv::Mat m(height, width, channels == 1 ? CV_8UC1 : CV_8UC3);
  for (int y = 0; y < height; ++y) {
    uint8_t* row = m.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x)
      for (int k = 0; k < channels; ++k)  // OpenCV wants BGR
        row[x * channels + (channels == 3 ? 2 - k : 0)] = chw[(size_t(k) * height + y) * width + x];
  }
  std::vector<uint8_t> buf;
  OIAD_CHECK(cv::imencode(".png", m, buf), path, ": PNG encoding failed");
  write_file_atomic(path, buf.data(), buf.size());
}

namespace detail {

std::vector<std::string> split_path(const std::string& rel) {
  std::vector<std::string> parts;
  for (const auto& p : fs::path(rel)) {
    const std::string s = p.string();
    if (!s.empty() && s != "." && s != "/") parts.push_back(s);
  }
  return parts;
}

bool hidden(const std::vector<std::string>& parts) {
  for (const auto& p : parts)
    if (!p.empty() && p[0] == '.') return true;
  return false;
}

namespace {

std::string stem_of(const std::string& file) { return fs::path(file).stem().string(); }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

// MVTec AD: ground_truth/<defect>/<name>_mask.png is the mask of test/<defect>/<name>.<ext>.
bool is_mvtec_mask(const ImageEntry& e) { return e.parts.size() == 3 && e.parts[0] == "ground_truth"; }

// The Magnetic-tile defect data set: MT_<class>/Imgs/<name>.jpg with its mask <name>.png beside.
bool is_magnetic_tile(const std::vector<ImageEntry>& entries) {
  for (const ImageEntry& e : entries)
    if (e.parts.size() != 3 || e.parts[0].rfind("MT_", 0) != 0 || e.parts[1] != "Imgs") return false;
  return true;
}

}  // namespace

// Builds a Dataset from image entries laid out as <split>/<class>/file, <class>/file or file,
// with masks for the MVTec AD layout and the magnetic-tile layout.
Dataset assemble_images(std::vector<ImageEntry> entries, const std::string& source) {
  OIAD_CHECK(!entries.empty(), source, ": no images (.png, .jpg, .jpeg, .bmp) found");
  std::sort(entries.begin(), entries.end(), [](const ImageEntry& a, const ImageEntry& b) { return a.id < b.id; });
  // Masks come out of the entries first; `mask_key` is the entry id of the image each belongs to
  // without its extension.
  std::vector<ImageEntry> masks;
  std::vector<std::string> mask_key;
  const bool magnetic = is_magnetic_tile(entries);
  {
    std::vector<ImageEntry> images;
    for (ImageEntry& e : entries) {
      if (is_mvtec_mask(e)) {
        const std::string stem = stem_of(e.parts[2]);
        const std::string suffix = "_mask";
        OIAD_CHECK(stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0,
                   source, ": mask ", e.id, " is not named <image>_mask.png like MVTec AD's masks");
        mask_key.push_back("test/" + e.parts[1] + "/" + stem.substr(0, stem.size() - suffix.size()));
        masks.push_back(std::move(e));
      } else if (magnetic && lower(fs::path(e.parts[2]).extension().string()) == ".png") {
        mask_key.push_back(e.parts[0] + "/" + e.parts[1] + "/" + stem_of(e.parts[2]));
        masks.push_back(std::move(e));
      } else {
        images.push_back(std::move(e));
      }
    }
    entries = std::move(images);
  }
  OIAD_CHECK(!entries.empty(), source, ": no images (.png, .jpg, .jpeg, .bmp) found beside the masks");
  const bool with_masks = !masks.empty();
  auto is_split = [](const std::string& s) { return s == "train" || s == "test"; };
  bool any_split = false, all_flat = true;
  for (const ImageEntry& e : entries) {
    any_split |= (e.parts.size() >= 3 && is_split(e.parts[0]));
    all_flat &= (e.parts.size() == 1);
  }
  // (split, class) per entry.
  std::vector<std::pair<std::string, std::string>> where(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& p = entries[i].parts;
    if (magnetic) {
      where[i] = {"train", p[0].substr(3)};
    } else if (all_flat) {
      where[i] = {"train", "all"};
    } else if (any_split) {
      OIAD_CHECK(p.size() >= 3 && is_split(p[0]), source, ": entry ", entries[i].id,
                 " is not under train/<class>/ or test/<class>/ like the other images",
                 " (masks go under ground_truth/<class>/ as in MVTec AD)");
      where[i] = {p[0], p[1]};
    } else {
      OIAD_CHECK(p.size() >= 2, source, ": entry ", entries[i].id,
                 " lies beside the class folders (expected <class>/<file>)");
      where[i] = {"train", p[0]};
    }
  }
  // The mask of each image (index into `masks`, -1: none); every mask must find its image.
  std::vector<int64_t> mask_of(entries.size(), -1);
  if (with_masks) {
    std::map<std::string, size_t> image_by_key;
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& p = entries[i].parts;
      std::string key;
      for (size_t k = 0; k + 1 < p.size(); ++k) key += p[k] + "/";
      image_by_key[key + stem_of(p.back())] = i;
    }
    for (size_t m = 0; m < masks.size(); ++m) {
      const auto it = image_by_key.find(mask_key[m]);
      OIAD_CHECK(it != image_by_key.end(), source, ": mask ", masks[m].id, " has no image (expected ", mask_key[m],
                 ".<png|jpg|bmp>)");
      mask_of[it->second] = int64_t(m);
    }
  }
  std::set<std::string> classes;
  for (const auto& w : where) classes.insert(w.second);
  Dataset ds;
  ds.source = source;
  ds.name = source;
  ds.class_names.assign(classes.begin(), classes.end());
  std::map<std::string, int> class_index;
  for (size_t i = 0; i < ds.class_names.size(); ++i) class_index[ds.class_names[i]] = int(i);

  // Sizes from the headers first: a set whose decoded pixels would exceed max_input_bytes() is
  // refused before any pixel buffer exists.
  {
    uint64_t total = 0;
    for (const ImageEntry& e : entries) {
      const int64_t px = image_header_pixels(e.bytes);
      if (px < 0) continue;  // not an image by its bytes: decode_image names the entry below
      total += uint64_t(px) * (3 + (with_masks ? 1 : 0));
      OIAD_CHECK(total <= max_input_bytes(), source, ": decoded images would take more than ", max_input_bytes(),
                 " bytes (set OIAD_MAX_INPUT_BYTES to change the limit)");
    }
  }
  // Decode in parallel; the first error (in entry order) wins so messages are deterministic.
  std::vector<DecodedImage> img(entries.size()), mask_img(entries.size());
  std::vector<std::string> err(entries.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < int64_t(entries.size()); ++i) {
    try {
      img[i] = decode_image(entries[i].bytes, source + ": " + entries[i].id);
      if (mask_of[size_t(i)] >= 0) {
        const ImageEntry& m = masks[size_t(mask_of[size_t(i)])];
        mask_img[i] = decode_image(m.bytes, source + ": " + m.id);
        OIAD_CHECK(mask_img[i].height == img[i].height && mask_img[i].width == img[i].width, source, ": mask ", m.id,
                   " is ", mask_img[i].width, "x", mask_img[i].height, " but its image ", entries[i].id, " is ",
                   img[i].width, "x", img[i].height);
      }
    } catch (const std::exception& e) {
      err[i] = e.what();
    }
    std::vector<uint8_t>().swap(entries[i].bytes);
  }
  for (const auto& e : err)
    if (!e.empty()) throw Error(e);
  ds.channels = 1;
  bool same = true;
  for (size_t i = 0; i < img.size(); ++i) {
    same &= img[i].height == img[0].height && img[i].width == img[0].width;
    ds.channels = std::max(ds.channels, img[i].channels);
  }
  ds.height = same ? img[0].height : 0;
  ds.width = same ? img[0].width : 0;
  for (size_t i = 0; i < img.size(); ++i) {
    ImageSet& s = where[i].first == "train" ? ds.train : ds.test;
    const size_t plane = size_t(img[i].height) * img[i].width;
    if (!same) {
      s.heights.push_back(img[i].height);
      s.widths.push_back(img[i].width);
      s.offsets.push_back(int64_t(s.pixels.size()));
    }
    s.count++;
    s.labels.push_back(class_index[where[i].second]);
    s.ids.push_back(entries[i].id);
    for (int c = 0; c < ds.channels; ++c) {
      const int src = img[i].channels == 1 ? 0 : c;  // grey replicated into colour sets
      s.pixels.insert(s.pixels.end(), img[i].chw.begin() + src * plane, img[i].chw.begin() + (src + 1) * plane);
    }
    std::vector<uint8_t>().swap(img[i].chw);
    if (!with_masks) continue;
    // A known mask: its first channel thresholded at half; MVTec AD's good images (and its
    // training images) are defect-free by the layout's definition; any other image without
    // a mask file has none.
    const bool known = mask_of[i] >= 0 || where[i].second == "good" || (!magnetic && where[i].first == "train");
    s.has_mask.push_back(known ? 1 : 0);
    const size_t at = s.masks.size();
    s.masks.resize(at + plane, 0);
    if (mask_of[i] >= 0)
      for (size_t k = 0; k < plane; ++k) s.masks[at + k] = mask_img[i].chw[k] > 127 ? 1 : 0;
    std::vector<uint8_t>().swap(mask_img[i].chw);
  }
  return ds;
}

}  // namespace detail

Dataset read_image_folder(const std::string& root) {
  std::error_code ec;
  OIAD_CHECK(fs::is_directory(root, ec), root, ": not a folder");
  std::vector<detail::ImageEntry> entries;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    OIAD_CHECK(!ec, root, ": cannot list: ", ec.message());
    if (!it->is_regular_file() || !has_image_extension(it->path().string())) continue;
    detail::ImageEntry e;
    const std::string rel = fs::relative(it->path(), root).generic_string();
    e.parts = detail::split_path(rel);
    if (detail::hidden(e.parts)) continue;
    e.id = printable(rel);
    e.bytes = read_file_bytes(it->path().string());
    entries.push_back(std::move(e));
  }
  OIAD_CHECK(!ec, root, ": cannot list: ", ec.message());
  return detail::assemble_images(std::move(entries), root);
}

}  // namespace oiad::data
