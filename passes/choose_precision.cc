//===- choose_precision.cc - Per-layer precision under a budget (--precision auto) ===//
//
// Starts from assign-precision's assignment (the global pair, first and last layers float, the user's map): its
// estimated latency (or plan size) times --max-latency-ratio (--max-size-ratio) is the budget. Each layer may
// take any candidate of precision_profile.h, except layers the user's --precision-map names, which keep their
// entry. The choice minimises the summed per-layer damage within the budget (precision_knapsack.h), latency
// counting the borders where a quantized layer meets a float one (exactly along simple chains, erring high on
// shared ones), and replaces the assignment; the passes after it calibrate the chosen layers as usual. The
// assignment's and the choice's figures are PrecisionProfile::MapCost's. Does nothing without --precision auto.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "passes/pass.h"
#include "passes/precision_knapsack.h"
#include "passes/precision_profile.h"

namespace q46 {

absl::Status ChoosePrecision(ir::Graph& g, PassContext& ctx) {
  const CompileOptions& o = ctx.options;
  if (!o.auto_precision) {
    ctx.summary = "skipped (no --precision auto)";
    return absl::OkStatus();
  }
  const bool by_size = o.max_size_ratio > 0;
  const double ratio = by_size ? o.max_size_ratio : o.max_latency_ratio;
  if (!(ratio > 0)) return absl::InvalidArgumentError("--precision auto needs a positive budget ratio");
  absl::StatusOr<PrecisionProfile> profile = ProfilePrecision(g, o);
  if (!profile.ok()) return profile.status();
  const PrecisionProfile& p = *profile;
  const auto option = [&](size_t l, const Candidate& c, double damage) {
    LayerOption opt{c, damage, by_size ? p.Bytes(l, c) : p.Seconds(l, c)};
    if (c && !by_size) opt.enter_cost = p.enter_seconds[l][ClassOf(c)], opt.leave_cost = p.leave_seconds[l][ClassOf(c)];
    return opt;
  };

  std::vector<ir::Node*> layers;
  for (ir::Node& n : g.nodes)
    if (IsQuantizableLayer(n)) layers.push_back(&n);
  LayerChoices choices;  // every candidate per layer
  choices.options.resize(layers.size());
  std::vector<Candidate> assignment;
  std::vector<int> baseline(layers.size(), -1);
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::optional<ir::ConvQuant>& q = std::get<ir::ConvAttrs>(layers[l]->attrs).quant;
    const Candidate assigned = q ? Candidate(q->precision) : std::nullopt;
    assignment.push_back(assigned);
    const bool fixed = o.precision_map.count(layers[l]->name) > 0;
    std::vector<LayerOption>& options = choices.options[l];
    for (size_t c = 0; c < p.candidates.size(); ++c) {
      const Candidate& cand = p.candidates[c];
      const bool same = CandidateLabel(cand) == CandidateLabel(assigned);
      if (fixed && !same) continue;
      if (same) baseline[l] = static_cast<int>(options.size());
      options.push_back(option(l, cand, p.damage[l][c]));
    }
    if (options.empty()) {  // a fixed pair that is not a candidate (not maximal): kept, damage unmeasured
      baseline[l] = 0;
      options.push_back(option(l, assigned, 0));
    }
  }
  SetChains(p.chain_source, &choices);
  const double other = by_size ? p.other_bytes : p.other_seconds;
  const double baseline_cost = p.MapCost(assignment, by_size);
  const double least_cost = other + CheapestCost(choices);
  const char* flag = by_size ? "--max-size-ratio" : "--max-latency-ratio";
  if (least_cost > ratio * baseline_cost)
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %g is unreachable: the %s choice is estimated at %.3f of the global pair's %s", flag, ratio,
        by_size ? "smallest" : "fastest", least_cost / baseline_cost, by_size ? "size" : "latency"));
  const bool baseline_known = std::find(baseline.begin(), baseline.end(), -1) == baseline.end();
  const bool baseline_fits = baseline_known && ratio >= 1;
  absl::StatusOr<std::vector<int>> choice =
      ChooseUnderBudget(choices, ratio * baseline_cost - other, baseline_fits ? &baseline : nullptr);
  if (!choice.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", choice.status().message()));

  int changed = 0;
  std::vector<Candidate> chosen;
  for (size_t l = 0; l < layers.size(); ++l) {
    auto& conv = std::get<ir::ConvAttrs>(layers[l]->attrs);
    const Candidate& c = chosen.emplace_back(choices.options[l][(*choice)[l]].precision);
    changed += !baseline_known || baseline[l] != (*choice)[l];
    conv.quant.reset();
    if (!c) continue;
    conv.quant.emplace();
    conv.quant->precision = *c;
    conv.quant->per_channel = !o.per_tensor_weights;
  }
  const double chosen_cost = p.MapCost(chosen, by_size);
  ctx.summary = absl::StrFormat(
      "%d of %zu layers changed; estimated %s %.3f of the global pair's, damage %.3g%s (sensitivity %s, cost %s)",
      changed, layers.size(), by_size ? "size" : "latency", chosen_cost / baseline_cost,
      ChoiceDamage(choices, *choice),
      baseline_known ? absl::StrFormat(" vs %.3g", ChoiceDamage(choices, baseline)) : std::string(),
      p.damage_cached ? "cached" : "measured", p.cost_cached ? "cached" : "measured");
  return absl::OkStatus();
}

}  // namespace q46
