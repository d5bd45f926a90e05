// The installed package: `cmake --install` into a temporary prefix, then the README's C++ example
// (examples/cpp) built against it by its own plain CMakeLists.txt through find_package(oiad). The
// same model scores the same images alike through the CLI, the installed example and the
// installed Python module; none of curl, libarchive, PLplot, Armadillo or libsvm is among the
// example's directly linked libraries (they belong to the data, report and experiment components).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace oiad {
namespace {

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> v;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

test::CommandResult configure(const std::string& source, const std::string& build, const std::string& prefix) {
  return test::run_command("cmake -S " + source + " -B " + build + " -DCMAKE_PREFIX_PATH=" + prefix);
}

TEST(Package, InstalledExampleBuildsAndScoresLikeTheCli) {
  const std::string model = test::fixture_dir() + "/detect_cli/m.oiad", folder = test::fixture_dir() + "/detect_cli/set";
  ASSERT_TRUE(std::filesystem::exists(model)) << model << " missing: run DetectCliFixture.TrainModel first";
  test::TempDir d;
  const std::string prefix = d.file("prefix");
  auto inst = test::run_command("cmake --install " OIAD_BUILD_DIR " --prefix " + prefix);
  ASSERT_EQ(inst.exit_code, 0) << inst.err;
  EXPECT_TRUE(std::filesystem::exists(prefix + "/include/oiad/version.h"));
  EXPECT_TRUE(std::filesystem::exists(prefix + "/bin/oiad"));

  auto conf = configure(OIAD_SOURCE_DIR "/examples/cpp", d.file("build"), prefix);
  ASSERT_EQ(conf.exit_code, 0) << conf.out << conf.err;
  auto build = test::run_command("cmake --build " + d.file("build"));
  ASSERT_EQ(build.exit_code, 0) << build.out << build.err;
  const std::string example = d.file("build/score_images");

  // Direct dependencies (DT_NEEDED): the detector's, not the other components'.
  auto needed = test::run_command("readelf -d " + example);
  ASSERT_EQ(needed.exit_code, 0) << needed.err;
  EXPECT_NE(needed.out.find("libtorch"), std::string::npos) << needed.out;
  for (const char* lib : {"libcurl", "libarchive", "libplplot", "libarmadillo", "libsvm"})
    EXPECT_EQ(needed.out.find(lib), std::string::npos) << lib << " linked:\n" << needed.out;

  EXPECT_EQ(test::run_command(example).exit_code, 2);  // usage

  const std::string files = folder + "/a/1.png " + folder + "/b/2.png " + folder + "/a/7.png";
  auto cli = test::run_oiad("--threads 1 score --model " + model + " " + files);
  auto ex = test::run_command("OMP_NUM_THREADS=1 " + example + " " + model + " " + files);
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  const auto a = json_lines(cli.out), b = json_lines(ex.out);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a[i]["id"], b[i]["id"]);
    EXPECT_NEAR(a[i]["score"].get<double>(), b[i]["score"].get<double>(), 1e-9) << i;
    EXPECT_EQ(a[i]["anomalous"], b[i]["anomalous"]) << i;
    EXPECT_NEAR(a[i]["p_value"].get<double>(), b[i]["p_value"].get<double>(), 1e-12) << i;
  }
  // --map writes each image's change map as a binary PGM of the network's side.
  auto mapped = test::run_command("OMP_NUM_THREADS=1 " + example + " --map " + model + " " + folder + "/a/1.png");
  ASSERT_EQ(mapped.exit_code, 0) << mapped.err;
  std::ifstream pgm(folder + "/a/1.png.map.pgm", std::ios::binary);
  std::string magic;
  int w = 0, h = 0, maxval = 0;
  pgm >> magic >> w >> h >> maxval;
  EXPECT_EQ(magic, "P5");
  EXPECT_EQ(w, 32);
  EXPECT_EQ(h, 32);
  EXPECT_EQ(maxval, 255);

#ifdef OIAD_PYTHON_EXECUTABLE
  // The installed Python module gives the same scores.
  const std::string script = d.file("score.py");
  std::ofstream(script) << "import json, sys\nimport oiad\n"
                           "s = oiad.load(sys.argv[1]).score(sys.argv[2:])\n"
                           "for i in range(len(s)):\n"
                           "    print(json.dumps({'score': float(s.score[i]), 'anomalous': bool(s.anomalous[i])}))\n";
  auto py = test::run_command("OMP_NUM_THREADS=1 PYTHONPATH=" + prefix + "/" OIAD_PYTHON_INSTALL_DIR
                              " " OIAD_PYTHON_EXECUTABLE " " + script + " " + model + " " + files);
  ASSERT_EQ(py.exit_code, 0) << py.err;
  const auto c = json_lines(py.out);
  ASSERT_EQ(c.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(a[i]["score"].get<double>(), c[i]["score"].get<double>(), 1e-9) << i;
    EXPECT_EQ(a[i]["anomalous"], c[i]["anomalous"]) << i;
  }
#endif

  // Every component can be asked for (configure only: the targets must exist); an unknown
  // one is refused by name.
  const std::string all = d.file("all");
  std::filesystem::create_directories(all);
  std::ofstream(all + "/x.cpp") << "int main() { return 0; }\n";
  std::ofstream(all + "/CMakeLists.txt")
      << "cmake_minimum_required(VERSION 3.18)\nproject(x CXX)\n"
         "find_package(oiad CONFIG REQUIRED COMPONENTS ${OIAD_COMPONENTS})\n"
         "add_executable(x x.cpp)\ntarget_link_libraries(x PRIVATE oiad::oiad oiad::data oiad::report oiad::experiment)\n";
  auto comps = test::run_command("cmake -S " + all + " -B " + d.file("all-build") + " -DCMAKE_PREFIX_PATH=" + prefix +
                                 " '-DOIAD_COMPONENTS=data;experiment'");
  EXPECT_EQ(comps.exit_code, 0) << comps.out << comps.err;
  auto bad = test::run_command("cmake -S " + all + " -B " + d.file("bad-build") + " -DCMAKE_PREFIX_PATH=" + prefix +
                               " -DOIAD_COMPONENTS=plots");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE((bad.out + bad.err).find("unknown component 'plots'"), std::string::npos) << bad.out << bad.err;
}

}  // namespace
}  // namespace oiad
