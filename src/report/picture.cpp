#include "oiad/report/picture.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "oiad/core/error.h"
#include "oiad/core/file_util.h"

namespace oiad::report {

std::vector<uint8_t> grid_png(const std::string& path, const std::vector<Tile>& tiles, int channels, int height,
                              int width, int cols, int scale, const std::vector<std::string>& row_labels) {
  OIAD_CHECK(!tiles.empty(), path, ": nothing to draw");
  OIAD_CHECK(channels == 1 || channels == 3, path, ": cannot draw ", channels, "-channel images");
  cols = std::max(1, std::min<int>(cols, int(tiles.size())));
  const int rows = int((tiles.size() + size_t(cols) - 1) / size_t(cols));
  const bool captions = std::any_of(tiles.begin(), tiles.end(), [](const Tile& t) { return !t.caption.empty(); });
  const int tw = width * scale, th = height * scale;
  const int cap_h = captions ? 14 : 0, pad = 4;
  // Row labels get as much room as the widest one needs.
  int label_w = 0;
  for (const auto& l : row_labels) {
    int base = 0;
    label_w = std::max(label_w, cv::getTextSize(l, cv::FONT_HERSHEY_PLAIN, 0.9, 1, &base).width + 10);
  }
  cv::Mat canvas(rows * (th + cap_h + pad) + pad, label_w + cols * (tw + pad) + pad, CV_8UC3, cv::Scalar(255, 255, 255));
  for (size_t i = 0; i < tiles.size(); ++i) {
    const Tile& t = tiles[i];
    OIAD_CHECK(t.chw.size() == size_t(channels) * height * width, path, ": tile ", i, " has the wrong size");
    cv::Mat img(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int k = 0; k < 3; ++k) {
          const int c = channels == 1 ? 0 : k;
          img.at<cv::Vec3b>(y, x)[2 - k] = t.chw[(size_t(c) * height + y) * width + x];  // RGB -> BGR
        }
    cv::Mat big;
    cv::resize(img, big, cv::Size(tw, th), 0, 0, cv::INTER_NEAREST);
    const int r = int(i) / cols, c = int(i) % cols;
    const int x0 = label_w + pad + c * (tw + pad), y0 = pad + r * (th + cap_h + pad);
    big.copyTo(canvas(cv::Rect(x0, y0, tw, th)));
    if (!t.caption.empty())
      cv::putText(canvas, t.caption, cv::Point(x0, y0 + th + 11), cv::FONT_HERSHEY_PLAIN, 0.8, cv::Scalar(0, 0, 0), 1,
                  cv::LINE_AA);
  }
  for (size_t r = 0; r < row_labels.size() && int(r) < rows; ++r)
    cv::putText(canvas, row_labels[r], cv::Point(4, pad + int(r) * (th + cap_h + pad) + th / 2),
                cv::FONT_HERSHEY_PLAIN, 0.9, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  std::vector<uint8_t> buf;
  OIAD_CHECK(cv::imencode(".png", canvas, buf), path, ": PNG encoding failed");
  return buf;
}

void write_grid(const std::string& path, const std::vector<Tile>& tiles, int channels, int height, int width,
                int cols, int scale, const std::vector<std::string>& row_labels) {
  const std::vector<uint8_t> png = grid_png(path, tiles, channels, height, width, cols, scale, row_labels);
  write_file_atomic(path, png.data(), png.size());
}

std::vector<size_t> rank_descending(const std::vector<double>& scores, size_t top) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  order.resize(std::min(order.size(), top));
  return order;
}

void write_ranked_grid(const std::string& path, const std::vector<uint8_t>& pixels, int channels, int height,
                       int width, const std::vector<double>& scores, const std::vector<size_t>& order,
                       const std::vector<int>& labels) {
  const size_t sz = size_t(channels) * height * width;
  std::vector<Tile> tiles;
  for (size_t r = 0; r < order.size(); ++r) {
    const size_t i = order[r];
    Tile t;
    t.chw.assign(pixels.begin() + ptrdiff_t(i * sz), pixels.begin() + ptrdiff_t((i + 1) * sz));
    char cap[40];
    if (labels.empty())
      std::snprintf(cap, sizeof(cap), "#%zu %.2f", r + 1, scores[i]);
    else
      std::snprintf(cap, sizeof(cap), "#%zu %.2f %s", r + 1, scores[i], labels[i] ? "ano" : "norm");
    t.caption = cap;
    tiles.push_back(std::move(t));
  }
  write_grid(path, tiles, channels, height, width, std::min(8, int(tiles.size())), 3);
}

std::vector<uint8_t> morph_strip_png(const detect::MorphStrip& strip, const std::string& path) {
  OIAD_CHECK(!strip.rows.empty(), path, ": a morph strip without codes");
  std::vector<Tile> tiles;
  std::vector<std::string> labels;
  size_t cols = 0;
  for (const auto& row : strip.rows) cols = std::max(cols, 1 + row.morphs.size());
  for (const auto& row : strip.rows) {
    tiles.push_back({strip.input, "input"});
    for (size_t t = 0; t < row.morphs.size(); ++t) {
      char cap[24];
      std::snprintf(cap, sizeof(cap), "z=%.2f", row.values[t]);
      tiles.push_back({row.morphs[t], cap});
    }
    // Rows of one strip have equal length; pad a shorter one so the grid stays aligned.
    for (size_t t = 1 + row.morphs.size(); t < cols; ++t) tiles.push_back({std::vector<uint8_t>(strip.input.size(), 255), ""});
    char lab[64];
    std::snprintf(lab, sizeof(lab), "code %d SC %.3g", row.code, row.consistency);
    labels.push_back(lab);
  }
  return grid_png(path, tiles, strip.channels, strip.size, strip.size, int(cols), 3, labels);
}

void write_morph_strip(const std::string& path, const detect::MorphStrip& strip) {
  const std::vector<uint8_t> png = morph_strip_png(strip, path);
  write_file_atomic(path, png.data(), png.size());
}

namespace {

// The overlay as an OpenCV BGR picture, scaled up `scale` times.
cv::Mat change_map_bgr(const uint8_t* chw, int channels, int height, int width, const float* map, int scale) {
  OIAD_CHECK(channels == 1 || channels == 3, "change map: cannot draw ", channels, "-channel images");
  OIAD_CHECK(height > 0 && width > 0 && scale >= 1 && scale <= 64, "change map: size ", width, "x", height,
             " or scale ", scale, " out of range");
  cv::Mat img(height, width, CV_8UC3), level(height, width, CV_8UC1);
  cv::Mat weight(height, width, CV_32FC1);
  const size_t plane = size_t(height) * width;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      for (int k = 0; k < 3; ++k)  // RGB -> BGR
        img.at<cv::Vec3b>(y, x)[2 - k] = chw[size_t(channels == 1 ? 0 : k) * plane + size_t(y) * width + x];
      // z = 0 (as normal as VAL) shows the image alone; z >= kChangeMapFullScale shows the
      // colour map's top at full weight. NaN (never produced) counts as 0.
      const float z = map[size_t(y) * width + x];
      const float t = std::isfinite(z) ? std::clamp(z / float(kChangeMapFullScale), 0.0f, 1.0f) : 0.0f;
      level.at<uint8_t>(y, x) = uint8_t(std::lround(t * 255.0f));
      weight.at<float>(y, x) = float(kChangeMapOpacity) * t;
    }
  cv::Mat heat;
  cv::applyColorMap(level, heat, cv::COLORMAP_JET);
  cv::Mat out(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const float w = weight.at<float>(y, x);
      for (int k = 0; k < 3; ++k)
        out.at<cv::Vec3b>(y, x)[k] =
            cv::saturate_cast<uint8_t>((1.0f - w) * float(img.at<cv::Vec3b>(y, x)[k]) + w * float(heat.at<cv::Vec3b>(y, x)[k]));
    }
  cv::Mat big = out;
  if (scale > 1) cv::resize(out, big, cv::Size(width * scale, height * scale), 0, 0, cv::INTER_NEAREST);
  return big;
}

}  // namespace

std::vector<uint8_t> change_map_rgb(const uint8_t* chw, int channels, int height, int width, const float* map,
                                    int scale) {
  cv::Mat rgb;
  cv::cvtColor(change_map_bgr(chw, channels, height, width, map, scale), rgb, cv::COLOR_BGR2RGB);
  return std::vector<uint8_t>(rgb.data, rgb.data + rgb.total() * rgb.elemSize());
}

std::vector<uint8_t> change_map_png(const uint8_t* chw, int channels, int height, int width, const float* map,
                                    int scale) {
  std::vector<uint8_t> buf;
  OIAD_CHECK(cv::imencode(".png", change_map_bgr(chw, channels, height, width, map, scale), buf),
             "change map: PNG encoding failed");
  return buf;
}

std::vector<uint8_t> change_map_png(const uint8_t* chw, int channels, int size, const float* map, int scale) {
  return change_map_png(chw, channels, size, size, map, scale);
}

void write_change_map(const std::string& path, const uint8_t* chw, int channels, int height, int width,
                      const float* map, int scale) {
  const std::vector<uint8_t> png = change_map_png(chw, channels, height, width, map, scale);
  write_file_atomic(path, png.data(), png.size());
}

void write_change_map(const std::string& path, const uint8_t* chw, int channels, int size, const float* map,
                      int scale) {
  write_change_map(path, chw, channels, size, size, map, scale);
}

}  // namespace oiad::report
