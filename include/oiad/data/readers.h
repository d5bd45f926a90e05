// Readers for the image formats the paper's data sets come in, and for a user's own images.
// Each returns uint8 images (N, C, H, W) + labels + class names (see dataset.h) and throws
// oiad::Error naming the file (and the offset or entry) when the input is malformed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"

namespace oiad::data {

/// An IDX array (LeCun et al.): big-endian header, magic 0x0000 08 NDIM for uint8 data.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;
};

/// Reads an IDX file of unsigned bytes, gzip-compressed or raw.
IdxArray read_idx(const std::string& path);
/// Parses an IDX file's bytes (gzip-compressed or raw); `name` is used in errors. A gzip
/// stream is inflated no further than its IDX header says the file must be.
IdxArray parse_idx(const std::vector<uint8_t>& file_bytes, const std::string& name);

/// Reads an IDX image file (3 dims) and its label file (1 dim) as one split.
ImageSet read_idx_split(const std::string& images_path, const std::string& labels_path,
                        int* height, int* width);

/// Reads a folder with train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
/// t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (MNIST, Fashion-MNIST).
Dataset read_idx_folder(const std::string& dir, const std::vector<std::string>& class_names);

/// True when `dir` holds the four IDX files.
bool is_idx_folder(const std::string& dir);

/// Appends the records of one CIFAR-10 binary batch (records of 1 label byte + 3072 bytes:
/// 1024 R, 1024 G, 1024 B, row-major 32x32) to `out`. `name` is used in errors.
void parse_cifar_batch(const std::vector<uint8_t>& bytes, const std::string& name, ImageSet& out);

/// CIFAR-10's class names, in label order.
const std::vector<std::string>& cifar10_class_names();

/// Reads the CIFAR-10 binary release from a folder holding data_batch_1..5.bin and
/// test_batch.bin (directly or in cifar-10-batches-bin/), or holding cifar-10-binary.tar.gz.
Dataset read_cifar10_binary(const std::string& dir);
bool is_cifar10_binary_folder(const std::string& dir);

/// Reads root/<split>/<class>/*.{png,jpg,jpeg,bmp} (split = train or test) or
/// root/<class>/* (everything in the train split). Classes are the folder names, sorted.
/// Grey images are replicated to 3 channels when any image of the set is colour.
Dataset read_image_folder(const std::string& root);

/// Reads a .tar.gz (or .tgz, .tar) holding such a folder tree (a single top-level folder is
/// skipped), or the CIFAR-10 binary release (cifar-10-binary.tar.gz).
Dataset read_image_archive(const std::string& path);
/// The same for an archive in memory; `name` is used in errors. Entries kept in memory
/// total at most max_input_bytes(); nothing is reserved from sizes the archive claims.
Dataset parse_image_archive(const std::vector<uint8_t>& bytes, const std::string& name);

/// Every PNG, JPEG and BMP file (by name) in a folder tree of any depth or in an archive
/// (.tar, .tar.gz, .tgz, .zip, .pk3), other files skipped: a texture collection, such as the
/// anomaly sources of the recseg peer. Each image is brought to side x side (resize_image)
/// and to `channels` (grey from colour: ITU-R 601 luma, rounded; colour from grey:
/// replicated), in the order of the sorted paths; with `limit` > 0, a seeded choice of that
/// many. Returns (n, channels, side, side) uint8 in one buffer; `ids` receives the paths. A
/// corrupt image is an error naming it; no image at all is an error naming `path`.
std::vector<uint8_t> read_image_collection(const std::string& path, int side, int channels, int64_t limit,
                                           uint64_t seed, std::vector<std::string>* ids = nullptr);

/// Decodes one PNG, JPEG or BMP file in memory to (C, H, W) uint8, C = 1 (grey) or 3 (RGB);
/// the format is told by the file's first bytes, not its name. Alpha is dropped; 16-bit
/// images are refused; a truncated or corrupt file is an error (never grey-filled), and
/// nothing is printed. `name` is used in errors.
struct DecodedImage {
  int channels = 0, height = 0, width = 0;
  std::vector<uint8_t> chw;
};
DecodedImage decode_image(const std::vector<uint8_t>& bytes, const std::string& name);
/// The most pixels (width x height) an image file may have: $OIAD_MAX_IMAGE_PIXELS, default
/// 2^26 (8192 x 8192). Read from the file's header before anything is decoded.
int64_t max_image_pixels();
/// Width x height as an image file's header states it (PNG, JPEG or BMP), without decoding;
/// -1 when the bytes are not one of these formats or the header is cut.
int64_t image_header_pixels(const std::vector<uint8_t>& bytes);
DecodedImage read_image_file(const std::string& path);

/// Writes (C, H, W) uint8 as PNG (atomically).
void write_png(const std::string& path, const uint8_t* chw, int channels, int height, int width);

/// True when the file name ends in .png, .jpg, .jpeg or .bmp (case-insensitive).
bool has_image_extension(const std::string& name);

}  // namespace oiad::data
