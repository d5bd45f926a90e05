#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <queue>

#include "oiad/core/error.h"
#include "oiad/data/defects.h"

namespace oiad::data {
namespace {

constexpr int kC = 3, kH = 28, kW = 28;

// A test image: a bright square "object" on a dark background with some texture.
std::vector<uint8_t> object_image() {
  std::vector<uint8_t> im(size_t(kC) * kH * kW);
  for (int k = 0; k < kC; ++k)
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x) {
        const bool inside = y >= 8 && y < 20 && x >= 8 && x < 20;
        im[(size_t(k) * kH + y) * kW + x] = uint8_t(inside ? 200 + (x + y + k) % 40 : 10 + (x * 3 + y + k) % 20);
      }
  return im;
}

std::vector<uint8_t> donor_image() {
  std::vector<uint8_t> im(size_t(kC) * kH * kW);
  for (size_t i = 0; i < im.size(); ++i) im[i] = uint8_t(i * 7 % 251);
  return im;
}

// Pixels outside the mask keep their values, in every channel; returns the mask's size.
int check_outside_unchanged(const std::vector<uint8_t>& before, const std::vector<uint8_t>& after,
                            const std::vector<uint8_t>& mask) {
  int n = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      const bool in = mask[size_t(y) * kW + x] != 0;
      n += in;
      if (in) continue;
      for (int k = 0; k < kC; ++k) EXPECT_EQ(after[(size_t(k) * kH + y) * kW + x], before[(size_t(k) * kH + y) * kW + x]);
    }
  return n;
}

// The bounding box of the mask: {y0, x0, y1, x1} inclusive.
std::array<int, 4> bounding_box(const std::vector<uint8_t>& mask) {
  std::array<int, 4> b = {kH, kW, -1, -1};
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x)
      if (mask[size_t(y) * kW + x]) b = {std::min(b[0], y), std::min(b[1], x), std::max(b[2], y), std::max(b[3], x)};
  return b;
}

// Every family: the same seed gives the same defect, another seed another one, and nothing
// outside the mask changes.
TEST(Defects, SeededAndConfinedToTheMask) {
  const auto donor = donor_image();
  for (const std::string& name : defect_family_names()) {
    const DefectFamily f = parse_defect_family(name);
    EXPECT_EQ(defect_family_name(f), name);
    auto a = object_image(), b = object_image(), c = object_image();
    const auto ma = apply_defect(a.data(), kC, kH, kW, f, 11, donor.data());
    const auto mb = apply_defect(b.data(), kC, kH, kW, f, 11, donor.data());
    const auto mc = apply_defect(c.data(), kC, kH, kW, f, 12, donor.data());
    EXPECT_EQ(a, b) << name;
    EXPECT_EQ(ma, mb) << name;
    EXPECT_TRUE(a != c || ma != mc) << name << ": seeds 11 and 12 gave the same defect";
    const int n = check_outside_unchanged(object_image(), a, ma);
    EXPECT_GT(n, 0) << name;
    EXPECT_LT(n, kH * kW / 4) << name << ": a local defect covers under a quarter of the image";
  }
  EXPECT_THROW(parse_defect_family("dent"), UsageError);
  auto tiny = std::vector<uint8_t>(7 * 7, 0);
  EXPECT_THROW(apply_defect(tiny.data(), 1, 7, 7, DefectFamily::kScratch, 1), Error);
  auto im = object_image();
  EXPECT_THROW(apply_defect(im.data(), kC, kH, kW, DefectFamily::kPaste, 1, nullptr), Error);
}

// A scratch is one connected line (8-neighbours) of a single value, 0 or 255, in every
// channel, at least 0.3 s long.
TEST(Defects, ScratchIsAConnectedLineOfOneValue) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto im = object_image();
    const auto mask = apply_defect(im.data(), kC, kH, kW, DefectFamily::kScratch, seed);
    std::vector<int> px;
    for (int i = 0; i < kH * kW; ++i)
      if (mask[size_t(i)]) px.push_back(i);
    const uint8_t v = im[size_t(px[0])];
    EXPECT_TRUE(v == 0 || v == 255);
    for (int i : px)
      for (int k = 0; k < kC; ++k) EXPECT_EQ(im[size_t(k) * kH * kW + size_t(i)], v);
    // Breadth-first search over the mask from its first pixel reaches all of it.
    std::vector<uint8_t> seen(mask.size(), 0);
    std::queue<int> q;
    q.push(px[0]);
    seen[size_t(px[0])] = 1;
    int reached = 0;
    while (!q.empty()) {
      const int i = q.front();
      q.pop();
      ++reached;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int y = i / kW + dy, x = i % kW + dx;
          if (y < 0 || x < 0 || y >= kH || x >= kW || !mask[size_t(y) * kW + x] || seen[size_t(y) * kW + x]) continue;
          seen[size_t(y) * kW + x] = 1;
          q.push(y * kW + x);
        }
    }
    EXPECT_EQ(reached, int(px.size())) << "seed " << seed;
    const auto b = bounding_box(mask);
    const double extent = std::hypot(b[2] - b[0], b[3] - b[1]);
    EXPECT_GE(extent, 0.3 * kH - 1.5) << "seed " << seed;
    EXPECT_LE(extent, 0.6 * kH + 1.5) << "seed " << seed;
  }
}

// An erased patch is a square of side 0.15-0.25 s filled with the border median, and it
// overlaps the object (the bright square), not only the background.
TEST(Defects, EraseFillsASquareWithTheBackground) {
  const auto clean = object_image();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto im = clean;
    const auto mask = apply_defect(im.data(), kC, kH, kW, DefectFamily::kErase, seed);
    const auto b = bounding_box(mask);
    const int side = b[2] - b[0] + 1;
    EXPECT_EQ(side, b[3] - b[1] + 1);
    EXPECT_EQ(check_outside_unchanged(clean, im, mask), side * side);
    EXPECT_GE(side, int(0.15 * kH));
    EXPECT_LE(side, int(0.25 * kH) + 1);
    for (int k = 0; k < kC; ++k) {
      std::vector<uint8_t> border;  // the median of the border pixels, by sorting
      for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x)
          if (y == 0 || x == 0 || y == kH - 1 || x == kW - 1) border.push_back(clean[(size_t(k) * kH + y) * kW + x]);
      std::sort(border.begin(), border.end());
      for (int y = b[0]; y <= b[2]; ++y)
        for (int x = b[1]; x <= b[3]; ++x) EXPECT_EQ(im[(size_t(k) * kH + y) * kW + x], border[border.size() / 2]);
    }
    const bool overlaps = b[2] >= 8 && b[0] < 20 && b[3] >= 8 && b[1] < 20;
    EXPECT_TRUE(overlaps) << "seed " << seed << ": erased only background";
  }
}

// A stain moves every masked pixel towards the far end (255 or 0) by 10-80% of the way.
TEST(Defects, StainBlendsTowardsTheFarEnd) {
  const auto clean = object_image();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto im = clean;
    const auto mask = apply_defect(im.data(), kC, kH, kW, DefectFamily::kStain, seed);
    for (size_t i = 0; i < mask.size(); ++i) {
      if (!mask[i]) continue;
      for (int k = 0; k < kC; ++k) {
        const double v = clean[size_t(k) * kH * kW + i], u = im[size_t(k) * kH * kW + i];
        const double target = v < 128 ? 255 : 0, weight = (u - v) / (target - v);
        EXPECT_GE(weight, 0.1 - 0.5 / std::abs(target - v));
        EXPECT_LE(weight, 0.8 + 0.5 / std::abs(target - v));
      }
    }
  }
}

// A pasted patch is a square equal to a square of the donor (found by brute force).
TEST(Defects, PasteCopiesASquareOfTheDonor) {
  const auto donor = donor_image();
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto im = object_image();
    const auto mask = apply_defect(im.data(), kC, kH, kW, DefectFamily::kPaste, seed, donor.data());
    const auto b = bounding_box(mask);
    const int side = b[2] - b[0] + 1;
    EXPECT_GE(side, int(0.2 * kH));
    EXPECT_LE(side, int(0.3 * kH) + 1);
    bool found = false;
    for (int sy = 0; sy + side <= kH && !found; ++sy)
      for (int sx = 0; sx + side <= kW && !found; ++sx) {
        bool same = true;
        for (int k = 0; k < kC && same; ++k)
          for (int y = 0; y < side && same; ++y)
            for (int x = 0; x < side && same; ++x)
              same = im[(size_t(k) * kH + b[0] + y) * kW + b[1] + x] == donor[(size_t(k) * kH + sy + y) * kW + sx + x];
        found = same;
      }
    EXPECT_TRUE(found) << "seed " << seed;
  }
}

}  // namespace
}  // namespace oiad::data
