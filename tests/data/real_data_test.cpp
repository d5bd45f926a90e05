// Integration: the real data sets, when present on this machine. Absent ones are skipped
// with a message saying where they were looked for.
#include <gtest/gtest.h>

#include "oiad/core/error.h"
#include "oiad/data/registry.h"

namespace oiad::data {
namespace {

void check_counts(const std::string& name, int64_t n_train, int64_t n_test, int c, int h, int w) {
  Dataset ds;
  try {
    ds = load_dataset(name);
  } catch (const Error& e) {
    GTEST_SKIP() << name << " absent: " << e.what();
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

}  // namespace
}  // namespace oiad::data
