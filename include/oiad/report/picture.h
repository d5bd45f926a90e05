// Pictures a person looks at: grids of images (Figs. 5-7) and morph strips (Fig. 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace oiad::report
