// Downloading the official releases of the named data sets (for users outside a machine
// whose network reaches them only through package registries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oiad::data {

/// One file of a release: where to get it (mirrors tried in order) and its SHA-256.
struct RemoteFile {
  std::string file_name;
  std::vector<std::string> urls;
  std::string sha256;  ///< lower-case hex
};

/// The official release files of mnist, fashion-mnist or cifar10; throws UsageError otherwise.
std::vector<RemoteFile> official_release(const std::string& name);

struct FetchOptions {
  /// Abort a transfer that makes no progress for this long.
  long stall_timeout_seconds = 60;
  /// Seconds allowed to connect.
  long connect_timeout_seconds = 20;
  /// Allow plain http:// URLs (tests use a local server; releases are fetched over HTTPS).
  bool allow_http = false;
  /// Print progress lines on stderr.
  bool verbose = true;
};

/// Downloads `url` to `dest`: to a temporary name first, checked against `sha256` (when not
/// empty), then renamed. On any failure the temporary file is removed and Error is thrown
/// ("<url>: HTTP 404", "<url>: transfer cut off after N bytes", "<url>: SHA-256 mismatch ...");
/// an existing `dest` is never touched by a failed download.
void download_file(const std::string& url, const std::string& dest, const std::string& sha256,
                   const FetchOptions& opt = {});

/// Downloads every file of a release into `dir`/<name>/, skipping files already present with
/// the right checksum, trying each mirror in turn. Returns the folder.
std::string fetch_release(const std::string& name, const std::string& dir, const FetchOptions& opt = {});

/// Same, for an explicit list of files (tests use it with a local server).
void fetch_files(const std::vector<RemoteFile>& files, const std::string& folder, const FetchOptions& opt);

}  // namespace oiad::data
