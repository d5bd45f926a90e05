#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace oiad::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "oiad-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& raw) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&zs, raw.size()) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = uInt(raw.size());
  zs.next_out = out.data();
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::vector<uint8_t> zlib_bytes(const std::vector<uint8_t>& raw) {
  uLongf n = compressBound(uLong(raw.size()));
  std::vector<uint8_t> out(n);
  compress(out.data(), &n, raw.data(), uLong(raw.size()));
  out.resize(n);
  return out;
}

uint32_t crc32_of(const std::vector<uint8_t>& bytes) {
  return uint32_t(crc32(0L, bytes.data(), uInt(bytes.size())));
}

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::vector<uint8_t> b = {0, 0, 8, uint8_t(dims.size())};
  for (uint32_t d : dims) {
    b.push_back(uint8_t(d >> 24));
    b.push_back(uint8_t(d >> 16));
    b.push_back(uint8_t(d >> 8));
    b.push_back(uint8_t(d));
  }
  b.insert(b.end(), values.begin(), values.end());
  return b;
}

void write_idx_folder(const std::string& dir, int n_train, int n_test, int h, int w, int n_classes, bool gz) {
  for (auto [prefix, n] : {std::pair<std::string, int>{"train", n_train}, {"t10k", n_test}}) {
    std::vector<uint8_t> px, lab;
    for (int i = 0; i < n; ++i) {
      lab.push_back(uint8_t(i % n_classes));
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) px.push_back(idx_pixel(i, y, x, w));
    }
    auto img = idx_bytes({uint32_t(n), uint32_t(h), uint32_t(w)}, px);
    auto lb = idx_bytes({uint32_t(n)}, lab);
    const std::string ext = gz ? ".gz" : "";
    write_bytes(dir + "/" + prefix + "-images-idx3-ubyte" + ext, gz ? gzip_bytes(img) : img);
    write_bytes(dir + "/" + prefix + "-labels-idx1-ubyte" + ext, gz ? gzip_bytes(lb) : lb);
  }
}

double brute_auc(const std::vector<double>& s, const std::vector<int>& y) {
  double num = 0, den = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0, den += 1;
  return num / den;
}

double pair_count_auroc(const std::vector<double>& pos, std::vector<double> neg) {
  std::sort(neg.begin(), neg.end());
  double wins = 0;
  for (double p : pos) {
    const auto lo = std::lower_bound(neg.begin(), neg.end(), p), hi = std::upper_bound(neg.begin(), neg.end(), p);
    wins += double(lo - neg.begin()) + 0.5 * double(hi - lo);
  }
  return wins / (double(pos.size()) * double(neg.size()));
}

std::string fixture_dir() { return OIAD_TEST_FIXTURES; }

std::string oiad_binary() { return OIAD_BINARY; }

CommandResult run_oiad(const std::string& args) { return run_command(std::string(OIAD_BINARY) + " " + args); }

CommandResult run_command(const std::string& command_line) {
  TempDir tmp;
  const std::string out = tmp.file("out"), err = tmp.file("err");
  const std::string cmd = command_line + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

}  // namespace oiad::test
