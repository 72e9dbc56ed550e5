// The choice behind --precision auto: one option per layer (a precision, or float) minimising the summed
// estimated damage with the estimated cost (latency or bytes) within a budget. A multiple-choice knapsack with
// one pairwise term: where layer l reads layer l-1's output directly (a chain), a quantized layer next to a float
// one pays a border (the separate quantization of its input, or its output written as floats). Solved exactly
// by dynamic programming over layers, the previous layer's option and costs rounded up to 1/kBudgetSteps of the
// budget, so the choice never exceeds it. Knows nothing of graphs or measurements: precision_profile.h supplies
// the numbers.
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/arith.h"

namespace q46 {

struct LayerOption {
  std::optional<arith::Precision> precision;  // nullopt: the layer stays float
  double damage = 0;                          // estimated harm to the output, additive over layers
  double cost = 0;                            // estimated seconds or bytes with chain neighbours alike (see below)
  // Quantized options only, paid where the layer is chained to a float neighbour: before it (enter) or after
  // it (leave). Zero for float options and for costs without borders (bytes).
  double enter_cost = 0, leave_cost = 0;
};

// options[l] lists layer l's options; chained[l] says layer l is chained to layer l-1 (empty: no chains). A
// layer chained to one that is not its predecessor in this order has its borders folded into its costs by the
// caller, since this model has no term for it.
struct LayerChoices {
  std::vector<std::vector<LayerOption>> options;
  std::vector<bool> chained;
};

inline constexpr int kBudgetSteps = 20000;

// Returns the option index per layer. `incumbent`, when given and within the budget (up to a relative 1e-9, for
// sums taken in another order), is returned unless the search finds a choice with less damage (so the global
// pair's own assignment is never lost to a rounding artefact). Fails with a one-line reason when even the
// cheapest choice exceeds the budget.
absl::StatusOr<std::vector<int>> ChooseUnderBudget(const LayerChoices& layers, double budget,
                                                   const std::vector<int>* incumbent = nullptr);

// Summed damage of a choice; its cost, borders included; the least cost of any choice.
double ChoiceDamage(const LayerChoices& layers, const std::vector<int>& choice);
double ChoiceCost(const LayerChoices& layers, const std::vector<int>& choice);
double CheapestCost(const LayerChoices& layers);

}  // namespace q46
