#include <gtest/gtest.h>

#include <cmath>

#include "oiad/core/choice.h"
#include "oiad/core/option_spec.h"
#include "oiad/detect/calibration.h"
#include "oiad/detect/detector_options.h"
#include "oiad/train/train_options.h"
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "oiad/core/error.h"
#include "oiad/core/json_fields.h"
#include "oiad/core/parse.h"
#include "oiad/core/file_util.h"
#include "oiad/core/random.h"
#include "test_util.h"

namespace oiad {
namespace {

// Names from input keep messages on one line: control characters become \xNN, the rest
// (UTF-8 included) stays as it is.
TEST(Error, PrintableNames) {
  EXPECT_EQ(printable("train/cat/1.png"), "train/cat/1.png");
  EXPECT_EQ(printable(std::string("a\nb\tc\x7f\x01") + '\0' + "d"), "a\\x0ab\\x09c\\x7f\\x01\\x00d");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");
}

// SHA-256 matches the FIPS 180-2 published test vectors.
TEST(Sha256, MatchesFipsVectors) {
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(two.data(), two.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  test::TempDir d;
  write_file_atomic(d.file("abc"), std::string("abc"));
  EXPECT_EQ(sha256_file_hex(d.file("abc")), sha256_hex("abc", 3));
}

// An atomic write replaces the file and leaves no temporary file behind.
TEST(FileUtil, AtomicWriteLeavesNoTemporary) {
  test::TempDir d;
  write_file_atomic(d.file("x.txt"), std::string("one"));
  write_file_atomic(d.file("x.txt"), std::string("two"));
  EXPECT_EQ(test::read_text(d.file("x.txt")), "two");
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path())) (void)e, ++n;
  EXPECT_EQ(n, 1);
  EXPECT_THROW(write_file_atomic(d.file("no/such/dir/x"), std::string("a")), Error);
}

// gunzip restores the input and names the stream when it is truncated or corrupt.
TEST(FileUtil, GunzipRoundTripAndTruncation) {
  std::vector<uint8_t> raw(5000);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = uint8_t(i * 31 % 251);
  auto gz = test::gzip_bytes(raw);
  EXPECT_EQ(gunzip(gz, "x.gz"), raw);
  auto cut = gz;
  cut.resize(gz.size() / 2);
  try {
    gunzip(cut, "cut.gz");
    FAIL() << "truncated gzip accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.gz"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
  }
  auto bad = gz;
  for (size_t i = 20; i < 40; ++i) bad[i] ^= 0x5a;
  EXPECT_THROW(gunzip(bad, "bad.gz"), Error);
}

// gunzip's output limit: exactly the limit passes, one byte more is refused, and the prefix
// reader stops where asked.
TEST(FileUtil, GunzipLimit) {
  std::vector<uint8_t> raw(1000);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = uint8_t(i % 7);
  const auto gz = test::gzip_bytes(raw);
  EXPECT_EQ(gunzip(gz, "x.gz", 1000), raw);
  try {
    gunzip(gz, "x.gz", 999);
    FAIL() << "limit not applied";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.gz: inflates to more than 999 bytes"), std::string::npos) << e.what();
  }
  EXPECT_EQ(gunzip_prefix(gz, "x.gz", 10), std::vector<uint8_t>(raw.begin(), raw.begin() + 10));
  EXPECT_EQ(gunzip_prefix(gz, "x.gz", 5000), raw);
}

// Symbolic links are followed (the link stays, its target gets the text); a character device
// is written in place; a folder is refused; a full device is an error, not a silent loss.
TEST(FileUtil, AtomicWriteTargets) {
  test::TempDir d;
  write_file_atomic(d.file("target"), std::string("old"));
  std::filesystem::create_symlink("target", d.file("link"));
  write_file_atomic(d.file("link"), std::string("new"));
  EXPECT_TRUE(std::filesystem::is_symlink(d.file("link")));
  EXPECT_EQ(test::read_text(d.file("target")), "new");
  std::filesystem::create_symlink("created", d.file("dangling"));
  write_file_atomic(d.file("dangling"), std::string("made"));
  EXPECT_TRUE(std::filesystem::is_symlink(d.file("dangling")));
  EXPECT_EQ(test::read_text(d.file("created")), "made");
  write_file_atomic("/dev/null", std::string("discarded"));
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  std::filesystem::create_directories(d.file("folder"));
  EXPECT_THROW(write_file_atomic(d.file("folder"), std::string("x")), Error);
  if (std::filesystem::is_character_file("/dev/full")) {
    try {
      write_file_atomic("/dev/full", std::string("x"));
      FAIL() << "write to /dev/full succeeded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("/dev/full: write failed"), std::string::npos) << e.what();
    }
  }
}

// Writing a pair: when the second file cannot be written, the first keeps its old content.
TEST(FileUtil, PairWriteLeavesOldFilesOnFailure) {
  test::TempDir d;
  write_file_atomic(d.file("a"), std::string("old a"));
  EXPECT_THROW(write_files_atomic({{d.file("a"), "new a"}, {d.file("missing/b"), "new b"}}), Error);
  EXPECT_EQ(test::read_text(d.file("a")), "old a");
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path())) (void)e, ++n;
  EXPECT_EQ(n, 1) << "a temporary file was left behind";
  write_files_atomic({{d.file("a"), "new a"}, {d.file("b"), "new b"}});
  EXPECT_EQ(test::read_text(d.file("a")), "new a");
  EXPECT_EQ(test::read_text(d.file("b")), "new b");
}

// Temporary files of processes that no longer run are removed; those of a running process
// (here the parent of this test) and other files are kept.
TEST(FileUtil, StaleTemporariesRemoved) {
  test::TempDir d;
  const std::string f = d.file("m.oiad");
  // 999999999 is above any Linux pid (pid_max is at most 2^22), so no such process runs.
  test::write_bytes(f + ".tmp.999999999", {1});
  test::write_bytes(f + ".tmp." + std::to_string(getppid()), {2});
  test::write_bytes(f + ".tmp.notapid", {3});
  test::write_bytes(d.file("other.tmp.999999999"), {4});
  EXPECT_EQ(remove_stale_temporaries(f), 1);
  EXPECT_FALSE(std::filesystem::exists(f + ".tmp.999999999"));
  EXPECT_TRUE(std::filesystem::exists(f + ".tmp." + std::to_string(getppid())));
  EXPECT_TRUE(std::filesystem::exists(f + ".tmp.notapid"));
  EXPECT_TRUE(std::filesystem::exists(d.file("other.tmp.999999999")));
}

// Only regular files are read: a folder or a FIFO is refused at once (a FIFO would block).
TEST(FileUtil, ReadRefusesFoldersAndFifos) {
  test::TempDir d;
  ASSERT_EQ(mkfifo(d.file("fifo").c_str(), 0600), 0);
  for (const std::string& p : {d.path(), d.file("fifo")}) {
    try {
      read_file_bytes(p);
      FAIL() << p << " was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  }
}

// Integers from JSON: in range they are returned exactly; fractions, non-numbers, values out
// of range and floats beyond int64 (whose cast would be undefined) are errors naming the key.
TEST(JsonFields, IntegersAreCheckedBeforeTheyAreCast) {
  const nlohmann::json j = nlohmann::json::parse(
      R"({"a": 7, "b": 7.0, "c": 7.5, "d": 1e300, "e": -1, "f": 18446744073709551615, "g": "7", "h": [0, 1, 2],
          "i": 9223372036854775807, "k": 9.3e18})");
  EXPECT_EQ(bounded_int(j, "a", 0, 10, "t"), 7);
  EXPECT_EQ(bounded_int(j, "b", 0, 10, "t"), 7);
  EXPECT_EQ(bounded_int(j, "i", 0, INT64_MAX, "t"), INT64_MAX);
  for (const char* bad : {"c", "d", "e", "f", "g", "k"}) {
    try {
      bounded_int(j, bad, 0, INT64_MAX, "t");
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("t: ") + bad), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(bounded_int_list(j, "h", 0, 2, "t"), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_THROW(bounded_int_list(j, "h", 0, 1, "t"), Error);
  EXPECT_THROW(bounded_int_list(j, "a", 0, 10, "t"), Error);
  EXPECT_EQ(json_uint64(j, "f", "t"), UINT64_MAX);
  EXPECT_THROW(json_uint64(j, "d", "t"), Error);
  EXPECT_THROW(json_uint64(j, "e", "t"), Error);
}

// The same seed gives the same stream; uniform_index stays in range and covers it evenly.
// Whole-text numbers only: every prefix, padding, sign or special spelling that std::stol /
// std::stod would accept in part is refused.
TEST(Parse, NumbersAreTheWholeText) {
  EXPECT_EQ(parse_integer("0"), 0);
  EXPECT_EQ(parse_integer("29500"), 29500);
  EXPECT_EQ(parse_integer("-3"), -3);
  EXPECT_EQ(parse_integer("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"", " 1", "1 ", "+1", "1x", "0x10", "1.0", "1e3", "9223372036854775808", "-"})
    EXPECT_FALSE(parse_integer(bad).has_value()) << "'" << bad << "'";
  EXPECT_EQ(parse_real("0.05"), 0.05);
  EXPECT_EQ(parse_real("-1"), -1.0);
  EXPECT_EQ(parse_real("5e-3"), 0.005);
  EXPECT_EQ(parse_real("1E2"), 100.0);
  for (const char* bad : {"", " 0.1", "0.1 ", "+0.1", "0.1x", "nan", "inf", "-inf", "1e999", "0x1p3", ".", "e5"})
    EXPECT_FALSE(parse_real(bad).has_value()) << "'" << bad << "'";
}

TEST(Rng, DeterministicAndUniform) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
  Rng r(7);
  std::vector<int> hist(10, 0);
  const int n = 100000;
  for (int i = 0; i < n; ++i) hist[r.uniform_index(10)]++;
  // Each bucket expects 10000 with sd sqrt(n p (1-p)) = 94.9; 6 sd = 570.
  for (int h : hist) EXPECT_NEAR(h, 10000, 570);
  double mean = 0;
  for (int i = 0; i < n; ++i) mean += r.uniform01();
  EXPECT_NEAR(mean / n, 0.5, 6 * std::sqrt(1.0 / 12 / n));
}

// Fisher-Yates keeps the multiset of values.
TEST(Rng, ShuffleIsAPermutation) {
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[i] = i;
  Rng r(1);
  shuffle_in_place(v, r);
  std::set<int> s(v.begin(), v.end());
  EXPECT_EQ(s.size(), 100u);
  EXPECT_NE(v[0] + v[1] * 100, 0 + 1 * 100);
}

}  // namespace
}  // namespace oiad

namespace oiad {
namespace {

// A closed set parses its own names to their positions; anything else is a usage error
// listing every allowed name, written from the set (not re-typed), with the text shown
// printable.
TEST(Choice, ParsesAndListsTheSet) {
  const std::vector<std::string> names = {"mse", "loss", "ssim", "local"};
  EXPECT_EQ(parse_choice(names, "ssim", "metric"), 2u);
  EXPECT_EQ(choice_list(names), "mse, loss, ssim or local");
  EXPECT_EQ(choice_list({"a"}), "a");
  EXPECT_EQ(choice_list({"a", "b"}, " and "), "a and b");
  try {
    parse_choice(names, "ss\x01im", "metric");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "unknown metric 'ss\\x01im' (expected mse, loss, ssim or local)");
  }
  // The library's enum parsers are this one: their messages follow their name lists.
  try {
    detect::parse_rule("two-sided");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "unknown rule 'two-sided' (expected " + choice_list(detect::rule_names()) + ")");
  }
  for (size_t i = 0; i < detect::placement_names().size(); ++i)
    EXPECT_EQ(detect::placement_name(detect::parse_placement(detect::placement_names()[i])),
              detect::placement_names()[i]);
  EXPECT_THROW(detect::parse_preset("custom"), UsageError);  // recorded, never asked for
}

// A numeric option's range: closed or open at its minimum, whole numbers for an integer
// option, NaN and infinities refused; the message names the option as the CLI or Python
// spells it, with the range as help texts show it.
TEST(NumberSpec, RangesAndMessages) {
  const NumberSpec epochs{"epochs", "", 1, 1e6};
  const NumberSpec lr{"lr", "", 0, 1, true, false};
  const NumberSpec warm{"kl-warmup", "", 0, 1e6, false, true, "kl_warmup_epochs"};
  EXPECT_TRUE(epochs.accepts(1) && epochs.accepts(1e6));
  EXPECT_FALSE(epochs.accepts(0) || epochs.accepts(1e6 + 1) || epochs.accepts(2.5) || epochs.accepts(std::nan("")));
  EXPECT_TRUE(lr.accepts(1) && lr.accepts(1e-9));
  EXPECT_FALSE(lr.accepts(0) || lr.accepts(INFINITY));
  EXPECT_EQ(epochs.range_text(), "[1, 1e6]");
  EXPECT_EQ(lr.range_text(), "(0, 1]");
  EXPECT_EQ(NumberSpec::default_text(0.001), "0.001");
  EXPECT_EQ(NumberSpec::default_text(2e-5), "2e-5");
  EXPECT_EQ(warm.shown("--"), "--kl-warmup");
  EXPECT_EQ(warm.shown(""), "kl_warmup_epochs");
  EXPECT_EQ(NumberSpec({"batch-size", "", 2, 65536}).shown(""), "batch_size");
  try {
    lr.check(0, "train", "--");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "train: --lr 0 outside (0, 1]");
  }
  try {
    epochs.check(std::nan(""), "train", "");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "train: epochs nan outside [1, 1e6]");
  }
  // The training options are checked by their specs, the first out of range named.
  train::TrainOptions t;
  EXPECT_NO_THROW(train::check_options(t, "train", "--"));
  t.batch_size = 1;
  EXPECT_THROW(train::check_options(t, "train", "--"), UsageError);
}

}  // namespace
}  // namespace oiad
