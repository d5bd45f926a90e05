// IDX (MNIST, Fashion-MNIST) reader.
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/readers.h"

namespace oiad::data {

namespace {
uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
// "dir/name" or "dir/name.gz", whichever exists ("" when neither).
std::string find_idx(const std::string& dir, const std::string& name) {
  for (const std::string& cand : {dir + "/" + name, dir + "/" + name + ".gz"})
    if (is_regular_file(cand)) return cand;
  return "";
}
}  // namespace

IdxArray parse_idx(const std::vector<uint8_t>& file_bytes, const std::string& name) {
  // A gzip stream: inflate the header (at most 4 + 4 * 4 bytes) first, then no more than
  // the header promises plus one byte (to notice trailing data).
  const bool gz = is_gzip(file_bytes);
  const std::vector<uint8_t> head = gz ? gunzip_prefix(file_bytes, name, 20) : std::vector<uint8_t>();
  const std::vector<uint8_t>& h = gz ? head : file_bytes;
  OIAD_CHECK(h.size() >= 4, name, ": not an IDX file (", h.size(), " bytes, need a 4-byte header)");
  OIAD_CHECK(h[0] == 0 && h[1] == 0, name, ": wrong magic number 0x", std::hex, be32(h.data()),
             " at offset 0 (IDX files start with 00 00)");
  OIAD_CHECK(h[2] == 0x08, name, ": IDX data type 0x", std::hex, int(h[2]), " at offset 2 is not unsigned byte (0x08)");
  const int ndim = h[3];
  OIAD_CHECK(ndim >= 1 && ndim <= 4, name, ": IDX dimension count ", ndim, " at offset 3 not in 1..4");
  OIAD_CHECK(h.size() >= size_t(4 + 4 * ndim), name, ": truncated IDX header (", h.size(), " bytes)");
  IdxArray a;
  uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t n = be32(&h[4 + 4 * d]);
    a.dims.push_back(n);
    total *= n;
    OIAD_CHECK(total <= max_input_bytes(), name, ": IDX header promises more than ", max_input_bytes(),
               " data bytes (set OIAD_MAX_INPUT_BYTES to change the limit)");
  }
  const size_t header = 4 + 4 * size_t(ndim);
  const std::vector<uint8_t> inflated = gz ? gunzip_prefix(file_bytes, name, header + total + 1) : std::vector<uint8_t>();
  const std::vector<uint8_t>& b = gz ? inflated : file_bytes;
  OIAD_CHECK(b.size() - header >= total, name, ": truncated: header promises ", total, " data bytes after offset ",
             header, ", file has ", b.size() - header);
  OIAD_CHECK(b.size() - header == total, name, ": ", b.size() - header - total, gz ? " or more" : "",
             " unexpected trailing bytes after offset ", header + total);
  a.values.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_file_bytes(path), path); }

ImageSet read_idx_split(const std::string& images_path, const std::string& labels_path, int* height,
                        int* width) {
  IdxArray img = read_idx(images_path);
  OIAD_CHECK(img.dims.size() == 3, images_path, ": expected 3 dimensions (N, H, W), found ",
             img.dims.size());
  IdxArray lab = read_idx(labels_path);
  OIAD_CHECK(lab.dims.size() == 1, labels_path, ": expected 1 dimension (N), found ", lab.dims.size());
  OIAD_CHECK(img.dims[0] == lab.dims[0], images_path, ": ", img.dims[0], " images but ", labels_path,
             " has ", lab.dims[0], " labels");
  // Zero-sized images, or sides that would not fit an int, are no images at all.
  OIAD_CHECK(img.dims[0] >= 1 && img.dims[1] >= 1 && img.dims[2] >= 1 && img.dims[1] <= 16384 && img.dims[2] <= 16384,
             images_path, ": ", img.dims[0], " images of ", img.dims[1], "x", img.dims[2],
             ": need at least one image, with sides in [1, 16384]");
  ImageSet s;
  s.count = img.dims[0];
  s.pixels = std::move(img.values);
  s.labels.assign(lab.values.begin(), lab.values.end());
  *height = static_cast<int>(img.dims[1]);
  *width = static_cast<int>(img.dims[2]);
  return s;
}

bool is_idx_folder(const std::string& dir) {
  return !find_idx(dir, "train-images-idx3-ubyte").empty() &&
         !find_idx(dir, "train-labels-idx1-ubyte").empty();
}

Dataset read_idx_folder(const std::string& dir, const std::vector<std::string>& class_names) {
  Dataset ds;
  ds.source = dir;
  ds.channels = 1;
  for (const char* split : {"train", "t10k"}) {
    const std::string images = find_idx(dir, std::string(split) + "-images-idx3-ubyte");
    const std::string labels = find_idx(dir, std::string(split) + "-labels-idx1-ubyte");
    OIAD_CHECK(!images.empty(), dir, ": no ", split, "-images-idx3-ubyte[.gz]");
    OIAD_CHECK(!labels.empty(), dir, ": no ", split, "-labels-idx1-ubyte[.gz]");
    int h = 0, w = 0;
    ImageSet s = read_idx_split(images, labels, &h, &w);
    if (ds.height == 0) {
      ds.height = h;
      ds.width = w;
    }
    OIAD_CHECK(h == ds.height && w == ds.width, images, ": images are ", h, "x", w,
               " but the train images are ", ds.height, "x", ds.width);
    (std::string(split) == "train" ? ds.train : ds.test) = std::move(s);
  }
  int max_label = -1;
  for (const ImageSet* s : {&ds.train, &ds.test})
    for (int32_t l : s->labels) max_label = std::max<int>(max_label, l);
  ds.class_names = class_names;
  if (ds.class_names.empty())
    for (int i = 0; i <= max_label; ++i) ds.class_names.push_back(std::to_string(i));
  OIAD_CHECK(max_label < static_cast<int>(ds.class_names.size()), dir, ": label ", max_label,
             " out of range for ", ds.class_names.size(), " classes");
  return ds;
}

}  // namespace oiad::data
