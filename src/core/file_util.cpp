#include "oiad/core/file_util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "oiad/core/error.h"

namespace oiad {

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

bool is_directory(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

uint64_t max_input_bytes() {
  static const uint64_t limit = [] {
    uint64_t v = uint64_t(1) << 32;
    if (const char* s = std::getenv("OIAD_MAX_INPUT_BYTES")) {
      char* end = nullptr;
      const unsigned long long x = std::strtoull(s, &end, 10);
      OIAD_CHECK(end != s && *end == 0 && s[0] != '-' && x >= 1, "OIAD_MAX_INPUT_BYTES '", s,
                 "' is not a positive number of bytes");
      v = x;
    }
    return v;
  }();
  return limit;
}

namespace {
const char* kLimitHint = " (set OIAD_MAX_INPUT_BYTES to change the limit)";

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};
}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read (a
  // folder would "open" and a pipe or device block or never end).
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  OIAD_CHECK(f.fd >= 0, path, ": cannot open: ", errno == ENOENT ? "no such file" : std::strerror(errno));
  struct stat st;
  OIAD_CHECK(::fstat(f.fd, &st) == 0, path, ": cannot open: ", std::strerror(errno));
  OIAD_CHECK(S_ISREG(st.st_mode), path, ": cannot open: not a regular file (a folder, device or pipe)");
  const uint64_t size = uint64_t(st.st_size);
  OIAD_CHECK(size <= max_input_bytes(), path, ": ", size, " bytes, above the input limit of ", max_input_bytes(),
             kLimitHint);
  std::vector<uint8_t> bytes(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(f.fd, bytes.data() + done, size - done);
    if (got < 0 && errno == EINTR) continue;
    OIAD_CHECK(got >= 0, path, ": read error: ", std::strerror(errno));
    OIAD_CHECK(got > 0, path, ": file shrank while being read (", done, " of ", size, " bytes)");
    done += size_t(got);
  }
  return bytes;
}

bool is_gzip(const std::vector<uint8_t>& data) { return data.size() >= 2 && data[0] == 0x1f && data[1] == 0x8b; }

namespace {
// Inflates `data` into `out` until the stream ends or `out` holds `limit` bytes. Returns
// true when output was left over at the limit (the stream is longer than `limit`).
bool inflate_upto(const std::vector<uint8_t>& data, const std::string& name, uint64_t limit, std::vector<uint8_t>& out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  // 16 + MAX_WBITS: expect a gzip header.
  OIAD_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, name, ": zlib init failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(std::min<size_t>(data.size(), std::numeric_limits<uInt>::max()));
  size_t fed = zs.avail_in;
  uint8_t buf[1 << 16];
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    if (zs.avail_in == 0 && fed < data.size()) {  // inputs above 4 GiB go in pieces
      zs.avail_in = static_cast<uInt>(std::min<size_t>(data.size() - fed, std::numeric_limits<uInt>::max()));
      fed += zs.avail_in;
    }
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret == Z_BUF_ERROR && zs.avail_in == 0)
      throw Error(detail::concat(name, ": gzip stream truncated after ", out.size(), " decompressed bytes"));
    OIAD_CHECK(ret == Z_OK || ret == Z_STREAM_END, name, ": corrupt gzip data at compressed offset ", zs.total_in,
               " (", zs.msg ? zs.msg : "zlib error", ")");
    const size_t got = sizeof(buf) - zs.avail_out;
    const size_t room = size_t(std::min<uint64_t>(limit - out.size(), got));
    out.insert(out.end(), buf, buf + room);
    if (room < got) return true;
    if (out.size() == limit && ret != Z_STREAM_END) {
      // Exactly at the limit: the stream is longer only if inflating yields one more byte.
      uint8_t one;
      zs.next_out = &one;
      zs.avail_out = 1;
      ret = inflate(&zs, Z_NO_FLUSH);
      if (zs.avail_out == 0) return true;
      if (ret == Z_BUF_ERROR && zs.avail_in == 0)
        throw Error(detail::concat(name, ": gzip stream truncated after ", out.size(), " decompressed bytes"));
      OIAD_CHECK(ret == Z_OK || ret == Z_STREAM_END, name, ": corrupt gzip data at compressed offset ",
                 zs.total_in, " (", zs.msg ? zs.msg : "zlib error", ")");
    }
  }
  return false;
}
}  // namespace

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& data, const std::string& name, uint64_t max_bytes) {
  const uint64_t limit = max_bytes > 0 ? max_bytes : max_input_bytes();
  std::vector<uint8_t> out;
  if (inflate_upto(data, name, limit, out))
    throw Error(detail::concat(name, ": inflates to more than ", limit, " bytes",
                               max_bytes > 0 ? std::string() : std::string(kLimitHint)));
  return out;
}

std::vector<uint8_t> gunzip_prefix(const std::vector<uint8_t>& data, const std::string& name, size_t n) {
  std::vector<uint8_t> out;
  inflate_upto(data, name, n, out);
  return out;
}

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::vector<uint8_t> raw = read_file_bytes(path);
  if (is_gzip(raw)) return gunzip(raw, path);
  return raw;
}

std::string temporary_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

int remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string() + ".tmp.";
  int removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = pid_t(std::stol(digits));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // that process still runs
    std::error_code rm;
    if (fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

namespace {
namespace fs = std::filesystem;

void write_all(int fd, const void* bytes, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(bytes);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    OIAD_CHECK(n > 0, path, ": write failed: ", n < 0 ? std::strerror(errno) : "no progress");
    p += n;
    size -= size_t(n);
  }
}

// Where a write to `path` goes: the regular file itself (following symbolic links, even
// dangling ones), or, for a character device or FIFO, `path` written in place.
struct OutputTarget {
  std::string file;
  bool in_place = false;
};

OutputTarget output_target(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows links
  if (fs::exists(st)) {
    if (fs::is_character_file(st) || fs::is_fifo(st)) return {path, true};
    OIAD_CHECK(fs::is_regular_file(st), path, ": is a ", fs::is_directory(st) ? "folder" : "block device or socket",
               "; refusing to replace it");
    const fs::path real = fs::canonical(path, ec);
    OIAD_CHECK(!ec, path, ": cannot resolve: ", ec.message());
    return {real.string(), false};
  }
  // Missing: a dangling symbolic link creates its target.
  fs::path p(path);
  for (int hops = 0; fs::is_symlink(fs::symlink_status(p, ec)); ++hops) {
    OIAD_CHECK(hops < 40, path, ": too many levels of symbolic links");
    const fs::path t = fs::read_symlink(p, ec);
    OIAD_CHECK(!ec, path, ": cannot read link: ", ec.message());
    p = t.is_absolute() ? t : p.parent_path() / t;
  }
  return {p.string(), false};
}

void sync_folder_of(const std::string& file) {
  const fs::path p(file);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd >= 0) ::fsync(d.fd);  // best effort: some file systems refuse to sync folders
}

// Writes and syncs the temporary file of a regular target; returns its name.
std::string write_temporary(const std::string& shown, const std::string& file, const void* bytes, size_t size) {
  const std::string tmp = temporary_path_for(file);
  Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  OIAD_CHECK(f.fd >= 0, shown, ": cannot create ", tmp, ": ", std::strerror(errno));
  try {
    write_all(f.fd, bytes, size, shown);
    OIAD_CHECK(::fsync(f.fd) == 0, shown, ": write failed: ", std::strerror(errno));
    const int fd = f.fd;
    f.fd = -1;
    OIAD_CHECK(::close(fd) == 0, shown, ": write failed: ", std::strerror(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  return tmp;
}

void rename_into_place(const std::string& shown, const std::string& tmp, const std::string& file) {
  if (std::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(detail::concat(shown, ": cannot rename ", tmp, ": ", std::strerror(err)));
  }
}

void write_in_place(const std::string& path, const void* bytes, size_t size) {
  Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  OIAD_CHECK(f.fd >= 0, path, ": cannot open for writing: ", std::strerror(errno));
  write_all(f.fd, bytes, size, path);
}
}  // namespace

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
  const OutputTarget t = output_target(path);
  if (t.in_place) return write_in_place(t.file, bytes, size);
  const std::string tmp = write_temporary(path, t.file, bytes, size);
  rename_into_place(path, tmp, t.file);
  sync_folder_of(t.file);
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

void write_files_atomic(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<OutputTarget> targets;
  for (const auto& [path, text] : files) targets.push_back(output_target(path));
  std::vector<std::string> tmps(files.size());
  try {
    for (size_t i = 0; i < files.size(); ++i) {
      remove_stale_temporaries(targets[i].file);
      if (!targets[i].in_place)
        tmps[i] = write_temporary(files[i].first, targets[i].file, files[i].second.data(), files[i].second.size());
    }
  } catch (...) {
    for (const auto& t : tmps)
      if (!t.empty()) ::unlink(t.c_str());
    throw;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (targets[i].in_place)
      write_in_place(targets[i].file, files[i].second.data(), files[i].second.size());
    else
      rename_into_place(files[i].first, tmps[i], targets[i].file);
  }
  for (const auto& t : targets)
    if (!t.in_place) sync_folder_of(t.file);
}

namespace {
std::string to_hex(const unsigned char* d, unsigned n) {
  static const char* kHex = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (unsigned i = 0; i < n; ++i) {
    s[2 * i] = kHex[d[i] >> 4];
    s[2 * i + 1] = kHex[d[i] & 15];
  }
  return s;
}
}  // namespace

std::string sha256_hex(const void* data, size_t size) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  OIAD_CHECK(EVP_Digest(data, size, md, &n, EVP_sha256(), nullptr) == 1, "sha256: digest failed");
  return to_hex(md, n);
}

std::string sha256_file_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  OIAD_CHECK(in.good(), path, ": cannot open: ", std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  OIAD_CHECK(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "sha256: init failed");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(got));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &n);
  return to_hex(md, n);
}

}  // namespace oiad
