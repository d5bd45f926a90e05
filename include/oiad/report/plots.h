// Line plots as SVG through PLplot (Debian libplplot-dev, svg driver): ROC curves, TP/TN
// against α (Fig. 3), TP/TN against the size of VAL (Fig. 4). No LibTorch.
//
// Why PLplot: a maintained C library packaged by Debian whose svg driver needs no X server,
// fonts or Cairo; SVG embeds in HTML and Markdown and stays sharp. MathGL would also do, but
// its Debian package pulls Qt and FLTK for a headless tool.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace oiad::report {

/// One curve.
struct Series {
  std::string name;          ///< legend entry
  std::vector<double> x, y;  ///< same length
  bool markers = false;      ///< draw a marker at each point as well
  bool dashed = false;
  int colour = -1;  ///< palette index (0, 1, ...); -1: by position in the panel
};

/// One panel of a figure.
struct Panel {
  std::string title, xlabel, ylabel;
  /// Axis limits; NaN = from the data (with a 5% margin).
  double xmin = std::numeric_limits<double>::quiet_NaN(), xmax = std::numeric_limits<double>::quiet_NaN();
  double ymin = std::numeric_limits<double>::quiet_NaN(), ymax = std::numeric_limits<double>::quiet_NaN();
  bool diagonal = false;  ///< draw y = x (chance level of a ROC curve)
  bool logx = false;      ///< logarithmic x axis (x must be > 0)
  std::vector<Series> series;
};

/// Writes the panels side by side (`cols` per row) to an SVG file (temporary name, renamed).
/// Throws Error when a series has x and y of different lengths or the file cannot be written.
void write_plot(const std::string& path, const std::vector<Panel>& panels, int cols = 1, int panel_width = 560,
                int panel_height = 420);

}  // namespace oiad::report
