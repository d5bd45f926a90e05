#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "oiad/core/error.h"
#include "oiad/data/defects.h"
#include "oiad/data/readers.h"
#include "oiad/data/split.h"
#include "test_util.h"

namespace oiad::data {
namespace {

Dataset tiny(int n_train, int n_test, int n_classes, int side = 2) {
  test::TempDir d;
  test::write_idx_folder(d.path(), n_train, n_test, side, side, n_classes, false);
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

// Inspection protocol: 30% of the normal class to test, 10% of the rest to VAL, the rest to
// train, disjoint; test then holds every image of the other classes; all from train, and
// the split survives its JSON.
TEST(Split, InspectionProtocol) {
  Dataset ds = tiny(400, 1, 4);  // 100 images per class
  ds.test = ImageSet{};          // the inspection protocol reads the train split only
  OneClassSplit s = make_split(ds, 1, Protocol::kInspection, 9);
  EXPECT_EQ(s.protocol, "inspection");
  EXPECT_EQ(s.val.size(), 7u);     // round(0.1 x 70)
  EXPECT_EQ(s.train.size(), 63u);
  ASSERT_EQ(s.test.size(), 330u);  // 30 normal + 300 others
  std::set<int64_t> seen;
  for (const SplitPart* p : {&s.train, &s.val, &s.test}) {
    EXPECT_EQ(p->source, "train");
    for (size_t k = 0; k < p->size(); ++k) {
      const int64_t i = p->index[k];
      EXPECT_TRUE(seen.insert(i).second) << "index " << i << " used twice";
      EXPECT_EQ(p->anomalous[k], ds.train.labels[size_t(i)] != 1);
    }
  }
  EXPECT_EQ(seen.size(), 400u);
  const OneClassSplit back = OneClassSplit::from_json(s.to_json(), "split");
  EXPECT_EQ(back.test.index, s.test.index);
  EXPECT_NE(make_split(ds, 1, Protocol::kInspection, 10).train.index, s.train.index);
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
  SplitPart p;
  p.source = "train";
  p.index = {3, 0};
  p.anomalous = {0, 0};
  auto px = gather_pixels(ds, p);
  ASSERT_EQ(px.size(), 8u);
  EXPECT_EQ(px[0], test::idx_pixel(3, 0, 0, 2));
  EXPECT_EQ(px[7], test::idx_pixel(0, 1, 1, 2));
  // An index outside the split (a hand-edited or stale split) is an error, never a read.
  for (int64_t bad : {int64_t(20), int64_t(-1), int64_t(1000000000000)}) {
    SplitPart q = p;
    q.index = {0, bad};
    EXPECT_THROW(gather_pixels(ds, q), Error) << bad;
  }
}

// Defects protocol: train and VAL as the standard protocol's; test = the normal class's
// test images only, the first half clean and the rest defective with the families taking
// turns; a clean image is the data set's, a defective one differs from it only on its mask;
// the JSON keeps everything needed to rebuild the same pixels; a subset keeps its defects.
TEST(Split, DefectsProtocol) {
  Dataset ds = tiny(200, 100, 4, 16);  // 25 test images per class
  const OneClassSplit s = make_split(ds, 2, Protocol::kDefects, 9);
  const OneClassSplit st = make_split(ds, 2, Protocol::kStandard, 9);
  EXPECT_EQ(s.protocol, "defects");
  EXPECT_EQ(s.train.index, st.train.index);
  EXPECT_EQ(s.val.index, st.val.index);
  ASSERT_EQ(s.test.size(), 25u);
  EXPECT_EQ(s.test.source, "test");
  std::set<int64_t> seen;
  std::vector<int> per_family(4, 0);
  for (size_t i = 0; i < s.test.size(); ++i) {
    EXPECT_EQ(ds.test.labels[size_t(s.test.index[i])], 2);
    EXPECT_TRUE(seen.insert(s.test.index[i]).second);
    const bool defective = i >= 12;
    EXPECT_EQ(s.test.anomalous[i], defective);
    EXPECT_EQ(s.test.defect[i] >= 0, defective);
    if (defective) {
      EXPECT_EQ(s.test.defect[i], int((i - 12) % 4));
      per_family[size_t(s.test.defect[i])]++;
    }
    const bool paste = s.test.defect[i] == int8_t(DefectFamily::kPaste);
    EXPECT_EQ(s.test.donor[i] >= 0, paste);
    if (paste) {
      EXPECT_NE(s.test.donor[i], s.test.index[i]);
    }
  }
  EXPECT_EQ(per_family, (std::vector<int>{4, 3, 3, 3}));
  const std::vector<uint8_t> px = gather_pixels(ds, s.test), masks = defect_masks(ds, s.test);
  const size_t sz = 16 * 16;
  for (size_t i = 0; i < s.test.size(); ++i) {
    int changed = 0, masked = 0;
    for (size_t p = 0; p < sz; ++p) {
      const uint8_t orig = ds.test.pixels[size_t(s.test.index[i]) * sz + p];
      masked += masks[i * sz + p];
      changed += px[i * sz + p] != orig;
      if (!masks[i * sz + p]) {
        EXPECT_EQ(px[i * sz + p], orig) << "image " << i << " pixel " << p;
      }
    }
    EXPECT_EQ(masked > 0, i >= 12) << i;
    EXPECT_EQ(changed > 0, i >= 12) << i;
  }
  const OneClassSplit back = OneClassSplit::from_json(s.to_json(), "s.json");
  EXPECT_EQ(back.test.defect, s.test.defect);
  EXPECT_EQ(back.test.defect_seed, s.test.defect_seed);
  EXPECT_EQ(back.test.donor, s.test.donor);
  EXPECT_EQ(gather_pixels(ds, back.test), px);
  const SplitPart last = s.test.subset({24, 0});
  const std::vector<uint8_t> sub = gather_pixels(ds, last);
  EXPECT_TRUE(std::equal(sub.begin(), sub.begin() + std::ptrdiff_t(sz), px.begin() + std::ptrdiff_t(24 * sz)));
  EXPECT_TRUE(std::equal(sub.begin() + std::ptrdiff_t(sz), sub.end(), px.begin()));
  // Only the families asked for; images too small for a defect are refused.
  const OneClassSplit scratches = make_split(ds, 2, Protocol::kDefects, 9, 0, {"scratch"});
  for (size_t i = 12; i < 25; ++i) EXPECT_EQ(scratches.test.defect[i], int8_t(DefectFamily::kScratch));
  EXPECT_THROW(make_split(tiny(40, 20, 2), 0, Protocol::kDefects, 1), Error);
}

}  // namespace
}  // namespace oiad::data
