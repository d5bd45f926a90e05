// The sources against the module table of docs/architecture.md ("Modules"): the layers point
// one way, each source is built into the library the table names, and only the files the
// table allows reach LibTorch, never one that CMakeLists.txt compiles without the
// precompiled header. The table and CMakeLists.txt are read as they are, so that changing
// either without the sources (or the sources without them) fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "oiad/detect/detector_options.h"

namespace oiad {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = OIAD_SOURCE_DIR;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split(const std::string& text, const std::string& seps) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (seps.find(c) != std::string::npos) {
      if (!cur.empty()) out.push_back(cur), cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// "NAME" or "NAME.EXT" entries: a name without an extension matches any extension.
bool listed(const std::set<std::string>& names, const fs::path& file) {
  return names.count(file.filename().string()) || names.count(file.stem().string());
}

// One row of the module table.
struct Module {
  std::string folder;  // "core", ..., "tools/oiad"
  std::string library;
  std::map<std::string, std::string> file_library;  // file stem -> another library
  std::string torch;                                // "all", "no", "only", "all but"
  std::set<std::string> torch_files;
  bool torch_allowed(const fs::path& f) const {
    if (torch == "all") return true;
    if (torch == "no") return false;
    return (torch == "only") == listed(torch_files, f);
  }
  std::string library_of(const fs::path& f) const {
    const auto it = file_library.find(f.stem().string());
    return it == file_library.end() ? library : it->second;
  }
};

std::vector<Module> module_table() {
  const std::string doc = read_text(kRoot / "docs/architecture.md");
  const size_t at = doc.find("## Modules");
  EXPECT_NE(at, std::string::npos) << "docs/architecture.md has no Modules section";
  std::vector<Module> out;
  std::istringstream in(doc.substr(at));
  std::string line;
  const std::regex row("^\\| `([a-z/_]+)/` \\| ([^|]+) \\| ([^|]+) \\|");
  while (std::getline(in, line)) {
    if (!out.empty() && line.rfind("|", 0) != 0) break;  // the table ended
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    Module mod;
    mod.folder = m[1];
    // "lib" or "lib; other: a, b; third: c"
    const auto parts = split(m[2], ";");
    mod.library = trim(parts.at(0));
    for (size_t i = 1; i < parts.size(); ++i) {
      const auto colon = parts[i].find(':');
      EXPECT_NE(colon, std::string::npos) << line;
      for (const auto& f : split(parts[i].substr(colon + 1), ", "))
        mod.file_library[f] = trim(parts[i].substr(0, colon));
    }
    const std::string t = trim(m[3]);
    const auto colon = t.find(':');
    mod.torch = colon == std::string::npos ? t : t.substr(0, colon);
    if (colon != std::string::npos)
      for (const auto& f : split(t.substr(colon + 1), ", ")) mod.torch_files.insert(f);
    EXPECT_TRUE(mod.torch == "all" || mod.torch == "no" || mod.torch == "only" || mod.torch == "all but")
        << "LibTorch column: " << t;
    out.push_back(mod);
  }
  EXPECT_GE(out.size(), 10u) << "the module table was not found";
  return out;
}

// ---- CMakeLists.txt: variables, targets' sources, sources without the precompiled header ----
struct CMakeSources {
  std::map<std::string, std::string> target_of;  // source path -> add_library / add_executable target
  std::set<std::string> without_pch;
};

CMakeSources cmake_sources() {
  std::string text;
  {
    // Comments out (no '#' stands inside a string in this file's commands that matter here).
    std::istringstream in(read_text(kRoot / "CMakeLists.txt"));
    std::string line;
    while (std::getline(in, line)) text += line.substr(0, line.find('#')) + "\n";
  }
  std::map<std::string, std::vector<std::string>> vars;
  auto expand = [&](const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const auto& a : args) {
      std::smatch m;
      if (std::regex_match(a, m, std::regex("\\$\\{(\\w+)\\}")) && vars.count(m[1]))
        out.insert(out.end(), vars[m[1]].begin(), vars[m[1]].end());
      else
        out.push_back(a);
    }
    return out;
  };
  CMakeSources c;
  const std::regex command("\\b(set|add_library|add_executable|set_source_files_properties)\\s*\\(");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), command); it != std::sregex_iterator(); ++it) {
    const size_t open = size_t(it->position(0) + it->length(0));
    size_t close = open;
    for (int depth = 1; close < text.size() && depth > 0; ++close) depth += text[close] == '(' ? 1 : text[close] == ')' ? -1 : 0;
    const std::vector<std::string> args = split(text.substr(open, close - 1 - open), " \n\t");
    if (args.empty()) continue;
    const std::string name = (*it)[1];
    if (name == "set") {
      vars[args[0]] = expand(std::vector<std::string>(args.begin() + 1, args.end()));
    } else if (name == "add_library" || name == "add_executable") {
      for (const auto& a : expand(std::vector<std::string>(args.begin() + 1, args.end())))
        if (a.find('/') != std::string::npos && a.find('.') != std::string::npos) c.target_of[a] = args[0];
    } else {
      const auto props = std::find(args.begin(), args.end(), "PROPERTIES");
      if (std::find(props, args.end(), "SKIP_PRECOMPILE_HEADERS") == args.end()) continue;
      for (const auto& a : expand(std::vector<std::string>(args.begin(), props))) c.without_pch.insert(a);
    }
  }
  EXPECT_GT(c.target_of.size(), 50u);
  EXPECT_GT(c.without_pch.size(), 20u);
  return c;
}

// ---- LibTorch reached through includes ----
class TorchReach {
 public:
  // Whether `file` includes a LibTorch header, itself or through the project's headers it
  // includes ("oiad/..." from include/, others beside it or from tests/ and src/).
  bool reaches(const fs::path& file) {
    const std::string key = fs::weakly_canonical(file).string();
    if (const auto it = memo_.find(key); it != memo_.end()) return it->second;
    memo_[key] = false;  // an include cycle adds nothing
    static const std::regex torch_include("^\\s*#\\s*include\\s*<(torch|ATen|c10|caffe2)/");
    static const std::regex local_include("^\\s*#\\s*include\\s*\"([^\"]+)\"");
    std::istringstream in(read_text(file));
    std::string line;
    bool found = false;
    while (!found && std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, torch_include)) found = true;
      if (std::regex_search(line, m, local_include))
        for (const fs::path& base : {file.parent_path(), kRoot / "include", kRoot / "tests", kRoot / "src"})
          if (fs::is_regular_file(base / std::string(m[1]))) {
            found = reaches(base / std::string(m[1]));
            break;
          }
    }
    return memo_[key] = found;
  }

 private:
  std::map<std::string, bool> memo_;
};

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    const auto ext = f.path().extension();
    if (f.is_regular_file() && (ext == ".h" || ext == ".cpp")) out.push_back(f.path());
  }
  return out;
}

// A module includes headers of its own layer and of the layers listed before it, never of a
// later one; every module folder is in the table.
TEST(Architecture, LayersPointOneWay) {
  std::map<std::string, size_t> rank;
  for (const Module& m : module_table()) rank[m.folder] = rank.size();
  const std::regex include_re("#include \"oiad/(\\w+)/");
  size_t files = 0;
  for (const std::string root : {"src", "include/oiad"}) {
    ASSERT_TRUE(fs::is_directory(kRoot / root)) << root;
    for (const auto& module_dir : fs::directory_iterator(kRoot / root)) {
      if (!module_dir.is_directory()) continue;
      const std::string module = module_dir.path().filename().string();
      ASSERT_TRUE(rank.count(module)) << module << ": a module folder docs/architecture.md does not list";
      for (const fs::path& f : files_under(module_dir.path())) {
        ++files;
        std::istringstream in(read_text(f));
        std::string line;
        while (std::getline(in, line)) {
          std::smatch m;
          if (!std::regex_search(line, m, include_re) || !rank.count(m[1])) continue;
          EXPECT_LE(rank[m[1]], rank[module]) << f << " (" << module << ") includes a later layer: " << line;
        }
      }
    }
  }
  EXPECT_GT(files, 50u);
}

// Only the files the table allows reach LibTorch; none that CMakeLists.txt compiles without
// the precompiled header does (anywhere in the tree: library, CLI, tests, bench, examples).
TEST(Architecture, LibTorchOnlyWhereTheTableSays) {
  TorchReach torch;
  size_t checked = 0;
  for (const Module& m : module_table())
    for (const fs::path& dir : {kRoot / "src" / m.folder, kRoot / "include/oiad" / m.folder, kRoot / m.folder})
      for (const fs::path& f : files_under(dir)) {
        ++checked;
        if (torch.reaches(f))
          EXPECT_TRUE(m.torch_allowed(f)) << fs::relative(f, kRoot) << " reaches LibTorch; the table allows "
                                          << m.folder << "/ " << m.torch << " " << m.torch_files.size() << " file(s)";
      }
  EXPECT_GT(checked, 100u);
  const CMakeSources c = cmake_sources();
  for (const std::string& src : c.without_pch) {
    if (src.rfind(".cpp") != src.size() - 4) continue;
    ASSERT_TRUE(fs::is_regular_file(kRoot / src)) << src << " is in CMakeLists.txt but not in the tree";
    EXPECT_FALSE(torch.reaches(kRoot / src)) << src << " is compiled without the precompiled header but reaches "
                                                       "LibTorch (through its includes)";
  }
}

// Each source of a module folder is built into the library the table names for it, and
// every source CMakeLists.txt names exists.
TEST(Architecture, EachSourceInItsLibrary) {
  const CMakeSources c = cmake_sources();
  for (const auto& [src, target] : c.target_of)
    EXPECT_TRUE(fs::is_regular_file(kRoot / src)) << src << " (" << target << ") is not in the tree";
  size_t checked = 0;
  for (const Module& m : module_table()) {
    const fs::path dir = m.folder == "tools/oiad" ? kRoot / m.folder : kRoot / "src" / m.folder;
    for (const fs::path& f : files_under(dir)) {
      if (f.extension() != ".cpp") continue;
      ++checked;
      const std::string rel = fs::relative(f, kRoot).string();
      const auto it = c.target_of.find(rel);
      ASSERT_NE(it, c.target_of.end()) << rel << " is built by no target of CMakeLists.txt";
      EXPECT_EQ(it->second, m.library_of(f)) << rel;
    }
  }
  EXPECT_GT(checked, 50u);
}

// The presets as README.md states them, against the code (preset_options, preset_gamma): a
// changed preset fails here until the README says what it is now.
TEST(Architecture, DocumentedPresetsAreTheCodes) {
  std::string readme = read_text(kRoot / "README.md");
  readme = std::regex_replace(readme, std::regex("\\s+"), " ");  // line breaks as spaces
  auto number = [](double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  };
  const auto d = detect::preset_options(detect::Preset::kDefault);
  ASSERT_EQ(d.placement, detect::Placement::kQuasi);  // "on the golden-ratio sequence"
  ASSERT_GT(d.duplicate_tolerance, 0.0);               // "duplicate codes scored once"
  ASSERT_EQ(d.code_selection, detect::CodeSelection::kAll);
  for (const std::string& s :
       {"the `default` preset (N = " + std::to_string(d.morphs) + " morphs per code on the golden-ratio sequence, Δr " +
            number(d.radius_step) + ", duplicate codes scored once, γ = " +
            number(detect::preset_gamma(detect::Preset::kDefault)),
        "# default preset: N = " + std::to_string(d.morphs) + " evenly placed, duplicate codes once"})
    EXPECT_NE(readme.find(s), std::string::npos) << "README.md does not say: " << s;
  const auto p = detect::preset_options(detect::Preset::kPaper);
  ASSERT_EQ(p.placement, detect::Placement::kRandom);
  ASSERT_EQ(p.duplicate_tolerance, 0.0);
  const std::string paper = "--preset paper # re-calibrate: N = " + std::to_string(p.morphs) + " per code, every code";
  EXPECT_NE(readme.find(paper), std::string::npos) << "README.md does not say: " << paper;
}

}  // namespace
}  // namespace oiad
