#include "targets.h"

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/readers.h"
#include "oiad/data/split.h"
#include "oiad/detect/detector_options.h"
#include "oiad/model/config.h"
#include "oiad/model/model_file.h"

namespace oiad::fuzz {

namespace {
// Runs `fn`; an oiad::Error is the expected answer to bad input and must be one line.
template <typename Fn>
bool expect_clean(Fn fn) {
  try {
    fn();
    return true;
  } catch (const Error& e) {
    if (std::strchr(e.what(), '\n') != nullptr) throw std::logic_error(std::string("error spans lines: ") + e.what());
    return false;
  }
}

std::vector<uint8_t> bytes_of(const uint8_t* data, size_t size) { return std::vector<uint8_t>(data, data + size); }

template <typename T>
void put(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(char((uint64_t(v) >> (8 * i)) & 0xff));
}
}  // namespace

bool idx(const uint8_t* data, size_t size) {
  return expect_clean([&] { data::parse_idx(bytes_of(data, size), "fuzz.idx"); });
}

bool cifar(const uint8_t* data, size_t size) {
  return expect_clean([&] {
    data::ImageSet s;
    data::parse_cifar_batch(bytes_of(data, size), "fuzz.bin", s);
  });
}

bool image(const uint8_t* data, size_t size) {
  return expect_clean([&] {
    const data::DecodedImage d = data::decode_image(bytes_of(data, size), "fuzz.img");
    if (d.chw.size() != size_t(d.channels) * d.height * d.width || (d.channels != 1 && d.channels != 3))
      throw std::logic_error("decoded image has an inconsistent shape");
  });
}

bool archive(const uint8_t* data, size_t size) {
  return expect_clean([&] {
    const data::Dataset ds = data::parse_image_archive(bytes_of(data, size), "fuzz.tar");
    for (const data::ImageSet* s : {&ds.train, &ds.test}) {
      if (s->labels.size() != size_t(s->count)) throw std::logic_error("archive data set has an inconsistent shape");
      if (!ds.mixed_sizes()) {
        if (s->pixels.size() != size_t(s->count) * ds.image_size())
          throw std::logic_error("archive data set has an inconsistent shape");
        continue;
      }
      // Images of mixed sizes: each at its offset, one after the other, filling the pixels.
      if (s->heights.size() != size_t(s->count) || s->widths.size() != size_t(s->count) ||
          s->offsets.size() != size_t(s->count))
        throw std::logic_error("archive data set of mixed sizes has inconsistent per-image sizes");
      size_t at = 0;
      for (int64_t i = 0; i < s->count; ++i) {
        if (s->offsets[size_t(i)] != int64_t(at) || s->heights[size_t(i)] < 1 || s->widths[size_t(i)] < 1)
          throw std::logic_error("archive data set of mixed sizes has an inconsistent image");
        at += size_t(ds.channels) * size_t(s->heights[size_t(i)]) * size_t(s->widths[size_t(i)]);
      }
      if (at != s->pixels.size()) throw std::logic_error("archive data set of mixed sizes has an inconsistent shape");
    }
  });
}

std::string model_container(const std::string& metadata) {
  std::string out("OIADMODL", 8);
  put<uint32_t>(out, model::kModelFormatVersion);
  put<uint64_t>(out, metadata.size());
  out += metadata;
  put<uint32_t>(out, 0);
  const std::string hex = sha256_hex(out.data(), out.size());
  for (size_t i = 0; i < 32; ++i) out.push_back(char(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
  return out;
}

bool model(const uint8_t* data, size_t size) {
  if (size == 0) return false;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string file = (data[0] & 1) ? model_container(rest) : rest;
  return expect_clean([&] {
    const model::ModelFile f = model::ModelFile::from_bytes(file, "fuzz.oiad");
    // As loading does: the config first (the network's shape), then what depends on it.
    const model::ModelConfig cfg = model::ModelConfig::from_metadata(f.meta);
    if (f.meta.contains("calibration")) detect::parse_stored_calibration(f.meta["calibration"], cfg.latent_dim);
    if (f.meta.contains("split")) data::OneClassSplit::from_json(f.meta["split"].dump(), "model split");
  });
}

const data::Dataset& synthetic_dataset() {
  static const data::Dataset ds = [] {
    data::Dataset d;
    d.name = d.source = "synthetic";
    d.channels = 1;
    d.height = d.width = 8;  // the smallest images synthetic defects accept
    d.class_names = {"a", "b", "c", "d"};
    for (auto [set, n] : {std::pair<data::ImageSet*, int>{&d.train, 40}, {&d.test, 20}}) {
      set->count = n;
      for (int i = 0; i < n; ++i) {
        set->labels.push_back(i % 4);
        for (int p = 0; p < 64; ++p) set->pixels.push_back(uint8_t(i * 64 + p * 3));
      }
    }
    return d;
  }();
  return ds;
}

bool split(const uint8_t* data, size_t size) {
  return expect_clean([&] {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const data::OneClassSplit s = data::OneClassSplit::from_json(text, "fuzz.json");
    const data::Dataset& ds = synthetic_dataset();
    data::check_data_fingerprint(ds, s, nlohmann::json(), "synthetic");
    for (const data::SplitPart* p : {&s.train, &s.val, &s.test}) {
      const std::vector<uint8_t> px = data::gather_pixels(ds, *p);
      if (px.size() != p->size() * size_t(ds.image_size())) throw std::logic_error("gathered the wrong number of pixels");
      if (data::defect_masks(ds, *p).size() != p->size() * size_t(ds.height * ds.width))
        throw std::logic_error("defect masks of the wrong size");
    }
  });
}

const std::vector<std::string>& target_names() {
  static const std::vector<std::string> kNames = {"idx", "cifar", "image", "archive", "model", "split"};
  return kNames;
}

Target target_by_name(const std::string& name) {
  static const Target kTargets[] = {idx, cifar, image, archive, model, split};
  for (size_t i = 0; i < target_names().size(); ++i)
    if (target_names()[i] == name) return kTargets[i];
  return nullptr;
}

void set_fuzzing_limits() {
  setenv("OIAD_MAX_INPUT_BYTES", "67108864", /*overwrite=*/0);
  setenv("OIAD_MAX_IMAGE_PIXELS", "4194304", 0);
}

}  // namespace oiad::fuzz
