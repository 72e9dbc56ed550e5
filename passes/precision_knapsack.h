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

// options[l] lists layer l's options; chained[l] says layer l is chained to layer l-1 (empty: no chains).
struct LayerChoices {
  std::vector<std::vector<LayerOption>> options;
  std::vector<bool> chained;
};

// Sets `chained` from each layer's chain source (the layer whose output codes it reads, or -1): a layer is
// chained to its predecessor when that is its source and the source has no other chained reader. Other chains
// (a source read by several layers, or one further back) have no term in this model, so their borders are
// folded into the costs of the quantized options of both ends: the estimate then errs high, never low.
void SetChains(const std::vector<int>& chain_source, LayerChoices* layers);

inline constexpr int kBudgetSteps = 20000;

// Returns the option index per layer. `incumbent`, a choice the caller knows to be within the budget, is
// returned unless the search finds one with less damage (so the global pair's own assignment is never lost to a
// rounding artefact or to folded borders). Without one, fails with a one-line reason when even the cheapest
// choice exceeds the budget. At most 32767 options a layer.
absl::StatusOr<std::vector<int>> ChooseUnderBudget(const LayerChoices& layers, double budget,
                                                   const std::vector<int>* incumbent = nullptr);

// Summed damage of a choice; its cost, borders included; the least cost of any choice.
double ChoiceDamage(const LayerChoices& layers, const std::vector<int>& choice);
double ChoiceCost(const LayerChoices& layers, const std::vector<int>& choice);
double CheapestCost(const LayerChoices& layers);

}  // namespace q46
