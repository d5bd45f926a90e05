// Archives (.tar.gz, .tgz, .tar) of image folders, and the CIFAR-10 binary release as an
// archive; libarchive reads them. Part of the oiad::data component.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include "image_entries.h"
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
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

}  // namespace oiad::data
