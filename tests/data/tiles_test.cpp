#include <gtest/gtest.h>

#include <vector>

#include "oiad/core/error.h"
#include "oiad/data/tiles.h"

namespace oiad::data {
namespace {

// Origins by hand: 0, stride, ... with the last moved to dim - side; one tile when the
// image is no larger than it.
TEST(Tiles, LayoutCoversTheImage) {
  const TileLayout t = tile_layout(10, 7, 4, 3);
  EXPECT_EQ(t.ys, (std::vector<int>{0, 3, 6}));
  EXPECT_EQ(t.xs, (std::vector<int>{0, 3}));
  EXPECT_EQ(t.count(), 6u);
  EXPECT_EQ(t.y(4), 6);
  EXPECT_EQ(t.x(4), 0);
  const TileLayout exact = tile_layout(8, 8, 4, 4);
  EXPECT_EQ(exact.ys, (std::vector<int>{0, 4}));
  const TileLayout small = tile_layout(3, 9, 4, 2);
  EXPECT_EQ(small.ys, (std::vector<int>{0}));
  EXPECT_EQ(small.xs, (std::vector<int>{0, 2, 4, 5}));
  EXPECT_THROW(tile_layout(8, 8, 4, 5), UsageError);
  EXPECT_THROW(tile_layout(8, 8, 4, 0), UsageError);
}

// A window inside the image copies its pixels; beyond a border the image is mirrored
// without repeating the edge pixel (… 2 1 | 0 1 2 … | n-2 n-3 …).
TEST(Tiles, CropInsideAndReflected) {
  std::vector<uint8_t> px(2 * 3 * 5);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i);
  const ImageView v{2, 3, 5, px.data(), nullptr};
  const auto in = crop_tile(v, 1, 2, 2);
  EXPECT_EQ(in, (std::vector<uint8_t>{7, 8, 12, 13, 22, 23, 27, 28}));
  // A 4x4 tile of the 3-row image: row 3 mirrors row 1.
  const auto out = crop_tile(v, 0, 1, 4);
  ASSERT_EQ(out.size(), 32u);
  EXPECT_EQ(out[0], 1);              // (0, 1)
  EXPECT_EQ(out[3 * 4 + 0], 5 + 1);  // row 3 -> row 1
  EXPECT_EQ(out[3], 4);              // (0, 4)
  EXPECT_EQ(out[16 + 2 * 4 + 3], 15 + 10 + 4);
}

// Stitching: each pixel the mean of the tiles covering it, brute-forced here by counting.
TEST(Tiles, StitchAveragesOverlaps) {
  const TileLayout t = tile_layout(5, 6, 3, 2);  // ys {0, 2}, xs {0, 2, 3}
  std::vector<float> maps(t.count() * 9);
  for (size_t k = 0; k < t.count(); ++k)
    for (int p = 0; p < 9; ++p) maps[k * 9 + size_t(p)] = float(10 * k + size_t(p));
  const auto m = stitch_tiles(t, maps.data());
  ASSERT_EQ(m.size(), 30u);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 6; ++x) {
      double sum = 0, n = 0;
      for (size_t k = 0; k < t.count(); ++k) {
        const int r = y - t.y(k), c = x - t.x(k);
        if (r >= 0 && r < 3 && c >= 0 && c < 3) sum += maps[k * 9 + size_t(r * 3 + c)], n += 1;
      }
      EXPECT_FLOAT_EQ(m[size_t(y * 6 + x)], float(sum / n)) << y << "," << x;
    }
}

// Seeded tiles of a part: the same seed gives the same tiles, each the crop its id names.
TEST(Tiles, RandomTilesAreSeededCrops) {
  Dataset ds;
  ds.name = "set";
  ds.channels = 1;
  ds.class_names = {"good"};
  for (int i = 0; i < 2; ++i) {
    const int h = 9 + i, w = 12;
    ds.train.heights.push_back(h);
    ds.train.widths.push_back(w);
    ds.train.offsets.push_back(int64_t(ds.train.pixels.size()));
    for (int p = 0; p < h * w; ++p) ds.train.pixels.push_back(uint8_t(p + 50 * i));
    ds.train.labels.push_back(0);
    ds.train.ids.push_back("img" + std::to_string(i));
    ds.train.count++;
  }
  SplitPart part;
  part.source = "train";
  part.index = {0, 1};
  part.anomalous = {0, 0};
  const Dataset a = random_tiles(ds, part, 4, 20, 7), b = random_tiles(ds, part, 4, 20, 7);
  EXPECT_EQ(a.train.pixels, b.train.pixels);
  EXPECT_EQ(a.train.count, 20);
  EXPECT_EQ(a.height, 4);
  EXPECT_NE(random_tiles(ds, part, 4, 20, 8).train.ids, a.train.ids);
  for (int64_t k = 0; k < a.train.count; ++k) {
    const std::string& id = a.train.ids[size_t(k)];
    const int img = id[3] - '0';
    const size_t at = id.find('@'), comma = id.find(',');
    const int y = std::stoi(id.substr(at + 1, comma - at - 1)), x = std::stoi(id.substr(comma + 1));
    const auto crop = crop_tile(ds.image("train", img), y, x, 4);
    EXPECT_TRUE(std::equal(crop.begin(), crop.end(), a.train.pixels.begin() + k * 16)) << id;
  }
}

}  // namespace
}  // namespace oiad::data
