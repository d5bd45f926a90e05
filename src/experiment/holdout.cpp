// The baselines' holdout from the test part, and the α grid of the sweeps.
#include <algorithm>
#include <cmath>

#include "oiad/core/random.h"
#include "oiad/experiment/experiment.h"

namespace oiad::experiment {

std::vector<size_t> draw_holdout(const data::SplitPart& part, double fraction, int64_t max_total, uint64_t seed,
                                 std::vector<size_t>& rest) {
  std::vector<size_t> by_label[2];
  for (size_t i = 0; i < part.size(); ++i) by_label[part.anomalous[i] ? 1 : 0].push_back(i);
  std::vector<size_t> hold;
  const int64_t per_label_max = std::max<int64_t>(1, max_total / 2);
  for (int l = 0; l < 2; ++l) {
    auto& v = by_label[l];
    int64_t take = int64_t(std::llround(fraction * double(v.size())));
    if (v.size() >= 2) take = std::max<int64_t>(take, 1);
    take = std::min<int64_t>({take, per_label_max, int64_t(v.size()) - 1});
    if (take <= 0) continue;
    Rng rng(seed * 0x9E3779B97F4A7C15ULL + 0x686f6c646f7574ULL + uint64_t(l));  // "holdout"
    shuffle_in_place(v, rng);
    hold.insert(hold.end(), v.begin(), v.begin() + take);
  }
  std::sort(hold.begin(), hold.end());
  rest.clear();
  size_t h = 0;
  for (size_t i = 0; i < part.size(); ++i) {
    if (h < hold.size() && hold[h] == i) {
      ++h;
      continue;
    }
    rest.push_back(i);
  }
  return hold;
}

std::vector<double> alpha_grid() {
  std::vector<double> a;
  for (int i = 1; i <= 50; ++i) a.push_back(i / 100.0);
  return a;
}

}  // namespace oiad::experiment
