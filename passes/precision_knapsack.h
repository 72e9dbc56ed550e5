// The choice behind --precision auto: one option per layer (a precision, or float) minimising the summed
// estimated damage with the summed estimated cost (latency or bytes) within a budget. A multiple-choice knapsack,
// solved exactly on costs rounded up to 1/kBudgetSteps of the budget, so the choice never exceeds it. Knows nothing
// of graphs or measurements: precision_profile.h supplies the numbers.
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/arith.h"

namespace q46 {

struct LayerOption {
  std::optional<arith::Precision> precision;  // nullopt: the layer stays float
  double damage = 0;                          // estimated harm to the output, additive over layers
  double cost = 0;                            // estimated seconds or bytes, additive over layers
};

inline constexpr int kBudgetSteps = 20000;

// options[l] lists layer l's options. Returns the option index per layer. `incumbent`, when given and within
// the budget (up to a relative 1e-9, for sums taken in another order), is returned unless the search finds a
// choice with less damage (so the global pair's own assignment is never lost to a rounding artefact). Fails with a one-line reason when even the cheapest
// option of every layer exceeds the budget.
absl::StatusOr<std::vector<int>> ChooseUnderBudget(const std::vector<std::vector<LayerOption>>& options, double budget,
                                                   const std::vector<int>* incumbent = nullptr);

// Summed damage and cost of a choice.
double ChoiceDamage(const std::vector<std::vector<LayerOption>>& options, const std::vector<int>& choice);
double ChoiceCost(const std::vector<std::vector<LayerOption>>& options, const std::vector<int>& choice);

}  // namespace q46
