#include <gtest/gtest.h>

#include <set>

#include "oiad/core/error.h"
#include "oiad/data/readers.h"
#include "oiad/data/split.h"
#include "test_util.h"

namespace oiad::data {
namespace {

Dataset tiny(int n_train, int n_test, int n_classes) {
  test::TempDir d;
  test::write_idx_folder(d.path(), n_train, n_test, 2, 2, n_classes, false);
  Dataset ds = read_idx_folder(d.path(), {});
  ds.name = "tiny";
  return ds;
}

// Paper protocol: 70/10/20 of the normal class, disjoint; ANO as many as CLE, all other classes.
TEST(Split, PaperProtocolFractionsAndLabels) {
  Dataset ds = tiny(1000, 100, 10);  // 100 images per class
  OneClassSplit s = make_split(ds, 3, Protocol::kPaper, 5);
  EXPECT_EQ(s.train.size(), 70u);
  EXPECT_EQ(s.val.size(), 10u);
  ASSERT_EQ(s.test.size(), 40u);
  std::set<int64_t> seen;
  for (const SplitPart* p : {&s.train, &s.val}) {
    EXPECT_EQ(p->source, "train");
    for (int64_t i : p->index) {
      EXPECT_EQ(ds.train.labels[i], 3);
      EXPECT_TRUE(seen.insert(i).second) << "index " << i << " used twice";
    }
  }
  int normal = 0, anomalous = 0;
  for (size_t k = 0; k < s.test.size(); ++k) {
    const int64_t i = s.test.index[k];
    EXPECT_TRUE(seen.insert(i).second) << "index " << i << " used twice";
    const bool is_anomalous = ds.train.labels[i] != 3;
    EXPECT_EQ(s.test.anomalous[k], is_anomalous);
    (is_anomalous ? anomalous : normal)++;
  }
  EXPECT_EQ(normal, 20);
  EXPECT_EQ(anomalous, 20);
}

// Standard protocol: VAL is 10% of the normal training images; test is the whole test split.
TEST(Split, StandardProtocol) {
  Dataset ds = tiny(1000, 100, 10);
  OneClassSplit s = make_split(ds, 0, Protocol::kStandard, 1);
  EXPECT_EQ(s.val.size(), 10u);
  EXPECT_EQ(s.train.size(), 90u);
  ASSERT_EQ(s.test.size(), 100u);
  EXPECT_EQ(s.test.source, "test");
  int anomalous = 0;
  for (size_t k = 0; k < 100; ++k) {
    EXPECT_EQ(s.test.index[k], int64_t(k));
    anomalous += s.test.anomalous[k];
  }
  EXPECT_EQ(anomalous, 90);
}

// Same seed, same split; another seed, another split; JSON round-trips every index.
TEST(Split, SeededReproducibleAndSaved) {
  Dataset ds = tiny(500, 50, 5);
  OneClassSplit a = make_split(ds, 1, Protocol::kPaper, 9);
  OneClassSplit b = make_split(ds, 1, Protocol::kPaper, 9);
  OneClassSplit c = make_split(ds, 1, Protocol::kPaper, 10);
  EXPECT_EQ(a.train.index, b.train.index);
  EXPECT_EQ(a.test.index, b.test.index);
  EXPECT_NE(a.train.index, c.train.index);
  OneClassSplit r = OneClassSplit::from_json(a.to_json(), "mem");
  EXPECT_EQ(r.train.index, a.train.index);
  EXPECT_EQ(r.val.index, a.val.index);
  EXPECT_EQ(r.test.index, a.test.index);
  EXPECT_EQ(r.test.anomalous, a.test.anomalous);
  EXPECT_EQ(r.seed, 9u);
  EXPECT_THROW(OneClassSplit::from_json("{\"dataset\": 1}", "bad.json"), Error);
}

// --limit caps each part; the paper test part stays balanced.
TEST(Split, LimitCapsEachPart) {
  Dataset ds = tiny(1000, 100, 10);
  OneClassSplit s = make_split(ds, 2, Protocol::kPaper, 1, 8);
  EXPECT_EQ(s.train.size(), 8u);
  EXPECT_EQ(s.val.size(), 8u);
  EXPECT_EQ(s.test.size(), 8u);
  int anomalous = 0;
  for (auto a : s.test.anomalous) anomalous += a;
  EXPECT_EQ(anomalous, 4);
  OneClassSplit t = make_split(ds, 2, Protocol::kStandard, 1, 30);
  EXPECT_EQ(t.test.size(), 30u);
}

// gather_pixels copies exactly the referenced images.
TEST(Split, GatherPixels) {
  Dataset ds = tiny(20, 5, 2);
  SplitPart p{"train", {3, 0}, {0, 0}};
  auto px = gather_pixels(ds, p);
  ASSERT_EQ(px.size(), 8u);
  EXPECT_EQ(px[0], test::idx_pixel(3, 0, 0, 2));
  EXPECT_EQ(px[7], test::idx_pixel(0, 1, 1, 2));
  // An index outside the split (a hand-edited or stale split) is an error, never a read.
  for (int64_t bad : {int64_t(20), int64_t(-1), int64_t(1000000000000)}) {
    SplitPart q{"train", {0, bad}, {0, 0}};
    EXPECT_THROW(gather_pixels(ds, q), Error) << bad;
  }
}

}  // namespace
}  // namespace oiad::data
