// Internal to the image readers (image_folder.cpp, image_archive.cpp): image files of a folder
// or members of an archive, laid out as <split>/<class>/file, <class>/file or file, and their
// assembly into a Dataset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"

namespace oiad::data::detail {

struct ImageEntry {
  std::vector<std::string> parts;  // relative path components
  std::string id;                  // relative path joined with '/'
  std::vector<uint8_t> bytes;
};

/// The components of a relative path, without empty, "." and "/" parts.
std::vector<std::string> split_path(const std::string& rel);
/// True when a component starts with '.' (hidden files and folders are skipped).
bool hidden(const std::vector<std::string>& parts);
/// The data set of the entries: classes are the folder names, sorted; the train/test split
/// comes from a leading train/ or test/ folder (everything in train otherwise). Decodes every
/// entry (in parallel) and frees its bytes; `source` names the set in errors.
Dataset assemble_images(std::vector<ImageEntry> entries, const std::string& source);

}  // namespace oiad::data::detail
