#include <gtest/gtest.h>

#include <vector>

#include "oiad/data/resize.h"
#include "oiad/data/split.h"

namespace oiad::data {
namespace {

// Halving by pixel-area averaging is the mean of each 2x2 block (closed form), per channel.
TEST(Resize, HalvingAveragesBlocks) {
  std::vector<uint8_t> img(2 * 4 * 4);
  for (size_t i = 0; i < img.size(); ++i) img[i] = uint8_t(4 * i);
  const auto out = resize_image(img.data(), 2, 4, 4, 2, 2);
  ASSERT_EQ(out.size(), 8u);
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) {
        double sum = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) sum += img[size_t(c * 16 + (2 * y + dy) * 4 + 2 * x + dx)];
        EXPECT_NEAR(out[size_t(c * 4 + y * 2 + x)], sum / 4, 0.5) << c << y << x;
      }
}

// A mask keeps the output pixels at least half covered by the defect.
TEST(Resize, MaskKeepsHalfCoveredPixels) {
  // 4x4 -> 2x2: block (0,0) fully marked, (0,1) 3 of 4, (1,0) 1 of 4, (1,1) none.
  const std::vector<uint8_t> mask = {1, 1, 1, 1,  //
                                     1, 1, 0, 1,  //
                                     0, 0, 0, 0,  //
                                     1, 0, 0, 0};
  EXPECT_EQ(resize_mask(mask.data(), 4, 4, 2, 2), (std::vector<uint8_t>{1, 1, 0, 0}));
}

// A data set of mixed sizes becomes one of side x side: labels, ids and masks kept, the
// masks resized like the images.
TEST(Resize, MixedSetToOneSide) {
  Dataset ds;
  ds.name = "mixed";
  ds.channels = 1;
  ds.class_names = {"good", "bad"};
  ImageSet& s = ds.train;
  for (int i = 0; i < 2; ++i) {
    const int h = 4 + 4 * i, w = 8;
    s.heights.push_back(h);
    s.widths.push_back(w);
    s.offsets.push_back(int64_t(s.pixels.size()));
    s.pixels.insert(s.pixels.end(), size_t(h) * w, uint8_t(50 + 100 * i));
    s.masks.insert(s.masks.end(), size_t(h) * w, uint8_t(i));
    s.has_mask.push_back(1);
    s.labels.push_back(i);
    s.ids.push_back("img" + std::to_string(i));
    s.count++;
  }
  EXPECT_TRUE(needs_resize(ds, 4));
  const Dataset r = resized(ds, 4);
  EXPECT_FALSE(r.mixed_sizes());
  EXPECT_FALSE(needs_resize(r, 4));
  EXPECT_EQ(r.height, 4);
  EXPECT_EQ(r.train.pixels.size(), 32u);
  EXPECT_EQ(r.train.pixels[0], 50);
  EXPECT_EQ(r.train.pixels[31], 150);
  EXPECT_EQ(r.train.masks.size(), 32u);
  EXPECT_EQ(r.train.masks[0], 0);
  EXPECT_EQ(r.train.masks[20], 1);
  EXPECT_EQ(r.train.labels, s.labels);
  EXPECT_EQ(r.train.ids, s.ids);
  // The masks of a part of the resized set come out with the images.
  SplitPart part;
  part.source = "train";
  part.index = {1, 0};
  part.anomalous = {1, 0};
  const auto m = defect_masks(r, part);
  EXPECT_EQ(m[0], 1);
  EXPECT_EQ(m[16], 0);
  EXPECT_TRUE(has_masks(r, part));
}

}  // namespace
}  // namespace oiad::data
