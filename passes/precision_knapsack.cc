// ChooseUnderBudget (see precision_knapsack.h): dynamic programming over layers and budget steps.
#include "passes/precision_knapsack.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"

namespace q46 {

double ChoiceDamage(const std::vector<std::vector<LayerOption>>& options, const std::vector<int>& choice) {
  double sum = 0;
  for (size_t l = 0; l < options.size(); ++l) sum += options[l][choice[l]].damage;
  return sum;
}

double ChoiceCost(const std::vector<std::vector<LayerOption>>& options, const std::vector<int>& choice) {
  double sum = 0;
  for (size_t l = 0; l < options.size(); ++l) sum += options[l][choice[l]].cost;
  return sum;
}

absl::StatusOr<std::vector<int>> ChooseUnderBudget(const std::vector<std::vector<LayerOption>>& options, double budget,
                                                   const std::vector<int>* incumbent) {
  if (options.empty()) return std::vector<int>{};
  // Costs summed in another order (the caller's budget is a ratio of its own sum) may differ in the last bits.
  const double slack = budget * 1e-9;
  double cheapest = 0;
  for (const auto& layer : options) {
    if (layer.empty()) return absl::InvalidArgumentError("a layer has no precision to choose from");
    double least = std::numeric_limits<double>::infinity();
    for (const LayerOption& o : layer) least = std::min(least, o.cost);
    cheapest += least;
  }
  if (!(cheapest <= budget + slack))
    return absl::InvalidArgumentError(absl::StrFormat(
        "the budget is unreachable: the cheapest choice is estimated at %.4g, above the budget %.4g", cheapest, budget));
  // best[b]: least damage of the layers so far with rounded cost at most b steps; pick[l][b]: layer l's option.
  const double step = budget > 0 ? budget / kBudgetSteps : 1;
  const auto steps_of = [&](double cost) {
    return cost <= 0 ? 0 : static_cast<int64_t>(std::ceil(cost / step * (1 - 1e-12)));
  };
  constexpr double kNone = std::numeric_limits<double>::infinity();
  std::vector<double> best(kBudgetSteps + 1, 0), next(kBudgetSteps + 1);
  std::vector<std::vector<int>> pick(options.size(), std::vector<int>(kBudgetSteps + 1, -1));
  for (size_t l = 0; l < options.size(); ++l) {
    std::fill(next.begin(), next.end(), kNone);
    for (size_t i = 0; i < options[l].size(); ++i) {
      const int64_t c = steps_of(options[l][i].cost);
      for (int64_t b = c; b <= kBudgetSteps; ++b) {
        const double d = best[b - c] + options[l][i].damage;
        if (d < next[b]) next[b] = d, pick[l][b] = static_cast<int>(i);
      }
    }
    best.swap(next);
  }
  std::vector<int> choice(options.size(), -1);
  if (best[kBudgetSteps] < kNone) {
    int64_t b = kBudgetSteps;
    for (size_t l = options.size(); l-- > 0;) {
      choice[l] = pick[l][b];
      b -= steps_of(options[l][choice[l]].cost);
    }
  }
  const bool incumbent_fits = incumbent && ChoiceCost(options, *incumbent) <= budget + slack;
  if (incumbent_fits && (choice[0] < 0 || ChoiceDamage(options, *incumbent) <= ChoiceDamage(options, choice)))
    return *incumbent;
  if (choice[0] >= 0) return choice;
  return absl::InvalidArgumentError(absl::StrFormat(
      "the budget %.4g is too tight to choose within after rounding costs to %d steps (cheapest %.4g)", budget,
      kBudgetSteps, cheapest));
}

}  // namespace q46
