// The model file: one file holding JSON metadata and named binary blobs (network weights,
// optimiser state of a checkpoint, ...). Later components (calibration) add their state to
// the metadata or as blobs.
//
// Layout (all integers little-endian):
//   "OIADMODL"  8 bytes magic
//   u32         format version (kModelFormatVersion)
//   u64 + bytes metadata JSON
//   u32         number of blobs; per blob: u32 + name bytes, u64 + data bytes
//   32 bytes    SHA-256 of everything above (detects corruption and truncation)
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace oiad::model {

constexpr uint32_t kModelFormatVersion = 1;

struct ModelFile {
  nlohmann::json meta = nlohmann::json::object();
  std::map<std::string, std::string> blobs;

  /// Writes atomically (temporary name, then rename).
  void save(const std::string& path) const;
  /// Throws Error naming the file: "not an oiad model file", "truncated", "checksum
  /// mismatch (corrupt)", "format version N, this oiad reads 1".
  static ModelFile load(const std::string& path);
  /// Serialises to / parses from memory; `name` is used in errors.
  std::string to_bytes() const;
  static ModelFile from_bytes(const std::string& bytes, const std::string& name);
};

}  // namespace oiad::model
