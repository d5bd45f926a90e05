// Pieces shared by several subcommands.
#pragma once

#include <string>

#include "oiad/data/dataset.h"
#include "oiad/data/split.h"

namespace oiad::cli {

/// A data set with the one-class split an experiment or a training run uses.
struct SplitData {
  data::Dataset dataset;
  data::OneClassSplit split;
};

/// Loads SPEC, resolves the class, makes the split (seeded).
SplitData load_split_data(const std::string& spec, const std::string& normal_class, const std::string& protocol,
                          uint64_t seed, int64_t limit);

}  // namespace oiad::cli
