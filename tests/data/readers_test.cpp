#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"
#include "oiad/data/readers.h"
#include "oiad/data/registry.h"
#include "test_util.h"

namespace oiad::data {
namespace {

using test::TempDir;

// Expects `fn` to throw oiad::Error whose message contains every fragment.
template <typename Fn>
void expect_error(Fn fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error spans lines: " << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

// Writes an 8-bit PNG with OpenCV directly (BGR order), independent of the reader under test.
void write_test_png(const std::string& path, int h, int w, int channels, int seed) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  cv::Mat m(h, w, channels == 1 ? CV_8UC1 : CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) m.ptr<uint8_t>(y)[x * channels + c] = uint8_t(seed + 10 * c + y * w + x);
  cv::imwrite(path, m);
}

// IDX files are read raw and gzipped, with the header's shape and every pixel where it belongs.
TEST(Idx, ReadsRawAndGzip) {
  for (bool gz : {false, true}) {
    TempDir d;
    test::write_idx_folder(d.path(), 12, 5, 4, 3, 10, gz);
    ASSERT_TRUE(is_idx_folder(d.path()));
    Dataset ds = read_idx_folder(d.path(), {});
    EXPECT_EQ(ds.channels, 1);
    EXPECT_EQ(ds.height, 4);
    EXPECT_EQ(ds.width, 3);
    EXPECT_EQ(ds.train.count, 12);
    EXPECT_EQ(ds.test.count, 5);
    EXPECT_EQ(ds.class_names.size(), 10u);
    EXPECT_EQ(ds.train.labels[11], 1);
    EXPECT_EQ(ds.train.pixels[(11 * 4 + 2) * 3 + 1], test::idx_pixel(11, 2, 1, 3));
    EXPECT_EQ(ds.test.pixels[(4 * 4 + 3) * 3 + 2], test::idx_pixel(4, 3, 2, 3));
  }
}

// Wrong magic, truncation, trailing bytes and count mismatches are refused with the file named.
TEST(Idx, RefusesMalformedFiles) {
  TempDir d;
  auto good = test::idx_bytes({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto bad_magic = good;
  bad_magic[0] = 0x12;
  test::write_bytes(d.file("magic"), bad_magic);
  expect_error([&] { read_idx(d.file("magic")); }, {d.file("magic"), "magic", "offset 0"});
  auto trunc = good;
  trunc.resize(trunc.size() - 3);
  test::write_bytes(d.file("trunc"), trunc);
  expect_error([&] { read_idx(d.file("trunc")); }, {d.file("trunc"), "truncated"});
  test::write_bytes(d.file("trunc.gz"), test::gzip_bytes(trunc));
  expect_error([&] { read_idx(d.file("trunc.gz")); }, {d.file("trunc.gz"), "truncated"});
  auto gzcut = test::gzip_bytes(good);
  gzcut.resize(gzcut.size() - 10);
  test::write_bytes(d.file("gzcut.gz"), gzcut);
  expect_error([&] { read_idx(d.file("gzcut.gz")); }, {d.file("gzcut.gz"), "gzip"});
  auto trailing = good;
  trailing.push_back(9);
  test::write_bytes(d.file("trailing"), trailing);
  expect_error([&] { read_idx(d.file("trailing")); }, {d.file("trailing"), "trailing"});
  test::write_bytes(d.file("short"), {0, 0});
  expect_error([&] { read_idx(d.file("short")); }, {d.file("short")});
  test::write_bytes(d.file("img"), good);
  test::write_bytes(d.file("lab"), test::idx_bytes({3}, {0, 1, 2}));
  int h, w;
  expect_error([&] { read_idx_split(d.file("img"), d.file("lab"), &h, &w); }, {"2 images", "3 labels"});
  expect_error([&] { read_idx(d.file("missing")); }, {d.file("missing"), "cannot open"});
}

// Peak resident memory of this process so far, in bytes.
int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return int64_t(u.ru_maxrss) * 1024;
}

// A gzip stream of `head` followed by `zeros` zero bytes, deflated piece by piece so that the
// test itself never holds the inflated size.
std::vector<uint8_t> gzip_with_zeros(const std::vector<uint8_t>& head, size_t zeros) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out, buf(1 << 16);
  const std::vector<uint8_t> block(1 << 20, 0);
  auto feed = [&](const uint8_t* p, size_t n, int flush) {
    zs.next_in = const_cast<Bytef*>(p);
    zs.avail_in = uInt(n);
    do {
      zs.next_out = buf.data();
      zs.avail_out = uInt(buf.size());
      deflate(&zs, flush);
      out.insert(out.end(), buf.data(), buf.data() + (buf.size() - zs.avail_out));
    } while (zs.avail_out == 0);
  };
  feed(head.data(), head.size(), Z_NO_FLUSH);
  for (size_t left = zeros; left > 0;) {
    const size_t n = std::min(left, block.size());
    left -= n;
    feed(block.data(), n, left == 0 ? Z_FINISH : Z_NO_FLUSH);
  }
  deflateEnd(&zs);
  return out;
}

// A gzip "bomb" (an IDX header for 8 bytes, then 256 MB of zeros in a few hundred KB) is
// refused for its trailing data after inflating no more than the header promises; the same
// bytes with a header that promises them all are refused by the input limit instead.
TEST(Idx, GzipBombInflatesNoFurtherThanTheHeader) {
  const size_t zeros = size_t(256) << 20;
  const std::vector<uint8_t> bomb = gzip_with_zeros(test::idx_bytes({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), zeros);
  ASSERT_LT(bomb.size(), size_t(1) << 20);
  const int64_t before = peak_rss_bytes();
  expect_error([&] { parse_idx(bomb, "bomb.gz"); }, {"bomb.gz", "trailing bytes"});
  EXPECT_LT(peak_rss_bytes() - before, int64_t(32) << 20) << "inflated more than the IDX header needs";
  std::vector<uint8_t> plain = gunzip_prefix(bomb, "bomb.gz", 20);
  EXPECT_EQ(plain.size(), 20u);
  expect_error([&] { gunzip(bomb, "bomb.gz", 1 << 20); }, {"bomb.gz", "inflates to more than 1048576 bytes"});
  EXPECT_LT(peak_rss_bytes() - before, int64_t(32) << 20);
}

// A CIFAR record is label + R plane + G plane + B plane, which is exactly CHW.
TEST(Cifar, ParsesPlanesAndRefusesTruncation) {
  std::vector<uint8_t> b;
  for (int r = 0; r < 3; ++r) {
    b.push_back(uint8_t(r + 4));
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) b.push_back(uint8_t(r * 50 + c * 10 + p % 7));
  }
  ImageSet s;
  parse_cifar_batch(b, "batch", s);
  ASSERT_EQ(s.count, 3);
  EXPECT_EQ(s.labels, (std::vector<int32_t>{4, 5, 6}));
  // image 2, channel G (1), pixel (y=1, x=3) -> p = 35
  EXPECT_EQ(s.pixels[((2 * 3 + 1) * 32 + 1) * 32 + 3], uint8_t(2 * 50 + 10 + 35 % 7));
  auto cut = b;
  cut.resize(b.size() - 100);
  ImageSet t;
  expect_error([&] { parse_cifar_batch(cut, "cut.bin", t); }, {"cut.bin", "3073", "offset 6146"});
  auto badlab = b;
  badlab[3073] = 12;
  expect_error([&] { parse_cifar_batch(badlab, "bad.bin", t); }, {"bad.bin", "record 1"});
}

// A binary-release folder is read as 50000/10000 only when all batches exist; here tiny ones.
TEST(Cifar, ReadsBinaryFolderAndArchive) {
  TempDir d;
  const std::string dir = d.file("cifar-10-batches-bin");
  auto record = [](int label) {
    std::vector<uint8_t> r(3073, uint8_t(label * 20));
    r[0] = uint8_t(label);
    return r;
  };
  for (int k = 1; k <= 5; ++k) {
    std::vector<uint8_t> b;
    for (int i = 0; i < 4; ++i) {
      auto r = record((k + i) % 10);
      b.insert(b.end(), r.begin(), r.end());
    }
    test::write_bytes(dir + "/data_batch_" + std::to_string(k) + ".bin", b);
  }
  auto t = record(3);
  test::write_bytes(dir + "/test_batch.bin", t);
  ASSERT_TRUE(is_cifar10_binary_folder(d.path()));
  Dataset ds = read_cifar10_binary(d.path());
  EXPECT_EQ(ds.train.count, 20);
  EXPECT_EQ(ds.test.count, 1);
  EXPECT_EQ(ds.class_names[3], "cat");
  EXPECT_EQ(ds.test.labels[0], 3);
  // The same folder packed as the official archive is read directly.
  const std::string tgz = d.file("cifar-10-binary.tar.gz");
  ASSERT_EQ(std::system(("tar -czf " + tgz + " -C " + d.path() + " cifar-10-batches-bin").c_str()), 0);
  Dataset a = read_image_archive(tgz);
  EXPECT_EQ(a.train.count, 20);
  EXPECT_EQ(a.train.pixels, ds.train.pixels);
  EXPECT_EQ(a.test.labels, ds.test.labels);
}

// root/<split>/<class>/* gives both splits, classes sorted by name, RGB order preserved.
TEST(ImageFolder, SplitLayoutColourAndGrey) {
  TempDir d;
  write_test_png(d.file("train/cat/a.png"), 5, 4, 3, 1);
  write_test_png(d.file("train/dog/b.png"), 5, 4, 3, 2);
  write_test_png(d.file("train/dog/c.png"), 5, 4, 1, 3);  // grey in a colour set
  write_test_png(d.file("test/cat/d.png"), 5, 4, 3, 4);
  Dataset ds = read_image_folder(d.path());
  EXPECT_EQ(ds.channels, 3);
  EXPECT_EQ(ds.height, 5);
  EXPECT_EQ(ds.width, 4);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(ds.train.count, 3);
  EXPECT_EQ(ds.test.count, 1);
  EXPECT_EQ(ds.train.ids[0], "train/cat/a.png");
  EXPECT_EQ(ds.train.labels, (std::vector<int32_t>{0, 1, 1}));
  // OpenCV stored B,G,R = seed, seed+10, seed+20 at pixel 0; the reader returns R first.
  const size_t plane = 20;
  EXPECT_EQ(ds.train.pixels[0], uint8_t(1 + 20));
  EXPECT_EQ(ds.train.pixels[plane], uint8_t(1 + 10));
  EXPECT_EQ(ds.train.pixels[2 * plane], uint8_t(1));
  // The grey image is replicated into the three planes.
  const size_t img = 3 * plane;
  EXPECT_EQ(ds.train.pixels[2 * img + 7], ds.train.pixels[2 * img + plane + 7]);
  EXPECT_EQ(ds.train.pixels[2 * img + 7], uint8_t(3 + 7));
}

// root/<class>/* puts everything in the train split; a flat folder is one class.
TEST(ImageFolder, ClassLayoutAndFlat) {
  TempDir d;
  write_test_png(d.file("a/x.png"), 3, 3, 1, 0);
  write_test_png(d.file("b/y.bmp"), 3, 3, 1, 0);
  Dataset ds = read_image_folder(d.path());
  EXPECT_EQ(ds.channels, 1);
  EXPECT_EQ(ds.train.count, 2);
  EXPECT_EQ(ds.test.count, 0);
  TempDir f;
  write_test_png(f.file("x.png"), 3, 3, 1, 0);
  write_test_png(f.file("y.jpg"), 3, 3, 3, 0);
  Dataset flat = read_image_folder(f.path());
  EXPECT_EQ(flat.class_names, (std::vector<std::string>{"all"}));
  EXPECT_EQ(flat.train.count, 2);
}

// Empty folders, mixed sizes and corrupt images are refused, naming the entry.
TEST(ImageFolder, RefusesBadInput) {
  TempDir e;
  expect_error([&] { read_image_folder(e.path()); }, {e.path(), "no images"});
  TempDir c;
  write_test_png(c.file("a/x.png"), 3, 3, 1, 0);
  test::write_bytes(c.file("a/z.png"), {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3});
  expect_error([&] { read_image_folder(c.path()); }, {"a/z.png", "corrupt PNG"});
  TempDir t;  // not an image by its bytes, whatever its name
  write_test_png(t.file("a/x.png"), 3, 3, 1, 0);
  test::write_bytes(t.file("a/z.jpg"), {'h', 'e', 'l', 'l', 'o'});
  expect_error([&] { read_image_folder(t.path()); }, {"a/z.jpg", "not a PNG, JPEG or BMP"});
  TempDir s;
  write_test_png(s.file("train/a/x.png"), 3, 3, 1, 0);
  write_test_png(s.file("other/x.png"), 3, 3, 1, 0);
  expect_error([&] { read_image_folder(s.path()); }, {"other/x.png", "train/<class>"});
}

// A mask image: 255 inside the rectangle [y0, y1) x [x0, x1), 0 elsewhere.
void write_mask_png(const std::string& path, int h, int w, int y0, int y1, int x0, int x1) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  cv::Mat m(h, w, CV_8UC1, cv::Scalar(0));
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) m.at<uint8_t>(y, x) = 255;
  cv::imwrite(path, m);
}

// Images of different sizes are kept at their own sizes: each has its height, width and
// offset, and its pixels where write_test_png put them.
TEST(ImageFolder, MixedSizes) {
  TempDir m;
  write_test_png(m.file("a/x.png"), 3, 3, 1, 0);
  write_test_png(m.file("a/y.png"), 4, 5, 1, 1);
  write_test_png(m.file("b/z.png"), 2, 6, 1, 2);
  Dataset ds = read_image_folder(m.path());
  EXPECT_TRUE(ds.mixed_sizes());
  EXPECT_EQ(ds.height, 0);
  EXPECT_EQ(ds.image_size(), 0);
  ASSERT_EQ(ds.train.count, 3);
  EXPECT_EQ(ds.train.heights, (std::vector<int32_t>{3, 4, 2}));
  EXPECT_EQ(ds.train.widths, (std::vector<int32_t>{3, 5, 6}));
  EXPECT_EQ(ds.train.offsets, (std::vector<int64_t>{0, 9, 29}));
  const ImageView v = ds.image("train", 1);
  EXPECT_EQ(v.height, 4);
  EXPECT_EQ(v.width, 5);
  EXPECT_EQ(v.pixels[2 * 5 + 3], uint8_t(1 + 2 * 5 + 3));
  EXPECT_EQ(v.mask, nullptr);
  EXPECT_FALSE(ds.has_masks());
}

// The MVTec AD layout: train/good, test/<defect> and test/good, masks under
// ground_truth/<defect>/<name>_mask.png. Good images have all-zero masks; a defective
// image without a mask file has no known mask.
TEST(ImageFolder, MvtecLayoutWithMasks) {
  TempDir d;
  write_test_png(d.file("train/good/000.png"), 6, 8, 3, 1);
  write_test_png(d.file("train/good/001.png"), 6, 8, 3, 2);
  write_test_png(d.file("test/good/000.png"), 6, 8, 3, 3);
  write_test_png(d.file("test/crack/000.png"), 6, 8, 3, 4);
  write_test_png(d.file("test/crack/001.png"), 6, 8, 3, 5);  // no mask file
  write_mask_png(d.file("ground_truth/crack/000_mask.png"), 6, 8, 1, 3, 2, 5);
  Dataset ds = read_image_folder(d.path());
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"crack", "good"}));
  EXPECT_EQ(ds.train.count, 2);
  ASSERT_EQ(ds.test.count, 3);
  EXPECT_TRUE(ds.has_masks());
  EXPECT_EQ(ds.test.ids[0], "test/crack/000.png");
  const ImageView crack = ds.image("test", 0);
  ASSERT_NE(crack.mask, nullptr);
  int on = 0;
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) {
      const bool inside = y >= 1 && y < 3 && x >= 2 && x < 5;
      EXPECT_EQ(crack.mask[y * 8 + x], inside ? 1 : 0);
      on += crack.mask[y * 8 + x];
    }
  EXPECT_EQ(on, 6);
  EXPECT_EQ(ds.image("test", 1).mask, nullptr);  // crack/001: no mask file
  const ImageView good = ds.image("test", 2);
  ASSERT_NE(good.mask, nullptr);
  EXPECT_EQ(std::count(good.mask, good.mask + 48, uint8_t(1)), 0);
  ASSERT_NE(ds.image("train", 0).mask, nullptr);
}

// The magnetic-tile layout: MT_<class>/Imgs/<name>.jpg with its mask <name>.png beside, all
// in the train split, classes named without MT_; sizes may differ.
TEST(ImageFolder, MagneticTileLayout) {
  TempDir d;
  const std::string root = d.file("magnetic-tile");
  for (int i = 0; i < 3; ++i) {
    write_test_png(root + "/MT_Free/Imgs/f" + std::to_string(i) + ".jpg", 7 + i, 5, 1, i);
    write_mask_png(root + "/MT_Free/Imgs/f" + std::to_string(i) + ".png", 7 + i, 5, 0, 0, 0, 0);
  }
  write_test_png(root + "/MT_Crack/Imgs/c0.jpg", 9, 6, 1, 7);
  write_mask_png(root + "/MT_Crack/Imgs/c0.png", 9, 6, 2, 4, 1, 2);
  Dataset ds = read_image_folder(root);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"Crack", "Free"}));
  EXPECT_TRUE(ds.mixed_sizes());
  ASSERT_EQ(ds.train.count, 4);
  EXPECT_EQ(ds.test.count, 0);
  const ImageView c = ds.image("train", 0);
  EXPECT_EQ(ds.train.ids[0], "MT_Crack/Imgs/c0.jpg");
  ASSERT_NE(c.mask, nullptr);
  EXPECT_EQ(std::count(c.mask, c.mask + 54, uint8_t(1)), 2);
  EXPECT_EQ(c.mask[2 * 6 + 1], 1);
  EXPECT_EQ(c.mask[3 * 6 + 1], 1);
  // The same tree packed in a tar archive (a single top folder skipped) reads the same.
  const std::string tar = d.file("mt.tar");
  ASSERT_EQ(std::system(("tar -cf " + tar + " -C " + d.path() + " magnetic-tile").c_str()), 0);
  Dataset a = read_image_archive(tar);
  EXPECT_EQ(a.train.pixels, ds.train.pixels);
  EXPECT_EQ(a.train.masks, ds.train.masks);
  EXPECT_EQ(a.train.heights, ds.train.heights);
}

// A mask whose size differs from its image's names both files; a mask without an image, or
// misnamed, is refused.
TEST(ImageFolder, RefusesBadMasks) {
  TempDir d;
  write_test_png(d.file("train/good/000.png"), 6, 8, 1, 1);
  write_test_png(d.file("test/crack/000.png"), 6, 8, 1, 4);
  write_mask_png(d.file("ground_truth/crack/000_mask.png"), 6, 7, 1, 3, 2, 5);
  expect_error([&] { read_image_folder(d.path()); }, {"ground_truth/crack/000_mask.png", "7x6", "test/crack/000.png", "8x6"});
  TempDir o;
  write_test_png(o.file("train/good/000.png"), 6, 8, 1, 1);
  write_test_png(o.file("test/crack/000.png"), 6, 8, 1, 4);
  write_mask_png(o.file("ground_truth/crack/002_mask.png"), 6, 8, 1, 3, 2, 5);
  expect_error([&] { read_image_folder(o.path()); }, {"ground_truth/crack/002_mask.png", "has no image"});
  TempDir n;
  write_test_png(n.file("train/good/000.png"), 6, 8, 1, 1);
  write_test_png(n.file("test/crack/000.png"), 6, 8, 1, 4);
  write_mask_png(n.file("ground_truth/crack/000.png"), 6, 8, 1, 3, 2, 5);
  expect_error([&] { read_image_folder(n.path()); }, {"ground_truth/crack/000.png", "_mask.png"});
}

// A .tar.gz of a folder is read directly (a single top folder skipped); a cut archive is refused.
TEST(ImageArchive, ReadsTarGzAndRefusesTruncated) {
  TempDir d;
  write_test_png(d.file("set/train/cat/a.png"), 3, 3, 3, 1);
  write_test_png(d.file("set/test/dog/b.png"), 3, 3, 3, 2);
  const std::string tgz = d.file("set.tar.gz");
  ASSERT_EQ(std::system(("tar -czf " + tgz + " -C " + d.path() + " set").c_str()), 0);
  Dataset a = read_image_archive(tgz);
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(a.train.count, 1);
  EXPECT_EQ(a.test.count, 1);
  EXPECT_EQ(a.test.labels[0], 1);
  Dataset f = read_image_folder(d.file("set"));
  EXPECT_EQ(a.train.pixels, f.train.pixels);
  std::vector<uint8_t> whole;
  {
    std::ifstream in(tgz, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  whole.resize(whole.size() / 2);
  test::write_bytes(d.file("cut.tar.gz"), whole);
  expect_error([&] { read_image_archive(d.file("cut.tar.gz")); }, {d.file("cut.tar.gz")});
}

// Reads a file written by a test into memory.
std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// OpenCV's decoding of a file as (C, H, W) RGB or grey: the reference the decoders (libpng,
// libjpeg called directly) must match pixel for pixel.
DecodedImage opencv_reference(const std::string& path) {
  cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  DecodedImage d;
  if (m.channels() == 4) cv::cvtColor(m, m, cv::COLOR_BGRA2BGR);
  if (m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  d.channels = m.channels();
  d.height = m.rows;
  d.width = m.cols;
  for (int k = 0; k < d.channels; ++k)
    for (int y = 0; y < m.rows; ++y)
      for (int x = 0; x < m.cols; ++x) d.chw.push_back(m.ptr<uint8_t>(y)[x * d.channels + k]);
  return d;
}

// PNG (grey, colour, with alpha, 1-bit) and JPEG (grey, colour, progressive) decode to
// exactly what OpenCV gives for the same file; a paletted PNG built by hand decodes to its
// palette's colours.
TEST(ImageDecode, MatchesOpenCvOnEveryLayout) {
  TempDir d;
  cv::Mat colour(37, 53, CV_8UC3), grey(37, 53, CV_8UC1), rgba(37, 53, CV_8UC4);
  cv::randu(colour, 0, 256);
  cv::randu(rgba, 0, 256);
  for (int y = 0; y < 37; ++y)
    for (int x = 0; x < 53; ++x) grey.at<uint8_t>(y, x) = uint8_t((x * 5 + y * 3) % 256);
  cv::Mat bw = grey > 128;
  struct Case {
    std::string file;
    cv::Mat m;
    std::vector<int> params;
  };
  const std::vector<Case> cases = {
      {"grey.png", grey, {}},
      {"colour.png", colour, {}},
      {"rgba.png", rgba, {}},
      {"bilevel.png", bw, {cv::IMWRITE_PNG_BILEVEL, 1}},
      {"grey.jpg", grey, {cv::IMWRITE_JPEG_QUALITY, 80}},
      {"colour.jpg", colour, {cv::IMWRITE_JPEG_QUALITY, 75}},
      {"progressive.jpg", colour, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
      {"colour.bmp", colour, {}},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(cv::imwrite(d.file(c.file), c.m, c.params)) << c.file;
    const DecodedImage got = read_image_file(d.file(c.file)), want = opencv_reference(d.file(c.file));
    EXPECT_EQ(got.channels, want.channels) << c.file;
    EXPECT_EQ(got.height, 37) << c.file;
    EXPECT_EQ(got.width, 53) << c.file;
    EXPECT_TRUE(got.chw == want.chw) << c.file << ": pixels differ from OpenCV's decoding";
  }
  // OpenCV writes no paletted PNG: this one is built chunk by chunk (IHDR colour type 3).
  std::vector<uint8_t> raw;  // 2x2 image, palette indices 0 1 / 1 0, filter byte 0 per row
  for (uint8_t v : {0, 0, 1, 0, 1, 0}) raw.push_back(v);
  auto chunk = [](std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
    const uint32_t n = uint32_t(data.size());
    for (int k = 3; k >= 0; --k) out.push_back(uint8_t(n >> (8 * k)));
    std::vector<uint8_t> body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    const uint32_t crc = test::crc32_of(body);
    for (int k = 3; k >= 0; --k) out.push_back(uint8_t(crc >> (8 * k)));
  };
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  chunk(png, "IHDR", {0, 0, 0, 2, 0, 0, 0, 2, 8, 3, 0, 0, 0});
  chunk(png, "PLTE", {10, 20, 30, 200, 150, 100});
  chunk(png, "IDAT", test::zlib_bytes(raw));
  chunk(png, "IEND", {});
  const DecodedImage p = decode_image(png, "palette.png");
  EXPECT_EQ(p.channels, 3);
  EXPECT_EQ(p.chw, (std::vector<uint8_t>{10, 200, 200, 10, 20, 150, 150, 20, 30, 100, 100, 30}));
}

// A cut or corrupted file is an error naming it (libjpeg would grey-fill a cut JPEG), and
// nothing reaches stderr.
TEST(ImageDecode, TruncatedOrCorruptIsAnError) {
  TempDir d;
  cv::Mat colour(64, 64, CV_8UC3);
  cv::randu(colour, 0, 256);
  ASSERT_TRUE(cv::imwrite(d.file("a.jpg"), colour));
  ASSERT_TRUE(cv::imwrite(d.file("a.png"), colour));
  for (const std::string f : {"a.jpg", "a.png"}) {
    std::vector<uint8_t> b = file_bytes(d.file(f));
    std::vector<uint8_t> cut(b.begin(), b.begin() + b.size() * 7 / 10);
    testing::internal::CaptureStderr();
    expect_error([&] { decode_image(cut, "cut-" + f); }, {"cut-" + f, "truncated"});
    std::vector<uint8_t> flipped = b;
    for (size_t i = b.size() / 2; i < b.size() / 2 + 64; ++i) flipped[i] ^= 0x55;
    expect_error([&] { decode_image(flipped, "flipped-" + f); }, {"flipped-" + f, "corrupt"});
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << f;
  }
}

// The pixel limit is applied from the header: a 20000 x 20000 PNG of a few hundred bytes is
// refused without allocating its 400-megapixel buffer.
TEST(ImageDecode, PixelLimitFromTheHeader) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                              0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 0, 0, 0, 0};
  const std::vector<uint8_t> ihdr(png.begin() + 12, png.end());
  const uint32_t crc = test::crc32_of(ihdr);
  for (int k = 3; k >= 0; --k) png.push_back(uint8_t(crc >> (8 * k)));
  EXPECT_EQ(image_header_pixels(png), int64_t(20000) * 20000);
  expect_error([&] { decode_image(png, "huge.png"); }, {"huge.png", "400000000 pixels", "OIAD_MAX_IMAGE_PIXELS"});
}

// An image collection (texture sets): every image file of a folder tree of any depth or of a
// zip archive, other files skipped, in path order, each brought to the side and channels
// asked for: colour to grey by luma, grey replicated; a seeded subset; corrupt images and
// empty collections are refused by name.
TEST(ImageArchive, ImageCollections) {
  TempDir d;
  // Uniform images: resizing keeps their value, so the expected pixels are closed forms.
  auto uniform = [&](const std::string& rel, int h, int w, cv::Scalar bgr, int channels) {
    std::filesystem::create_directories(std::filesystem::path(d.file("tex/" + rel)).parent_path());
    cv::Mat m(h, w, channels == 1 ? CV_8UC1 : CV_8UC3, bgr);
    cv::imwrite(d.file("tex/" + rel), m);
  };
  uniform("b/deep/x.png", 40, 30, cv::Scalar(10, 100, 200), 3);  // B, G, R
  uniform("a.png", 8, 12, cv::Scalar(77), 1);
  test::write_bytes(d.file("tex/b/notes.txt"), {'h', 'i'});
  test::write_bytes(d.file("tex/b/skin.tga"), {0, 1, 2});
  std::vector<std::string> ids;
  const auto grey = read_image_collection(d.file("tex"), 4, 1, 0, 0, &ids);
  ASSERT_EQ(ids, (std::vector<std::string>{"a.png", "b/deep/x.png"}));
  ASSERT_EQ(grey.size(), 2u * 16);
  EXPECT_EQ(grey[0], 77);
  EXPECT_EQ(grey[16], uint8_t(std::lround(0.299 * 200 + 0.587 * 100 + 0.114 * 10)));
  const auto colour = read_image_collection(d.file("tex"), 4, 3, 0, 0);
  ASSERT_EQ(colour.size(), 2u * 48);
  EXPECT_EQ(colour[16], 77);                 // grey replicated: channel 1 of image 0
  EXPECT_EQ(colour[48 + 0], 200);            // image 1, R
  EXPECT_EQ(colour[48 + 32], 10);            // image 1, B
  std::vector<std::string> one;
  EXPECT_EQ(read_image_collection(d.file("tex"), 4, 1, 1, 5, &one).size(), 16u);
  ASSERT_EQ(one.size(), 1u);
  // The same files in a zip archive (written with libarchive).
  const std::string zip = d.file("tex.pk3");
  {
    archive* a = archive_write_new();
    archive_write_set_format_zip(a);
    ASSERT_EQ(archive_write_open_filename(a, zip.c_str()), ARCHIVE_OK);
    for (const std::string rel : {"textures/b/deep/x.png", "textures/a.png", "textures/b/notes.txt"}) {
      const std::string src = d.file("tex/" + rel.substr(9));
      const std::vector<uint8_t> bytes = read_file_bytes(src);
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, rel.c_str());
      archive_entry_set_size(e, la_int64_t(bytes.size()));
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_write_header(a, e);
      archive_write_data(a, bytes.data(), bytes.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
  }
  std::vector<std::string> zipped;
  EXPECT_EQ(read_image_collection(zip, 4, 1, 0, 0, &zipped), grey);
  EXPECT_EQ(zipped, (std::vector<std::string>{"textures/a.png", "textures/b/deep/x.png"}));
  test::write_bytes(d.file("tex/c.jpg"), {0xff, 0xd8, 0xff, 0xe0, 1, 2});
  expect_error([&] { read_image_collection(d.file("tex"), 4, 1, 0, 0); }, {"c.jpg"});
  TempDir e;
  test::write_bytes(e.file("only.txt"), {'x'});
  expect_error([&] { read_image_collection(e.path(), 4, 1, 0, 0); }, {e.path(), "no PNG, JPEG or BMP"});
}

// A tar entry whose header claims 60 GB is an error, not a 60 GB allocation.
TEST(ImageArchive, HugeClaimedEntrySizeIsNotTrusted) {
  std::vector<uint8_t> tar(512, 0);
  const std::string name = "train/a/x.png";
  std::copy(name.begin(), name.end(), tar.begin());
  auto put = [&](size_t at, const std::string& v) { std::copy(v.begin(), v.end(), tar.begin() + at); };
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  // 60 GB does not fit the size field's 11 octal digits: GNU base-256 (0x80, big-endian).
  const uint64_t claimed = 60000000000ull;
  tar[124] = 0x80;
  for (int k = 0; k < 8; ++k) tar[135 - k] = uint8_t(claimed >> (8 * k));
  put(136, "00000000000");
  tar[156] = '0';
  put(257, "ustar  ");
  std::fill(tar.begin() + 148, tar.begin() + 156, ' ');
  unsigned sum = 0;
  for (uint8_t c : tar) sum += c;
  char chk[8];
  std::snprintf(chk, sizeof(chk), "%06o", sum);
  put(148, std::string(chk, 6));
  tar[154] = 0;
  for (int i = 0; i < 600; ++i) tar.push_back(uint8_t(i));  // a little data, then the end
  expect_error([&] { parse_image_archive(tar, "claims.tar"); }, {"claims.tar"});
}

// Unknown names and unknown classes get errors that say what is known.
TEST(Registry, UnknownNameAndClass) {
  expect_error([] { load_dataset("no-such-set"); }, {"no-such-set", "mnist, fashion-mnist, cifar10"});
  TempDir d;
  test::write_idx_folder(d.path(), 10, 2, 2, 2, 3, false);
  Dataset ds = load_dataset(d.path());
  EXPECT_EQ(resolve_class(ds, "2"), 2);
  expect_error([&] { resolve_class(ds, "7"); }, {"no class '7'", "0=0"});
  expect_error([&] { resolve_class(ds, "cat"); }, {"no class 'cat'"});
}

// A named set that is absent says where it looked and how to get it.
TEST(Registry, MissingNamedSetSaysWhereItLooked) {
  TempDir d;
  setenv("OIAD_DATA", d.path().c_str(), 1);
  std::vector<std::string> c = dataset_candidates("mnist");
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0], d.path() + "/mnist");
  expect_error([] { load_dataset("mnist"); }, {"mnist not found", d.path() + "/mnist", "oiad data fetch mnist"});
  // Present in the data dir: found there first.
  test::write_idx_folder(d.path() + "/mnist", 10, 3, 2, 2, 10, true);
  Dataset ds = load_dataset("mnist");
  EXPECT_EQ(ds.name, "mnist");
  EXPECT_EQ(ds.train.count, 10);
  unsetenv("OIAD_DATA");
}

}  // namespace
}  // namespace oiad::data
