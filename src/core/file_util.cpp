#include "oiad/core/file_util.h"

#include <openssl/evp.h>
#include <unistd.h>
#include <zlib.h>

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

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  // A folder would "open" and a pipe or device block or never end: only regular files.
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  OIAD_CHECK(!ec && std::filesystem::exists(st), path, ": cannot open: no such file");
  OIAD_CHECK(std::filesystem::is_regular_file(st), path, ": cannot open: not a regular file (a folder, device or pipe)");
  std::ifstream in(path, std::ios::binary);
  OIAD_CHECK(in.good(), path, ": cannot open: ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  OIAD_CHECK(size >= 0, path, ": cannot determine size (is it a directory?)");
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), size);
  OIAD_CHECK(in.good() || (size == 0), path, ": read error");
  return bytes;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& data, const std::string& name) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  // 16 + MAX_WBITS: expect a gzip header.
  OIAD_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, name, ": zlib init failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  std::vector<uint8_t> out;
  out.reserve(data.size() * 4);
  uint8_t buf[1 << 16];
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret == Z_BUF_ERROR && zs.avail_in == 0) {
      throw Error(detail::concat(name, ": gzip stream truncated after ", out.size(),
                                 " decompressed bytes"));
    }
    OIAD_CHECK(ret == Z_OK || ret == Z_STREAM_END, name, ": corrupt gzip data at compressed offset ",
               zs.total_in, " (", zs.msg ? zs.msg : "zlib error", ")");
    out.insert(out.end(), buf, buf + (sizeof(buf) - zs.avail_out));
  }
  return out;
}

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::vector<uint8_t> raw = read_file_bytes(path);
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) return gunzip(raw, path);
  return raw;
}

std::string temporary_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
  const std::string tmp = temporary_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    OIAD_CHECK(out.good(), path, ": cannot create ", tmp, ": ", std::strerror(errno));
    out.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
    out.flush();
    if (!out.good()) {
      std::remove(tmp.c_str());
      throw Error(detail::concat(path, ": write failed (disk full?)"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error(detail::concat(path, ": cannot rename ", tmp, ": ", std::strerror(err)));
  }
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
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
