#include "cli_common.h"

#include "oiad/data/registry.h"

namespace oiad::cli {

SplitData load_split_data(const std::string& spec, const std::string& normal_class, const std::string& protocol,
                          uint64_t seed, int64_t limit) {
  SplitData d;
  const data::Protocol p = data::parse_protocol(protocol);
  d.dataset = data::load_dataset(spec);
  const int cls = data::resolve_class(d.dataset, normal_class);
  d.split = data::make_split(d.dataset, cls, p, seed, limit);
  return d;
}

}  // namespace oiad::cli
