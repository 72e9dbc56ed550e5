// ChooseUnderBudget (see precision_knapsack.h): dynamic programming over layers, the previous layer's option and
// budget steps.
#include "passes/precision_knapsack.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/str_format.h"

namespace q46 {
namespace {

constexpr double kNone = std::numeric_limits<double>::infinity();

bool Quantized(const LayerOption& o) { return o.precision.has_value(); }

// What layer l pays for meeting layer l-1 at option `before` when it takes `at`: a border where one is quantized
// and the other float, paid by the quantized one; nothing where the two are not chained.
double Border(const LayerChoices& layers, size_t l, const LayerOption& before, const LayerOption& at) {
  if (l == 0 || layers.chained.empty() || !layers.chained[l] || Quantized(before) == Quantized(at)) return 0;
  return Quantized(at) ? at.enter_cost : before.leave_cost;
}

}  // namespace

void SetChains(const std::vector<int>& chain_source, LayerChoices* layers) {
  const size_t n = layers->options.size();
  std::vector<int> readers(n, 0);
  for (int s : chain_source)
    if (s >= 0) ++readers[s];
  layers->chained.assign(n, false);
  std::vector<bool> leave_folded(n, false);
  for (size_t l = 0; l < n && l < chain_source.size(); ++l) {
    const int s = chain_source[l];
    if (s < 0) continue;
    if (static_cast<size_t>(s) + 1 == l && readers[s] == 1) {
      layers->chained[l] = true;
      continue;
    }
    for (LayerOption& o : layers->options[l]) o.cost += o.enter_cost;
    if (!leave_folded[s])
      for (LayerOption& o : layers->options[s]) o.cost += o.leave_cost;
    leave_folded[s] = true;
  }
}

double ChoiceDamage(const LayerChoices& layers, const std::vector<int>& choice) {
  double sum = 0;
  for (size_t l = 0; l < layers.options.size(); ++l) sum += layers.options[l][choice[l]].damage;
  return sum;
}

double ChoiceCost(const LayerChoices& layers, const std::vector<int>& choice) {
  double sum = 0;
  for (size_t l = 0; l < layers.options.size(); ++l) {
    const LayerOption& at = layers.options[l][choice[l]];
    sum += at.cost;
    if (l > 0) sum += Border(layers, l, layers.options[l - 1][choice[l - 1]], at);
  }
  return sum;
}

// A shortest path through the layers' options.
double CheapestCost(const LayerChoices& layers) {
  std::vector<double> least(1, 0.0), next;
  const std::vector<LayerOption> none(1);
  for (size_t l = 0; l < layers.options.size(); ++l) {
    const std::vector<LayerOption>& prev = l == 0 ? none : layers.options[l - 1];
    next.assign(layers.options[l].size(), kNone);
    for (size_t i = 0; i < next.size(); ++i)
      for (size_t j = 0; j < prev.size(); ++j)
        next[i] = std::min(next[i], least[j] + Border(layers, l, prev[j], layers.options[l][i]) +
                                        layers.options[l][i].cost);
    least.swap(next);
  }
  double cheapest = kNone;
  for (double c : least) cheapest = std::min(cheapest, c);
  return cheapest;
}

absl::StatusOr<std::vector<int>> ChooseUnderBudget(const LayerChoices& layers, double budget,
                                                   const std::vector<int>* incumbent) {
  const auto& options = layers.options;
  if (options.empty()) return std::vector<int>{};
  if (!layers.chained.empty() && layers.chained.size() != options.size())
    return absl::InternalError("chain marks for another number of layers");
  for (const auto& layer : options)
    if (layer.empty() || layer.size() > 32767)
      return absl::InvalidArgumentError("a layer has no precision to choose from, or too many");
  // Costs summed in another order (the caller's budget is a ratio of its own sum) may differ in the last bits.
  const double cheapest = CheapestCost(layers);
  if (!(cheapest <= budget * (1 + 1e-9))) {
    if (incumbent) return *incumbent;
    return absl::InvalidArgumentError(absl::StrFormat(
        "the budget is unreachable: the cheapest choice is estimated at %.4g, above the budget %.4g", cheapest, budget));
  }
  // best[i][b]: least damage of the layers so far with the last at option i and rounded cost at most b steps;
  // pick[l][i][b]: the option of layer l-1 that best came from. Every cost term is rounded up on its own.
  const double step = budget > 0 ? budget / kBudgetSteps : 1;
  const auto steps_of = [&](double cost) {
    return cost <= 0 ? 0 : static_cast<int64_t>(std::ceil(cost / step * (1 - 1e-12)));
  };
  std::vector<std::vector<double>> best(1, std::vector<double>(kBudgetSteps + 1, 0.0)), next;
  std::vector<std::vector<std::vector<int16_t>>> pick(options.size());
  const std::vector<LayerOption> none(1);
  for (size_t l = 0; l < options.size(); ++l) {
    const std::vector<LayerOption>& prev = l == 0 ? none : options[l - 1];
    next.assign(options[l].size(), std::vector<double>(kBudgetSteps + 1, kNone));
    pick[l].assign(options[l].size(), std::vector<int16_t>(kBudgetSteps + 1, -1));
    // Unchained, every previous option meets this layer alike: only the best of them at each cost matters.
    const bool chained = !layers.chained.empty() && layers.chained[l];
    std::vector<double> least_before;
    std::vector<int16_t> least_at;
    if (!chained) {
      least_before.assign(kBudgetSteps + 1, kNone);
      least_at.assign(kBudgetSteps + 1, 0);
      for (size_t j = 0; j < prev.size(); ++j)
        for (int64_t b = 0; b <= kBudgetSteps; ++b)
          if (best[j][b] < least_before[b]) least_before[b] = best[j][b], least_at[b] = static_cast<int16_t>(j);
    }
    for (size_t i = 0; i < options[l].size(); ++i) {
      const LayerOption& at = options[l][i];
      const int64_t c = steps_of(at.cost);
      for (size_t j = 0; j < (chained ? prev.size() : 1); ++j) {
        const int64_t shift = c + (chained ? steps_of(Border(layers, l, prev[j], at)) : 0);
        const std::vector<double>& from = chained ? best[j] : least_before;
        for (int64_t b = shift; b <= kBudgetSteps; ++b) {
          const double d = from[b - shift] + at.damage;
          if (d < next[i][b])
            next[i][b] = d, pick[l][i][b] = chained ? static_cast<int16_t>(j) : least_at[b - shift];
        }
      }
    }
    best.swap(next);
  }
  std::vector<int> choice(options.size(), -1);
  int last = -1;
  for (size_t i = 0; i < best.size(); ++i)
    if (best[i][kBudgetSteps] < kNone && (last < 0 || best[i][kBudgetSteps] < best[last][kBudgetSteps]))
      last = static_cast<int>(i);
  if (last >= 0) {
    int64_t b = kBudgetSteps;
    choice.back() = last;
    for (size_t l = options.size() - 1; l > 0; --l) {
      const int j = pick[l][choice[l]][b];
      b -= steps_of(options[l][choice[l]].cost) + steps_of(Border(layers, l, options[l - 1][j], options[l][choice[l]]));
      choice[l - 1] = j;
    }
  }
  if (incumbent && (last < 0 || ChoiceDamage(layers, *incumbent) <= ChoiceDamage(layers, choice))) return *incumbent;
  if (last >= 0) return choice;
  return absl::InvalidArgumentError(absl::StrFormat(
      "the budget %.4g is too tight to choose within after rounding costs to %d steps (cheapest %.4g)", budget,
      kBudgetSteps, cheapest));
}

}  // namespace q46
