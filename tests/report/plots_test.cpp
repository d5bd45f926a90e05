// Report pieces: SVG plots through PLplot and the Markdown/HTML document.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "oiad/core/error.h"
#include <opencv2/imgcodecs.hpp>

#include "oiad/report/document.h"
#include "oiad/report/picture.h"
#include "oiad/report/plots.h"
#include "test_util.h"

namespace oiad {
namespace {

// PLplot's svg driver writes every character of a text as a hexadecimal character
// reference ("0.5" -> "&#x30;&#x2e;&#x35;").
std::string svg_text(const std::string& s) {
  std::string o;
  char b[16];
  for (unsigned char c : s) std::snprintf(b, sizeof(b), "&#x%x;", c), o += b;
  return o;
}

// A two-panel plot is a complete SVG carrying the titles and legend entries.
TEST(Plots, WritesSvgWithTitlesAndLegend) {
  test::TempDir dir;
  report::Panel a, b;
  a.title = "first panel";
  a.series.push_back({"curve-one", {0, 0.5, 1}, {0, 0.8, 1}});
  a.diagonal = true;
  b.title = "second panel";
  b.logx = true;
  b.series.push_back({"curve-two", {10, 100, 1000}, {0.2, 0.4, 0.9}, true, true, 3});
  const std::string path = dir.file("p.svg");
  report::write_plot(path, {a, b}, 2);
  const std::string svg = test::read_text(path);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const char* t : {"first panel", "second panel", "curve-one", "curve-two"}) EXPECT_NE(svg.find(svg_text(t)), std::string::npos) << t;
  // Written under a temporary name and renamed: the folder holds the plot and nothing else.
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files.push_back(e.path().filename().string());
  EXPECT_EQ(files, std::vector<std::string>{"p.svg"});
}

// A series with x and y of different lengths is an error and leaves no file behind.
TEST(Plots, RefusesRaggedSeries) {
  test::TempDir dir;
  report::Panel a;
  a.title = "bad";
  a.series.push_back({"ragged", {0, 1, 2}, {0, 1}});
  EXPECT_THROW(report::write_plot(dir.file("bad.svg"), {a}), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// The same blocks as Markdown and as HTML (escaped), written out by hand here.
TEST(Document, MarkdownAndHtml) {
  report::Document d("T <1>");
  d.heading("Part");
  d.paragraph("a & b");
  d.table({"x", "y|z"}, {{"1", "2"}});
  d.image("f.svg", "cap");
  EXPECT_EQ(d.markdown(),
            "# T <1>\n\n## Part\n\na & b\n\n| x | y\\|z |\n|---|---|\n| 1 | 2 |\n\n![cap](f.svg)\n\n*cap*\n\n");
  const std::string h = d.html();
  EXPECT_NE(h.find("<h1>T &lt;1&gt;</h1>"), std::string::npos);
  EXPECT_NE(h.find("<p>a &amp; b</p>"), std::string::npos);
  EXPECT_NE(h.find("<tr><th>x</th><th>y|z</th></tr>"), std::string::npos);
  EXPECT_NE(h.find("<img src=\"f.svg\" alt=\"cap\">"), std::string::npos);
  EXPECT_EQ(report::fixed(0.12345, 3), "0.123");
}

// The change map overlay, against its definition: where z <= 0 the image's own pixels; where
// z >= 4 (full scale) 0.3 x image + 0.7 x the top of the JET colour map, dark red (R 128 in
// the standard jet: red ramps 0.5 -> 1 -> 0.5 over the last eighth); every pixel scaled 4x.
TEST(Picture, ChangeMapOverlayFollowsItsDefinition) {
  const int S = 8;
  std::vector<uint8_t> grey(S * S, 100);
  std::vector<float> map(S * S, 0.0f);
  for (int y = 0; y < S; ++y)
    for (int x = S / 2; x < S; ++x) map[size_t(y * S + x)] = x == S - 1 ? 9.0f : -1.0f;
  const std::vector<uint8_t> png = report::change_map_png(grey.data(), 1, S, map.data(), 4);
  const cv::Mat m = cv::imdecode(png, cv::IMREAD_COLOR);  // BGR
  ASSERT_EQ(m.cols, 4 * S);
  ASSERT_EQ(m.rows, 4 * S);
  for (int y = 0; y < 4 * S; ++y) {
    // z = 0 and z = -1: the image.
    EXPECT_EQ(m.at<cv::Vec3b>(y, 0), cv::Vec3b(100, 100, 100));
    EXPECT_EQ(m.at<cv::Vec3b>(y, 4 * (S - 2)), cv::Vec3b(100, 100, 100));
    // z = 9 (above full scale): 0.3 * 100 + 0.7 * (B 0, G 0, R 128) = (30, 30, 119.6).
    const cv::Vec3b top = m.at<cv::Vec3b>(y, 4 * S - 1);
    EXPECT_EQ(top[0], 30);
    EXPECT_EQ(top[1], 30);
    EXPECT_NEAR(top[2], 119.6, 1.0);
  }
}

}  // namespace
}  // namespace oiad
