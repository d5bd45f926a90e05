// The fuzz targets: every parser of untrusted input, driven with arbitrary bytes. Each
// function accepts any input and returns true when the parser accepted it, false when it
// refused it with an oiad::Error; anything else is a bug and escapes (std::logic_error): an
// exception other than oiad::Error, an error message that spans lines, a result of the wrong
// shape, or, under the sanitizers, a memory or undefined-behaviour error. Built into the libFuzzer binaries (fuzz_main.cpp)
// and into the test suite, which replays the seed corpora and every crash ever found.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "oiad/data/dataset.h"

namespace oiad::fuzz {

/// IDX files, raw or gzip-compressed (data::parse_idx).
bool idx(const uint8_t* data, size_t size);
/// One CIFAR-10 binary batch (data::parse_cifar_batch).
bool cifar(const uint8_t* data, size_t size);
/// One image file as `score` decodes it (data::decode_image: PNG, JPEG, BMP).
bool image(const uint8_t* data, size_t size);
/// An image folder or CIFAR-10 release in a tar, tar.gz or other archive (data::parse_image_archive).
bool archive(const uint8_t* data, size_t size);
/// A model file. First byte even: the bytes after it are the whole file (container, checksum,
/// metadata, blobs); odd: they are the metadata JSON, wrapped in a valid container (so that
/// the checksum does not hide the JSON readers). Then the config, calibration and split are
/// read from the metadata as loading a model does.
bool model(const uint8_t* data, size_t size);
/// A split JSON file (data::OneClassSplit::from_json), then its images gathered from
/// synthetic_dataset() (synthetic defects applied) with their defect masks, and its
/// fingerprint checked, as scoring a model's split does.
bool split(const uint8_t* data, size_t size);

/// The names of the targets above, in that order, and a target by name (nullptr if unknown).
const std::vector<std::string>& target_names();
using Target = bool (*)(const uint8_t*, size_t);
Target target_by_name(const std::string& name);

/// The small data set split() gathers from: 40 train and 20 test images of 1 x 8 x 8, 4
/// classes.
const data::Dataset& synthetic_dataset();

/// Wraps metadata bytes in a model-file container with a valid checksum and no blobs.
std::string model_container(const std::string& metadata);

/// Lowers the input limits for fuzzing (OIAD_MAX_INPUT_BYTES 64 MiB, OIAD_MAX_IMAGE_PIXELS
/// 2^22) unless already set, so that what an input may legitimately claim stays below the
/// fuzzer's memory limit. Call before the first input.
void set_fuzzing_limits();

}  // namespace oiad::fuzz
