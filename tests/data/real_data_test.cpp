// Integration: the real data sets, when present on this machine. Absent ones are skipped
// with a message saying where they were looked for, unless OIAD_REQUIRE_DATA names them
// (comma-separated; scripts/test.sh names every data set its setup provides): then their
// absence fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "oiad/core/error.h"
#include "oiad/data/registry.h"

namespace oiad::data {
namespace {

bool required(const std::string& name) {
  const char* env = std::getenv("OIAD_REQUIRE_DATA");
  std::stringstream list(env ? env : "");
  for (std::string item; std::getline(list, item, ',');)
    if (item == name) return true;
  return false;
}

// Skips, or fails when OIAD_REQUIRE_DATA names the data set.
#define OIAD_DATA_ABSENT(name, e)                                                        \
  do {                                                                                   \
    if (required(name)) FAIL() << name << " absent but required: " << (e).what();        \
    GTEST_SKIP() << name << " absent: " << (e).what();                                   \
  } while (0)

void check_counts(const std::string& name, int64_t n_train, int64_t n_test, int c, int h, int w) {
  Dataset ds;
  try {
    ds = load_dataset(name);
  } catch (const Error& e) {
    OIAD_DATA_ABSENT(name, e);
  }
  EXPECT_EQ(ds.train.count, n_train);
  EXPECT_EQ(ds.test.count, n_test);
  EXPECT_EQ(ds.channels, c);
  EXPECT_EQ(ds.height, h);
  EXPECT_EQ(ds.width, w);
  ASSERT_EQ(ds.class_names.size(), 10u);
  // Every class is present in both splits.
  for (int64_t n : ds.per_class("train")) EXPECT_GT(n, 0);
  for (int64_t n : ds.per_class("test")) EXPECT_GT(n, 0);
}

// MNIST: 60000 train and 10000 test images of 28x28 grey (LeCun et al.).
TEST(RealData, Mnist) { check_counts("mnist", 60000, 10000, 1, 28, 28); }
// Fashion-MNIST: the same shape as MNIST (Xiao et al. 2017).
TEST(RealData, FashionMnist) { check_counts("fashion-mnist", 60000, 10000, 1, 28, 28); }
// CIFAR-10: 50000 train and 10000 test images of 32x32 colour (Krizhevsky 2009).
TEST(RealData, Cifar10) { check_counts("cifar10", 50000, 10000, 3, 32, 32); }

// Magnetic-tile (Huang et al.): the counts its README states (data/README.md beside the
// project): 952 defect-free and 392 defective grey photographs of mixed sizes, 103-632 wide
// and 222-403 high, a mask beside each, empty for the defect-free ones and 4 Uneven ones.
TEST(RealData, MagneticTile) {
  Dataset ds;
  try {
    ds = load_dataset("magnetic-tile");
  } catch (const Error& e) {
    OIAD_DATA_ABSENT(std::string("magnetic-tile"), e);
  }
  EXPECT_EQ(ds.channels, 1);
  EXPECT_TRUE(ds.mixed_sizes());
  EXPECT_EQ(ds.test.count, 0);
  ASSERT_EQ(ds.class_names, (std::vector<std::string>{"Blowhole", "Break", "Crack", "Fray", "Free", "Uneven"}));
  EXPECT_EQ(ds.per_class("train"), (std::vector<int64_t>{115, 85, 57, 32, 952, 103}));
  int lo_w = 1 << 30, hi_w = 0, lo_h = 1 << 30, hi_h = 0;
  int64_t with_defect = 0, known = 0;
  for (int64_t i = 0; i < ds.train.count; ++i) {
    const ImageView v = ds.image("train", i);
    lo_w = std::min(lo_w, v.width), hi_w = std::max(hi_w, v.width);
    lo_h = std::min(lo_h, v.height), hi_h = std::max(hi_h, v.height);
    ASSERT_NE(v.mask, nullptr) << ds.train.ids[size_t(i)];
    ++known;
    const bool defect = std::any_of(v.mask, v.mask + size_t(v.width) * v.height, [](uint8_t b) { return b != 0; });
    with_defect += defect;
    if (ds.class_names[size_t(ds.train.labels[size_t(i)])] == "Free") EXPECT_FALSE(defect) << ds.train.ids[size_t(i)];
  }
  EXPECT_EQ(known, 1344);
  EXPECT_EQ(with_defect, 388);
  EXPECT_EQ(lo_w, 103);
  EXPECT_EQ(hi_w, 632);
  EXPECT_EQ(lo_h, 222);
  EXPECT_EQ(hi_h, 403);
}

}  // namespace
}  // namespace oiad::data
