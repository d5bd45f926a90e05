// Image folders and archives of them (.tar.gz), decoded with OpenCV's imgcodecs.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/readers.h"

namespace fs = std::filesystem;

namespace oiad::data {

bool has_image_extension(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

int64_t max_image_pixels() {
  static const int64_t limit = [] {
    int64_t v = int64_t(1) << 26;
    if (const char* s = std::getenv("OIAD_MAX_IMAGE_PIXELS")) {
      char* end = nullptr;
      const long long x = std::strtoll(s, &end, 10);
      OIAD_CHECK(end != s && *end == 0 && x >= 1 && x <= (int64_t(1) << 40), "OIAD_MAX_IMAGE_PIXELS '", s,
                 "' is not a number of pixels in [1, 2^40]");
      v = x;
    }
    return v;
  }();
  return limit;
}

namespace {
uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
int64_t le32s(const uint8_t* p) {
  return int64_t(int32_t(uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24)));
}

// Width x height from the header of a PNG (IHDR), JPEG (the first SOF marker) or BMP
// (BITMAPINFOHEADER), before anything is decoded; -1 when the header does not say.
int64_t header_pixels(const std::vector<uint8_t>& b) {
  const size_t n = b.size();
  if (n >= 24 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return int64_t(be32(&b[16])) * be32(&b[20]);
  if (n >= 26 && b[0] == 'B' && b[1] == 'M') return std::abs(le32s(&b[18])) * std::abs(le32s(&b[22]));
  if (n >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
    size_t i = 2;
    while (i + 9 < n) {
      if (b[i] != 0xFF) return -1;
      const uint8_t marker = b[i + 1];
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
        return int64_t(be16(&b[i + 5])) * be16(&b[i + 7]);
      i += 2 + be16(&b[i + 2]);
    }
  }
  return -1;
}
}  // namespace

DecodedImage decode_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  OIAD_CHECK(!bytes.empty(), name, ": empty image file");
  const int64_t limit = max_image_pixels(), pixels = header_pixels(bytes);
  OIAD_CHECK(pixels <= limit, name, ": ", pixels, " pixels, above the limit of ", limit,
             " (set OIAD_MAX_IMAGE_PIXELS to change it)");
  cv::Mat m;
  try {
    m = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    const std::string what = e.what();
    throw Error(name + ": cannot decode image: " + what.substr(0, what.find('\n')));
  }
  OIAD_CHECK(!m.empty(), name, ": cannot decode image (corrupt or not a PNG/JPEG/BMP file)");
  OIAD_CHECK(m.depth() == CV_8U, name, ": unsupported bit depth (only 8-bit images are read)");
  cv::Mat rgb;
  int c = m.channels();
  if (c == 1) {
    rgb = m;
  } else if (c == 3) {
    cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB);
  } else if (c == 4) {
    cv::cvtColor(m, rgb, cv::COLOR_BGRA2RGB);
    c = 3;
  } else {
    throw Error(detail::concat(name, ": unsupported channel count ", c));
  }
  DecodedImage d;
  d.channels = c;
  d.height = rgb.rows;
  d.width = rgb.cols;
  d.chw.resize(size_t(c) * d.height * d.width);
  for (int y = 0; y < d.height; ++y) {
    const uint8_t* row = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < d.width; ++x)
      for (int k = 0; k < c; ++k) d.chw[(size_t(k) * d.height + y) * d.width + x] = row[x * c + k];
  }
  return d;
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

namespace {

struct Entry {
  std::vector<std::string> parts;  // relative path components
  std::string id;                  // relative path joined with '/'
  std::vector<uint8_t> bytes;
};

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

// Builds a Dataset from image entries laid out as <split>/<class>/file, <class>/file or file.
Dataset assemble(std::vector<Entry> entries, const std::string& source) {
  OIAD_CHECK(!entries.empty(), source, ": no images (.png, .jpg, .jpeg, .bmp) found");
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  auto is_split = [](const std::string& s) { return s == "train" || s == "test"; };
  bool any_split = false, all_flat = true;
  for (const Entry& e : entries) {
    any_split |= (e.parts.size() >= 3 && is_split(e.parts[0]));
    all_flat &= (e.parts.size() == 1);
  }
  // (split, class) per entry.
  std::vector<std::pair<std::string, std::string>> where(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& p = entries[i].parts;
    if (all_flat) {
      where[i] = {"train", "all"};
    } else if (any_split) {
      OIAD_CHECK(p.size() >= 3 && is_split(p[0]), source, ": entry ", entries[i].id,
                 " is not under train/<class>/ or test/<class>/ like the other images");
      where[i] = {p[0], p[1]};
    } else {
      OIAD_CHECK(p.size() >= 2, source, ": entry ", entries[i].id,
                 " lies beside the class folders (expected <class>/<file>)");
      where[i] = {"train", p[0]};
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

  // Decode in parallel; the first error (in entry order) wins so messages are deterministic.
  std::vector<DecodedImage> img(entries.size());
  std::vector<std::string> err(entries.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < int64_t(entries.size()); ++i) {
    try {
      img[i] = decode_image(entries[i].bytes, source + ": " + entries[i].id);
    } catch (const std::exception& e) {
      err[i] = e.what();
    }
    std::vector<uint8_t>().swap(entries[i].bytes);
  }
  for (const auto& e : err)
    if (!e.empty()) throw Error(e);
  ds.height = img[0].height;
  ds.width = img[0].width;
  ds.channels = 1;
  for (size_t i = 0; i < img.size(); ++i) {
    OIAD_CHECK(img[i].height == ds.height && img[i].width == ds.width, source, ": mixed image sizes: ",
               entries[i].id, " is ", img[i].width, "x", img[i].height, " but ", entries[0].id, " is ",
               ds.width, "x", ds.height);
    ds.channels = std::max(ds.channels, img[i].channels);
  }
  const size_t plane = size_t(ds.height) * ds.width;
  for (size_t i = 0; i < img.size(); ++i) {
    ImageSet& s = where[i].first == "train" ? ds.train : ds.test;
    s.count++;
    s.labels.push_back(class_index[where[i].second]);
    s.ids.push_back(entries[i].id);
    for (int c = 0; c < ds.channels; ++c) {
      const int src = img[i].channels == 1 ? 0 : c;  // grey replicated into colour sets
      s.pixels.insert(s.pixels.end(), img[i].chw.begin() + src * plane, img[i].chw.begin() + (src + 1) * plane);
    }
    std::vector<uint8_t>().swap(img[i].chw);
  }
  return ds;
}

}  // namespace

Dataset read_image_folder(const std::string& root) {
  std::error_code ec;
  OIAD_CHECK(fs::is_directory(root, ec), root, ": not a folder");
  std::vector<Entry> entries;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    OIAD_CHECK(!ec, root, ": cannot list: ", ec.message());
    if (!it->is_regular_file() || !has_image_extension(it->path().string())) continue;
    Entry e;
    const std::string rel = fs::relative(it->path(), root).generic_string();
    e.parts = split_path(rel);
    if (hidden(e.parts)) continue;
    e.id = rel;
    e.bytes = read_file_bytes(it->path().string());
    entries.push_back(std::move(e));
  }
  OIAD_CHECK(!ec, root, ": cannot list: ", ec.message());
  return assemble(std::move(entries), root);
}

Dataset read_image_archive(const std::string& path) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  OIAD_CHECK(archive_read_open_filename(a.get(), path.c_str(), 1 << 16) == ARCHIVE_OK, path,
             ": cannot open archive: ", archive_error_string(a.get()));
  std::vector<Entry> entries;
  std::map<std::string, std::vector<uint8_t>> cifar_batches;  // binary release inside the archive
  archive_entry* ent = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &ent)) == ARCHIVE_OK) {
    if (archive_entry_filetype(ent) != AE_IFREG) continue;
    const std::string name = archive_entry_pathname(ent);
    const std::string base = fs::path(name).filename().string();
    const bool cifar = (base.rfind("data_batch_", 0) == 0 || base == "test_batch.bin") &&
                       fs::path(base).extension() == ".bin";
    if (!cifar && !has_image_extension(name)) continue;
    Entry e;
    e.parts = split_path(name);
    if (hidden(e.parts)) continue;
    e.id = name;
    const la_int64_t size = archive_entry_size(ent);
    if (size > 0) e.bytes.reserve(size_t(size));
    char buf[1 << 16];
    la_ssize_t got;
    while ((got = archive_read_data(a.get(), buf, sizeof(buf))) > 0) e.bytes.insert(e.bytes.end(), buf, buf + got);
    OIAD_CHECK(got == 0, path, ": entry ", name, ": ", archive_error_string(a.get()));
    if (cifar)
      cifar_batches[base] = std::move(e.bytes);
    else
      entries.push_back(std::move(e));
  }
  OIAD_CHECK(r == ARCHIVE_EOF, path, ": corrupt or truncated archive",
             (entries.empty() ? std::string() : " after entry " + entries.back().id), ": ",
             archive_error_string(a.get()));
  if (!cifar_batches.empty()) {
    Dataset ds;
    ds.source = path;
    ds.name = path;
    ds.channels = 3;
    ds.height = ds.width = 32;
    ds.class_names = cifar10_class_names();
    for (int b = 1; b <= 5; ++b) {
      const std::string n = "data_batch_" + std::to_string(b) + ".bin";
      OIAD_CHECK(cifar_batches.count(n), path, ": CIFAR-10 archive has no ", n);
      parse_cifar_batch(cifar_batches[n], path + ": " + n, ds.train);
    }
    OIAD_CHECK(cifar_batches.count("test_batch.bin"), path, ": CIFAR-10 archive has no test_batch.bin");
    parse_cifar_batch(cifar_batches["test_batch.bin"], path + ": test_batch.bin", ds.test);
    return ds;
  }
  // Skip one top-level folder shared by every entry (e.g. "cifar10/train/cat/1.jpg").
  if (!entries.empty() && entries[0].parts.size() > 1) {
    const std::string top = entries[0].parts[0];
    const bool shared = top != "train" && top != "test" &&
                        std::all_of(entries.begin(), entries.end(), [&](const Entry& e) {
                          return e.parts.size() > 2 && e.parts[0] == top;
                        });
    if (shared)
      for (Entry& e : entries) e.parts.erase(e.parts.begin());
  }
  return assemble(std::move(entries), path);
}

}  // namespace oiad::data
