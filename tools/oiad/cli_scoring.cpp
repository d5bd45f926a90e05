#include "cli_scoring.h"

#include <cmath>

#include "commands.h"
#include "oiad/core/error.h"
#include "oiad/dist/group.h"

namespace oiad::cli {

void add_decision_fields(nlohmann::json& j, const detect::ScoringPlan& p) {
  j["rule"] = detect::rule_name(p.decision.rule);
  if (p.decision.rule == detect::Rule::kPaper) {
    j["alpha"] = p.decision.alpha;
  } else {
    j["fpr"] = p.decision.fpr;
    j["threshold"] = p.threshold;
  }
}

nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

detect::ScoreResult score_on_every_rank(const char* command, const detect::CalibratedDetector& d,
                                        const torch::Tensor& x, detect::ScoreOptions so, ProgressPrinter& progress) {
  so.progress = progress.counter();
  if (!launch().distributed()) return detect::score(d, x, so);
  dist::Group group(launch());
  const auto [begin, end] = dist::shard(x.size(0), group.rank(), group.size(), so.block);
  detect::ScoreResult part = detect::score(d, x.slice(0, begin, end), so);
  // Per image: score, decision, p-value, most extreme code, then per metric its count and values.
  std::vector<double> mine;
  for (const auto& sc : part.images) {
    mine.insert(mine.end(), {sc.score, double(sc.anomalous), sc.p_value, double(sc.most_extreme_code)});
    for (const auto& c : sc.consistency) {
      mine.push_back(double(c.size()));
      mine.insert(mine.end(), c.begin(), c.end());
    }
  }
  const auto all = group.all_gather(mine);
  detect::ScoreResult r;
  r.plan = part.plan;
  if (so.change_maps) {  // each rank's maps (n_rank, S, S), in rank order
    const torch::Tensor m = part.change_maps.to(torch::kDouble).contiguous();
    const auto maps = group.all_gather(std::vector<double>(m.data_ptr<double>(), m.data_ptr<double>() + m.numel()));
    std::vector<double> flat;
    for (const auto& v : maps) flat.insert(flat.end(), v.begin(), v.end());
    r.change_maps = torch::tensor(flat, torch::kDouble).reshape({-1, x.size(-2), x.size(-1)});
  }
  if (group.rank() != 0) return r;
  for (const auto& values : all)
    for (size_t at = 0; at < values.size();) {
      detect::ImageScore sc;
      sc.score = values[at];
      sc.anomalous = values[at + 1] != 0;
      sc.p_value = values[at + 2];
      sc.most_extreme_code = int(values[at + 3]);
      at += 4;
      for (auto& c : sc.consistency) {
        const size_t k = size_t(values[at]);
        c.assign(values.begin() + ptrdiff_t(at + 1), values.begin() + ptrdiff_t(at + 1 + k));
        at += 1 + k;
      }
      r.images.push_back(std::move(sc));
    }
  OIAD_CHECK(int64_t(r.images.size()) == x.size(0), command, ": gathered ", r.images.size(), " results for ",
             x.size(0), " images");
  return r;
}

std::optional<detect::Metric> metric_flag(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return detect::parse_metric(name);
}


}  // namespace oiad::cli
