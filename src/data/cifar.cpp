// CIFAR-10 binary release reader.
#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/readers.h"

namespace oiad::data {

namespace {
constexpr int kSide = 32;
constexpr size_t kRecord = 1 + 3 * kSide * kSide;
}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> kNames = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                  "dog",      "frog",       "horse", "ship", "truck"};
  return kNames;
}

void parse_cifar_batch(const std::vector<uint8_t>& bytes, const std::string& name, ImageSet& out) {
  OIAD_CHECK(!bytes.empty(), name, ": empty CIFAR batch");
  OIAD_CHECK(bytes.size() % kRecord == 0, name, ": size ", bytes.size(),
             " is not a multiple of the 3073-byte record (truncated after record ",
             bytes.size() / kRecord, ", offset ", (bytes.size() / kRecord) * kRecord, ")");
  const size_t n = bytes.size() / kRecord;
  out.pixels.reserve(out.pixels.size() + n * (kRecord - 1));
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* r = &bytes[i * kRecord];
    OIAD_CHECK(r[0] < 10, name, ": label ", int(r[0]), " of record ", i, " (offset ", i * kRecord,
               ") is not a CIFAR-10 class 0..9");
    out.labels.push_back(r[0]);
    out.pixels.insert(out.pixels.end(), r + 1, r + kRecord);  // already R, G, B planes = CHW
  }
  out.count += static_cast<int64_t>(n);
}

bool is_cifar10_binary_folder(const std::string& dir) {
  return is_regular_file(dir + "/data_batch_1.bin") || is_regular_file(dir + "/cifar-10-batches-bin/data_batch_1.bin") ||
         is_regular_file(dir + "/cifar-10-binary.tar.gz");
}

Dataset read_cifar10_binary(const std::string& dir_in) {
  if (!is_regular_file(dir_in + "/data_batch_1.bin") && !is_directory(dir_in + "/cifar-10-batches-bin") &&
      is_regular_file(dir_in + "/cifar-10-binary.tar.gz")) {
    Dataset ds = read_image_archive(dir_in + "/cifar-10-binary.tar.gz");
    return ds;
  }
  std::string dir = dir_in;
  if (!is_regular_file(dir + "/data_batch_1.bin") && is_directory(dir + "/cifar-10-batches-bin")) dir += "/cifar-10-batches-bin";
  Dataset ds;
  ds.source = dir;
  ds.channels = 3;
  ds.height = ds.width = kSide;
  ds.class_names = cifar10_class_names();
  for (int b = 1; b <= 5; ++b) {
    const std::string p = dir + "/data_batch_" + std::to_string(b) + ".bin";
    parse_cifar_batch(read_file_bytes(p), p, ds.train);
  }
  const std::string t = dir + "/test_batch.bin";
  parse_cifar_batch(read_file_bytes(t), t, ds.test);
  return ds;
}

}  // namespace oiad::data
