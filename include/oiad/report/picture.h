// Pictures a person looks at: grids of images (Figs. 5-7) and morph strips (Fig. 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oiad/detect/morph_strip.h"

namespace oiad::report {

/// One tile: (C, H, W) uint8 pixels and a caption drawn under it (may be empty).
struct Tile {
  std::vector<uint8_t> chw;
  std::string caption;
};

/// Writes tiles of C x H x W as a PNG grid with `cols` columns, each tile scaled up by
/// `scale` (nearest neighbour) with its caption below; rows may carry a label on the left.
void write_grid(const std::string& path, const std::vector<Tile>& tiles, int channels, int height, int width,
                int cols, int scale = 3, const std::vector<std::string>& row_labels = {});

/// The same grid as PNG bytes (`path` only names it in errors).
std::vector<uint8_t> grid_png(const std::string& path, const std::vector<Tile>& tiles, int channels, int height,
                              int width, int cols, int scale = 3, const std::vector<std::string>& row_labels = {});

/// Indices of the `top` highest scores, highest first (ties keep their order).
std::vector<size_t> rank_descending(const std::vector<double>& scores, size_t top);

/// The images `order` of (n, C, H, W) uint8 `pixels` as a grid (8 columns at most), each
/// captioned "#rank score", plus "ano"/"norm" when `labels` (1 = anomalous) is not empty.
void write_ranked_grid(const std::string& path, const std::vector<uint8_t>& pixels, int channels, int height,
                       int width, const std::vector<double>& scores, const std::vector<size_t>& order,
                       const std::vector<int>& labels = {});

/// Fig. 2: one row per code of the strip, the image first, then its morphs captioned with
/// the code's perturbed value; each row labelled with the code and the image's SC under it.
void write_morph_strip(const std::string& path, const detect::MorphStrip& strip);
/// The same strip as PNG bytes (`path` only names it in errors).
std::vector<uint8_t> morph_strip_png(const detect::MorphStrip& strip, const std::string& path = "morph strip");

/// A change map drawn over its image: the map's values (VAL standard deviations, see
/// Detector::change_maps) from 0 to kChangeMapFullScale go through OpenCV's JET colour map
/// (blue to red) and are blended over the image with weight kChangeMapOpacity x z / full
/// scale (values <= 0 leave the image as it is; values above the full scale count as it).
constexpr double kChangeMapFullScale = 4.0;
constexpr double kChangeMapOpacity = 0.7;
/// `chw`: (channels, size, size) uint8, the image as the network sees it; `map`: (size, size)
/// floats. The picture is scaled up `scale` times (nearest neighbour). PNG bytes.
std::vector<uint8_t> change_map_png(const uint8_t* chw, int channels, int size, const float* map, int scale = 4);
void write_change_map(const std::string& path, const uint8_t* chw, int channels, int size, const float* map,
                      int scale = 4);
/// The same for an image of height x width (a photograph scored by tiles, at its own size).
std::vector<uint8_t> change_map_png(const uint8_t* chw, int channels, int height, int width, const float* map,
                                    int scale);
void write_change_map(const std::string& path, const uint8_t* chw, int channels, int height, int width,
                      const float* map, int scale);
/// The same picture as (height · scale, width · scale, 3) RGB bytes, row by row.
std::vector<uint8_t> change_map_rgb(const uint8_t* chw, int channels, int height, int width, const float* map,
                                    int scale);

}  // namespace oiad::report
