#include "oiad/report/plots.h"

#include <plplot/plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"

namespace oiad::report {

namespace {

// cmap0: 0 background (white), 1 axes and text (black), then a palette that stays
// distinguishable in grey print (Okabe-Ito), last: the grid's light grey.
constexpr int kPalette[][3] = {{255, 255, 255}, {0, 0, 0},       {0, 114, 178},  {213, 94, 0},
                               {0, 158, 115},   {204, 121, 167}, {230, 159, 0},  {86, 180, 233},
                               {120, 120, 120}, {160, 60, 60},   {0, 0, 0},      {215, 215, 215}};
constexpr int kColours = int(sizeof(kPalette) / sizeof(kPalette[0]));

void limits(const Panel& p, double& x0, double& x1, double& y0, double& y1) {
  double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
  for (const auto& s : p.series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double xv = p.logx ? std::log10(s.x[i]) : s.x[i];
      lo_x = std::min(lo_x, xv), hi_x = std::max(hi_x, xv);
      lo_y = std::min(lo_y, s.y[i]), hi_y = std::max(hi_y, s.y[i]);
    }
  if (!std::isfinite(lo_x)) lo_x = 0, hi_x = 1, lo_y = 0, hi_y = 1;
  if (hi_x - lo_x < 1e-12) lo_x -= 0.5, hi_x += 0.5;
  if (hi_y - lo_y < 1e-12) lo_y -= 0.5, hi_y += 0.5;
  const double mx = 0.05 * (hi_x - lo_x), my = 0.05 * (hi_y - lo_y);
  x0 = std::isnan(p.xmin) ? lo_x - mx : (p.logx ? std::log10(p.xmin) : p.xmin);
  x1 = std::isnan(p.xmax) ? hi_x + mx : (p.logx ? std::log10(p.xmax) : p.xmax);
  y0 = std::isnan(p.ymin) ? lo_y - my : p.ymin;
  y1 = std::isnan(p.ymax) ? hi_y + my : p.ymax;
}

void draw_panel(const Panel& p) {
  for (const auto& s : p.series)
    OIAD_CHECK(s.x.size() == s.y.size(), "plot '", p.title, "': series '", s.name, "' has ", s.x.size(), " x and ",
               s.y.size(), " y values");
  double x0, x1, y0, y1;
  limits(p, x0, x1, y0, y1);
  pladv(0);
  plvpor(0.14, 0.96, 0.15, 0.9);
  plwind(x0, x1, y0, y1);
  plwidth(0.5);
  plcol0(kColours - 1);  // light grey grid under the data
  plbox(p.logx ? "gl" : "g", 0, 0, "g", 0, 0);
  plcol0(1);
  plwidth(1.0);
  plbox(p.logx ? "bcnstl" : "bcnst", 0, 0, "bcnstv", 0, 0);
  pllab(p.xlabel.c_str(), p.ylabel.c_str(), p.title.c_str());
  if (p.diagonal) {
    plcol0(8);
    pllsty(2);
    PLFLT dx[2] = {0, 1}, dy[2] = {0, 1};
    plline(2, dx, dy);
    pllsty(1);
  }
  std::vector<PLINT> opt, colours, styles, markers_colour;
  std::vector<PLFLT> widths, scales;
  std::vector<PLINT> numbers;
  std::vector<const char*> texts, symbols;
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const int colour = 2 + (s.colour >= 0 ? s.colour : int(k)) % (kColours - 3);
    std::vector<PLFLT> xs, ys;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xs.push_back(p.logx ? std::log10(s.x[i]) : s.x[i]);
      ys.push_back(s.y[i]);
    }
    plcol0(colour);
    plwidth(2.0);
    pllsty(s.dashed ? 2 : 1);
    if (xs.size() > 1) plline(PLINT(xs.size()), xs.data(), ys.data());
    if (s.markers && !xs.empty()) plstring(PLINT(xs.size()), xs.data(), ys.data(), "#(728)");
    pllsty(1);
    opt.push_back(PL_LEGEND_LINE | (s.markers ? PL_LEGEND_SYMBOL : 0));
    colours.push_back(colour);
    styles.push_back(s.dashed ? 2 : 1);
    widths.push_back(2.0);
    scales.push_back(1.0);
    numbers.push_back(1);
    texts.push_back(s.name.c_str());
    symbols.push_back("#(728)");
  }
  if (!p.series.empty()) {
    const PLINT n = PLINT(p.series.size());
    std::vector<PLINT> zero(size_t(n), 0);
    std::vector<PLFLT> zf(size_t(n), 0.0);
    std::vector<PLINT> text_colours(size_t(n), 1);
    PLFLT lw, lh;
    plwidth(1.0);
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_INSIDE | PL_POSITION_RIGHT |
                                                                          PL_POSITION_BOTTOM,
             0.02, 0.02, 0.1, 0, 1, 1, 0, 0, n, opt.data(), 1.0, 0.7, 1.5, 1.0, text_colours.data(), texts.data(),
             zero.data(), zero.data(), zf.data(), zf.data(), colours.data(), styles.data(), widths.data(),
             colours.data(), scales.data(), numbers.data(), symbols.data());
  }
}

}  // namespace

void write_plot(const std::string& path, const std::vector<Panel>& panels, int cols, int panel_width,
                int panel_height) {
  OIAD_CHECK(!panels.empty(), path, ": a plot needs at least one panel");
  cols = std::max(1, std::min(cols, int(panels.size())));
  const int rows = (int(panels.size()) + cols - 1) / cols;
  const std::string tmp = temporary_path_for(path);
  {
    std::FILE* probe = std::fopen(tmp.c_str(), "wb");
    OIAD_CHECK(probe != nullptr, path, ": cannot create ", tmp);
    std::fclose(probe);
  }
  PLINT r[kColours], g[kColours], b[kColours];
  for (int i = 0; i < kColours; ++i) r[i] = kPalette[i][0], g[i] = kPalette[i][1], b[i] = kPalette[i][2];
  plsdev("svg");
  plsfnam(tmp.c_str());
  plspage(0, 0, panel_width * cols, panel_height * rows, 0, 0);
  plscmap0(r, g, b, kColours);
  plssub(cols, rows);
  plinit();
  plschr(0, 0.9);
  try {
    for (const auto& p : panels) draw_panel(p);
  } catch (...) {
    plend();
    std::remove(tmp.c_str());
    throw;
  }
  plend();
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(detail::concat(path, ": cannot rename ", tmp));
  }
}

}  // namespace oiad::report
