// Small file helpers shared by every component that reads or writes files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oiad {

/// True when `path` is a regular file (or a link to one); never throws.
bool is_regular_file(const std::string& path);
/// True when `path` is a folder (or a link to one); never throws.
bool is_directory(const std::string& path);

/// Reads a whole file; throws Error("<path>: cannot open ...") when it cannot.
std::vector<uint8_t> read_file_bytes(const std::string& path);

/// Reads a whole file and, when it starts with the gzip magic (1f 8b), inflates it.
/// Throws Error naming the path when the gzip stream is corrupt or truncated.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

/// Inflates an in-memory gzip stream; `name` is used in error messages.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& data, const std::string& name);

/// Writes `bytes` to `path` atomically: to "<path>.tmp.<pid>" first, then renamed over `path`,
/// so a reader never sees a partial file and a crash leaves the old file intact.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);
void write_file_atomic(const std::string& path, const std::string& text);

/// A temporary name beside `path` for atomic writes; remove it on failure.
std::string temporary_path_for(const std::string& path);

/// Lower-case hexadecimal SHA-256 of a buffer / of a file's contents.
std::string sha256_hex(const void* data, size_t size);
std::string sha256_file_hex(const std::string& path);

}  // namespace oiad
