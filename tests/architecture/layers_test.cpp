// The library's layers point one way (docs/architecture.md, "Modules"): a module includes
// headers of its own layer and of the layers listed before it, never of a later one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

namespace oiad {
namespace {

namespace fs = std::filesystem;

// The modules in layer order, as docs/architecture.md lists them.
const std::vector<std::string> kLayers = {"core",      "dist",      "data",   "model",     "train",    "detect",
                                          "eval",      "baselines", "peers",  "report",   "workflow", "experiment", "serve"};

TEST(Architecture, LayersPointOneWay) {
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < kLayers.size(); ++i) rank[kLayers[i]] = i;
  const std::regex include_re("#include \"oiad/(\\w+)/");
  size_t files = 0;
  for (const std::string root : {"src", "include/oiad"}) {
    const fs::path base = fs::path(OIAD_SOURCE_DIR) / root;
    ASSERT_TRUE(fs::is_directory(base)) << base;
    for (const auto& module_dir : fs::directory_iterator(base)) {
      if (!module_dir.is_directory()) continue;
      const std::string module = module_dir.path().filename().string();
      ASSERT_TRUE(rank.count(module)) << module << ": a module folder docs/architecture.md does not list";
      for (const auto& f : fs::recursive_directory_iterator(module_dir.path())) {
        if (!f.is_regular_file()) continue;
        ++files;
        std::ifstream in(f.path());
        std::string line;
        while (std::getline(in, line)) {
          std::smatch m;
          if (!std::regex_search(line, m, include_re) || !rank.count(m[1])) continue;
          EXPECT_LE(rank[m[1]], rank[module]) << f.path() << " (" << module << ") includes a later layer: " << line;
        }
      }
    }
  }
  EXPECT_GT(files, 50u);
}

}  // namespace
}  // namespace oiad
