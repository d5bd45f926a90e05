// Small file helpers shared by every component that reads or writes files.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace oiad {

/// True when `path` is a regular file (or a link to one); never throws.
bool is_regular_file(const std::string& path);
/// True when `path` is a folder (or a link to one); never throws.
bool is_directory(const std::string& path);

/// The most bytes oiad reads from one input file or inflates from one compressed stream or
/// archive: OIAD_MAX_INPUT_BYTES when set (a number of bytes), else 2^32 (4 GiB). Bounds the
/// memory a small compressed file (a "decompression bomb") can claim.
uint64_t max_input_bytes();

/// Reads a whole regular file of at most max_input_bytes(); throws Error("<path>: ...") when
/// it cannot (missing, a folder, device or pipe, too large, read error).
std::vector<uint8_t> read_file_bytes(const std::string& path);

/// Reads a whole file and, when it starts with the gzip magic (1f 8b), inflates it.
/// Throws Error naming the path when the gzip stream is corrupt, truncated or too large.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

/// True when `data` starts with the gzip magic bytes 1f 8b.
bool is_gzip(const std::vector<uint8_t>& data);

/// Inflates an in-memory gzip stream; `name` is used in error messages. Output beyond
/// `max_bytes` (0: max_input_bytes()) is an error ("inflates to more than N bytes") and is
/// never held in memory; nothing is reserved from what the stream claims.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& data, const std::string& name, uint64_t max_bytes = 0);

/// The first (up to) `n` inflated bytes of a gzip stream, without inflating the rest; for
/// reading a header that says how large the whole must be.
std::vector<uint8_t> gunzip_prefix(const std::vector<uint8_t>& data, const std::string& name, size_t n);

/// Writes `bytes` to `path` so that nothing is lost: to "<path>.tmp.<pid>" first, flushed to
/// disk (fsync), then renamed over `path` and the folder synced, so a reader never sees a
/// partial file and a crash or full disk leaves the old file intact. A symbolic link is
/// followed (its target is replaced, the link stays); a character device or FIFO (/dev/null,
/// /dev/stdout) is written in place; a folder, block device or socket is refused.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);
void write_file_atomic(const std::string& path, const std::string& text);

/// Writes several files as one: every file is written to its temporary name and synced
/// before any is renamed, so a failure (full disk) leaves all the old files, never a mix.
void write_files_atomic(const std::vector<std::pair<std::string, std::string>>& files);

/// A temporary name beside `path` for atomic writes; remove it on failure.
std::string temporary_path_for(const std::string& path);

/// Removes "<path>.tmp.<pid>" files that a killed oiad process left beside `path` (those
/// whose process no longer runs); returns how many were removed. Never throws.
int remove_stale_temporaries(const std::string& path);

/// Lower-case hexadecimal SHA-256 of a buffer / of a file's contents.
std::string sha256_hex(const void* data, size_t size);
std::string sha256_file_hex(const std::string& path);

}  // namespace oiad
