// Helpers shared by the tests: temporary folders and tiny data files written on the fly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oiad::test {

/// A fresh temporary folder, removed with its contents when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::string read_text(const std::string& path);
std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& raw);
/// A zlib stream (RFC 1950) of `raw`, and the CRC-32 of bytes, from zlib: for building PNGs.
std::vector<uint8_t> zlib_bytes(const std::vector<uint8_t>& raw);
uint32_t crc32_of(const std::vector<uint8_t>& bytes);

/// An IDX file of unsigned bytes: magic 00 00 08 ndim, big-endian dims, values.
std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values);

/// Writes a tiny MNIST-like IDX folder: `n_train` and `n_test` images of h x w, label of image
/// i = i % n_classes, pixel (y, x) of image i = (i * 7 + y * w + x) % 256.
void write_idx_folder(const std::string& dir, int n_train, int n_test, int h, int w, int n_classes, bool gz);

/// The pixel value write_idx_folder uses.
inline uint8_t idx_pixel(int i, int y, int x, int w) { return uint8_t((i * 7 + y * w + x) % 256); }

/// A folder of the build tree where CTest fixtures leave what several test processes share
/// (a test that sets one up writes it there; the tests that need it are ordered after it).
std::string fixture_dir();

/// Brute-force ROC AUC of scores `s` (higher = more anomalous) against labels `y` (1 =
/// anomalous): the share of (anomalous, normal) pairs ordered correctly, ties counting 1/2.
double brute_auc(const std::vector<double>& s, const std::vector<int>& y);
/// The same for many values given apart, positives `pos` and negatives `neg` (e.g. every
/// defect pixel and every normal pixel): each positive counted against the sorted negatives.
double pair_count_auroc(const std::vector<double>& pos, std::vector<double> neg);

/// Result of running the oiad binary.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
/// Runs the built `oiad` with `args` (a shell-quoted string), capturing stdout and stderr.
CommandResult run_oiad(const std::string& args);
/// Runs any command line the same way.
CommandResult run_command(const std::string& command_line);
/// The built `oiad` executable.
std::string oiad_binary();

}  // namespace oiad::test
