#include "oiad/model/model_file.h"

#include <cstring>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"

namespace oiad::model {

namespace {
constexpr char kMagic[8] = {'O', 'I', 'A', 'D', 'M', 'O', 'D', 'L'};

template <typename T>
void put(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(char((uint64_t(v) >> (8 * i)) & 0xff));
}

struct Reader {
  const std::string& b;
  const std::string& name;
  size_t pos = 0;
  size_t end;
  template <typename T>
  T get(const char* what) {
    OIAD_CHECK(pos + sizeof(T) <= end, name, ": truncated at offset ", pos, " reading ", what);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t(uint8_t(b[pos + i])) << (8 * i);
    pos += sizeof(T);
    return T(v);
  }
  std::string bytes(uint64_t n, const char* what) {
    OIAD_CHECK(n <= end - pos, name, ": truncated at offset ", pos, " reading ", what, " (", n, " bytes)");
    std::string s = b.substr(pos, n);
    pos += n;
    return s;
  }
};
}  // namespace

std::string ModelFile::to_bytes() const {
  std::string out(kMagic, 8);
  put<uint32_t>(out, kModelFormatVersion);
  const std::string j = meta.dump();
  put<uint64_t>(out, j.size());
  out += j;
  put<uint32_t>(out, uint32_t(blobs.size()));
  for (const auto& [k, v] : blobs) {
    put<uint32_t>(out, uint32_t(k.size()));
    out += k;
    put<uint64_t>(out, v.size());
    out += v;
  }
  const std::string hex = sha256_hex(out.data(), out.size());
  for (size_t i = 0; i < 32; ++i) out.push_back(char(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
  return out;
}

ModelFile ModelFile::from_bytes(const std::string& b, const std::string& name) {
  OIAD_CHECK(b.size() >= 8 && std::memcmp(b.data(), kMagic, 8) == 0, name,
             ": not an oiad model file (wrong magic at offset 0)");
  OIAD_CHECK(b.size() >= 8 + 4 + 32, name, ": truncated (", b.size(), " bytes)");
  Reader r{b, name, 8, b.size() - 32};
  const uint32_t version = r.get<uint32_t>("format version");
  OIAD_CHECK(version == kModelFormatVersion, name, ": model format version ", version, ", this oiad reads version ",
             kModelFormatVersion);
  // Check the digest before trusting any length field.
  const std::string hex = sha256_hex(b.data(), b.size() - 32);
  std::string digest;
  for (size_t i = 0; i < 32; ++i) digest.push_back(char(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
  OIAD_CHECK(b.compare(b.size() - 32, 32, digest) == 0, name,
             ": checksum mismatch (the file is corrupt or truncated)");
  ModelFile f;
  const uint64_t jn = r.get<uint64_t>("metadata length");
  try {
    f.meta = nlohmann::json::parse(r.bytes(jn, "metadata"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": metadata is not JSON: " + e.what());
  }
  OIAD_CHECK(f.meta.is_object(), name, ": metadata is not a JSON object");
  const uint32_t nb = r.get<uint32_t>("blob count");
  for (uint32_t i = 0; i < nb; ++i) {
    const uint32_t kn = r.get<uint32_t>("blob name length");
    std::string k = r.bytes(kn, "blob name");
    const uint64_t vn = r.get<uint64_t>("blob length");
    f.blobs[k] = r.bytes(vn, "blob");
  }
  OIAD_CHECK(r.pos == r.end, name, ": ", r.end - r.pos, " unexpected bytes at offset ", r.pos);
  return f;
}

void ModelFile::save(const std::string& path) const {
  const std::string b = to_bytes();
  // A killed run (train, checkpoints) leaves "<path>.tmp.<pid>"; the next save removes it.
  remove_stale_temporaries(path);
  write_file_atomic(path, b.data(), b.size());
}

ModelFile ModelFile::load(const std::string& path) {
  const std::vector<uint8_t> raw = read_file_bytes(path);
  return from_bytes(std::string(raw.begin(), raw.end()), path);
}

}  // namespace oiad::model
