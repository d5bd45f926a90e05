// Image folders and archives of them (.tar.gz); decoding is in image_decode.cpp.
#include <archive.h>
#include <archive_entry.h>

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

  // Sizes from the headers first: mixed sizes, and a set whose decoded pixels would exceed
  // max_input_bytes(), are refused before any pixel buffer exists.
  {
    const int64_t first = image_header_pixels(entries[0].bytes);
    uint64_t total = 0;
    for (const Entry& e : entries) {
      const int64_t px = image_header_pixels(e.bytes);
      if (px < 0) continue;  // not an image by its bytes: decode_image names the entry below
      OIAD_CHECK(first < 0 || px == first, source, ": mixed image sizes: ", e.id, " has ", px, " pixels but ",
                 entries[0].id, " has ", first);
      total += uint64_t(px) * 3;
      OIAD_CHECK(total <= max_input_bytes(), source, ": decoded images would take more than ", max_input_bytes(),
                 " bytes (set OIAD_MAX_INPUT_BYTES to change the limit)");
    }
  }
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

namespace {
// Reads the entries of an opened archive; `path` names it in errors.
Dataset read_archive_entries(archive* a, const std::string& path) {
  std::vector<Entry> entries;
  std::map<std::string, std::vector<uint8_t>> cifar_batches;  // binary release inside the archive
  archive_entry* ent = nullptr;
  uint64_t kept = 0;
  int r;
  while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
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
    // The size an entry's header claims is never trusted to reserve memory; what is kept is
    // bounded by max_input_bytes() in total.
    char buf[1 << 16];
    la_ssize_t got;
    while ((got = archive_read_data(a, buf, sizeof(buf))) > 0) {
      kept += uint64_t(got);
      OIAD_CHECK(kept <= max_input_bytes(), path, ": image entries inflate to more than ", max_input_bytes(),
                 " bytes (set OIAD_MAX_INPUT_BYTES to change the limit)");
      e.bytes.insert(e.bytes.end(), buf, buf + got);
    }
    OIAD_CHECK(got == 0, path, ": entry ", name, ": ", archive_error_string(a));
    if (cifar)
      cifar_batches[base] = std::move(e.bytes);
    else
      entries.push_back(std::move(e));
  }
  OIAD_CHECK(r == ARCHIVE_EOF, path, ": corrupt or truncated archive",
             (entries.empty() ? std::string() : " after entry " + entries.back().id), ": ",
             archive_error_string(a));
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

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

ArchivePtr new_archive_reader() {
  ArchivePtr a(archive_read_new(), archive_read_free);
  OIAD_CHECK(a != nullptr, "cannot start the archive reader");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  return a;
}
}  // namespace

Dataset read_image_archive(const std::string& path) {
  // Opened by name (not read whole) so that a large archive streams; a folder or FIFO is
  // refused first, as for every input file.
  OIAD_CHECK(is_regular_file(path), path, ": cannot open: not a regular file (or missing)");
  ArchivePtr a = new_archive_reader();
  OIAD_CHECK(archive_read_open_filename(a.get(), path.c_str(), 1 << 16) == ARCHIVE_OK, path,
             ": cannot open archive: ", archive_error_string(a.get()));
  return read_archive_entries(a.get(), path);
}

Dataset parse_image_archive(const std::vector<uint8_t>& bytes, const std::string& name) {
  ArchivePtr a = new_archive_reader();
  OIAD_CHECK(archive_read_open_memory(a.get(), bytes.data(), bytes.size()) == ARCHIVE_OK, name,
             ": cannot open archive: ", archive_error_string(a.get()));
  return read_archive_entries(a.get(), name);
}

}  // namespace oiad::data
