#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "targets.h"

namespace oiad::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

const fs::path kFuzzDir = fs::path(OIAD_SOURCE_DIR) / "tests" / "fuzz";

// Every seed input is accepted by its parser (so the fuzzer starts from valid inputs of each
// layout), except those that stand for a documented refusal (16-bit images).
TEST(FuzzCorpus, SeedsAreValidInputs) {
  const std::set<std::string> refused = {"grey16.png"};
  for (const std::string& t : target_names()) {
    const auto seeds = files_in(kFuzzDir / "corpus" / t);
    EXPECT_GE(seeds.size(), 2u) << t << ": no seed corpus";
    for (const fs::path& p : seeds) {
      const std::vector<uint8_t> b = read_all(p);
      const bool accepted = target_by_name(t)(b.data(), b.size());
      EXPECT_EQ(accepted, !refused.count(p.filename().string())) << t << ": " << p.filename();
    }
  }
}

// Every input that once crashed a parser (tests/fuzz/regressions/<target>/) is now refused
// with a one-line oiad::Error; under the sanitizer build a memory error would abort here.
TEST(FuzzCorpus, CrashesFoundStayFixed) {
  int n = 0;
  for (const std::string& t : target_names())
    for (const fs::path& p : files_in(kFuzzDir / "regressions" / t)) {
      const std::vector<uint8_t> b = read_all(p);
      EXPECT_NO_THROW(target_by_name(t)(b.data(), b.size())) << t << ": " << p.filename();
      ++n;
    }
  EXPECT_GE(n, 1);
}

}  // namespace
}  // namespace oiad::fuzz
