// Archives (.tar.gz, .tgz, .tar) of image folders, and the CIFAR-10 binary release as an
// archive; libarchive reads them. Also image collections (folders of any depth, tar or zip
// archives) read as textures. Part of the oiad::data component.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

#include "image_entries.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/core/random.h"
#include "oiad/data/resize.h"
#include "oiad/data/readers.h"

namespace fs = std::filesystem;

namespace oiad::data {

namespace {
// Reads the entries of an opened archive; `path` names it in errors.
Dataset read_archive_entries(archive* a, const std::string& path) {
  std::vector<detail::ImageEntry> entries;
  std::map<std::string, std::vector<uint8_t>> cifar_batches;  // binary release inside the archive
  archive_entry* ent = nullptr;
  uint64_t kept = 0;
  int r;
  while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
    if (archive_entry_filetype(ent) != AE_IFREG) continue;
    const char* raw_name = archive_entry_pathname(ent);
    const std::string raw = raw_name ? raw_name : "", name = printable(raw);  // name: for ids and messages
    const std::string base = fs::path(raw).filename().string();
    const bool cifar = (base.rfind("data_batch_", 0) == 0 || base == "test_batch.bin") &&
                       fs::path(base).extension() == ".bin";
    if (!cifar && !has_image_extension(raw)) continue;
    detail::ImageEntry e;
    e.parts = detail::split_path(raw);
    if (detail::hidden(e.parts)) continue;
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
                        std::all_of(entries.begin(), entries.end(), [&](const detail::ImageEntry& e) {
                          return e.parts.size() > 2 && e.parts[0] == top;
                        });
    if (shared)
      for (detail::ImageEntry& e : entries) e.parts.erase(e.parts.begin());
  }
  return detail::assemble_images(std::move(entries), path);
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

namespace {
// One collection image, decoded, at side x side and `channels`.
std::vector<uint8_t> collection_image(const std::vector<uint8_t>& bytes, const std::string& name, int side,
                                      int channels) {
  const DecodedImage d = decode_image(bytes, name);
  std::vector<uint8_t> px = resize_image(d.chw.data(), d.channels, d.height, d.width, side, side);
  const size_t plane = size_t(side) * side;
  if (d.channels == channels) return px;
  std::vector<uint8_t> out(size_t(channels) * plane);
  if (channels == 1) {  // luma
    for (size_t i = 0; i < plane; ++i)
      out[i] = uint8_t(std::lround(0.299 * px[i] + 0.587 * px[plane + i] + 0.114 * px[2 * plane + i]));
  } else {
    for (int c = 0; c < channels; ++c) std::copy(px.begin(), px.begin() + ptrdiff_t(plane), out.begin() + ptrdiff_t(c * plane));
  }
  return out;
}
}  // namespace

std::vector<uint8_t> read_image_collection(const std::string& path, int side, int channels, int64_t limit,
                                           uint64_t seed, std::vector<std::string>* ids) {
  OIAD_CHECK(side >= 1 && (channels == 1 || channels == 3), "image collection ", path, ": side ", side, ", channels ",
             channels);
  // (name, bytes) of every image file, then sorted by name.
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
  uint64_t kept = 0;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      if (!e.is_regular_file() || !has_image_extension(e.path().filename().string())) continue;
      const std::string rel = fs::relative(e.path(), path).generic_string();
      if (detail::hidden(detail::split_path(rel))) continue;
      files.emplace_back(rel, read_file_bytes(e.path().string()));
      kept += files.back().second.size();
      OIAD_CHECK(kept <= max_input_bytes(), path, ": image files total more than ", max_input_bytes(),
                 " bytes (set OIAD_MAX_INPUT_BYTES to change the limit)");
    }
  } else {
    OIAD_CHECK(is_regular_file(path), path, ": cannot open: not a folder or a regular file (or missing)");
    ArchivePtr a = new_archive_reader();
    archive_read_support_format_zip(a.get());
    OIAD_CHECK(archive_read_open_filename(a.get(), path.c_str(), 1 << 16) == ARCHIVE_OK, path,
               ": cannot open archive: ", archive_error_string(a.get()));
    archive_entry* ent = nullptr;
    int r;
    while ((r = archive_read_next_header(a.get(), &ent)) == ARCHIVE_OK) {
      if (archive_entry_filetype(ent) != AE_IFREG) continue;
      const char* raw_name = archive_entry_pathname(ent);
      const std::string raw = raw_name ? raw_name : "";
      if (!has_image_extension(raw) || detail::hidden(detail::split_path(raw))) continue;
      std::vector<uint8_t> bytes;
      char buf[1 << 16];
      la_ssize_t got;
      while ((got = archive_read_data(a.get(), buf, sizeof(buf))) > 0) {
        kept += uint64_t(got);
        OIAD_CHECK(kept <= max_input_bytes(), path, ": image entries inflate to more than ", max_input_bytes(),
                   " bytes (set OIAD_MAX_INPUT_BYTES to change the limit)");
        bytes.insert(bytes.end(), buf, buf + got);
      }
      OIAD_CHECK(got == 0, path, ": entry ", printable(raw), ": ", archive_error_string(a.get()));
      files.emplace_back(printable(raw), std::move(bytes));
    }
    OIAD_CHECK(r == ARCHIVE_EOF, path, ": corrupt or truncated archive: ", archive_error_string(a.get()));
  }
  OIAD_CHECK(!files.empty(), path, ": no PNG, JPEG or BMP images");
  std::sort(files.begin(), files.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<size_t> keep(files.size());
  for (size_t i = 0; i < keep.size(); ++i) keep[i] = i;
  if (limit > 0 && int64_t(keep.size()) > limit) {
    Rng rng(seed);
    shuffle_in_place(keep, rng);
    keep.resize(size_t(limit));
    std::sort(keep.begin(), keep.end());
  }
  std::vector<uint8_t> out;
  out.reserve(keep.size() * size_t(channels) * side * side);
  for (size_t i : keep) {
    const auto px = collection_image(files[i].second, path + ": " + files[i].first, side, channels);
    out.insert(out.end(), px.begin(), px.end());
    if (ids) ids->push_back(files[i].first);
    std::vector<uint8_t>().swap(files[i].second);
  }
  return out;
}

}  // namespace oiad::data
