// passes/precision_knapsack.h: the budgeted per-layer choice is the exact optimum (checked against trying every
// combination, with and without chain borders), never exceeds the budget, keeps the incumbent unless something
// is strictly better, and refuses unreachable budgets.
#include "passes/precision_knapsack.h"

#include <cmath>
#include <functional>
#include <random>

#include "gtest/gtest.h"

namespace q46 {
namespace {

constexpr arith::Precision k23{23, 23};

// The least damage over every combination whose cost is within the budget (infinity when none is).
double BruteForce(const LayerChoices& layers, double budget) {
  double best = std::numeric_limits<double>::infinity();
  std::vector<int> choice(layers.options.size(), 0);
  for (;;) {
    if (ChoiceCost(layers, choice) <= budget) best = std::min(best, ChoiceDamage(layers, choice));
    size_t l = 0;
    while (l < choice.size() && ++choice[l] == static_cast<int>(layers.options[l].size())) choice[l++] = 0;
    if (l == choice.size()) return best;
  }
}

// Random layers of float and quantized options; with `chains`, random chains with borders.
LayerChoices RandomLayers(std::mt19937& rng, size_t count, size_t options_per_layer, bool chains,
                          const std::function<double()>& cost) {
  LayerChoices layers;
  layers.options.resize(count);
  for (size_t l = 0; l < count; ++l) {
    layers.options[l].resize(options_per_layer ? options_per_layer : 1 + rng() % 4);
    for (LayerOption& o : layers.options[l]) {
      if (rng() % 2) o.precision = k23;
      o.cost = cost();
      o.damage = static_cast<double>(rng() % 1000) / 7.0;
      if (chains && o.precision) o.enter_cost = cost() / 4, o.leave_cost = cost() / 4;
    }
    if (chains) layers.chained.push_back(l > 0 && rng() % 3 != 0);
  }
  return layers;
}

TEST(PrecisionKnapsack, MatchesExhaustiveSearchOnRandomInstances) {
  std::mt19937 rng(7);
  // Costs on the budget's grid (budget = kBudgetSteps units), so rounding loses nothing and the optimum is exact.
  const auto on_grid = [&] { return 4.0 * (rng() % 1500); };  // quarters (the borders) on the grid too
  for (bool chains : {false, true})
    for (int trial = 0; trial < 300; ++trial) {
      const LayerChoices layers = RandomLayers(rng, 1 + rng() % 5, 0, chains, on_grid);
      const double budget = kBudgetSteps;
      const double best = BruteForce(layers, budget);
      absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(layers, budget);
      if (std::isinf(best)) {
        EXPECT_FALSE(choice.ok()) << "trial " << trial;
        continue;
      }
      ASSERT_TRUE(choice.ok()) << choice.status();
      EXPECT_LE(ChoiceCost(layers, *choice), budget);
      EXPECT_DOUBLE_EQ(ChoiceDamage(layers, *choice), best) << "trial " << trial << " chains " << chains;
    }
}

TEST(PrecisionKnapsack, NeverExceedsAnOffGridBudget) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (bool chains : {false, true})
    for (int trial = 0; trial < 100; ++trial) {
      const LayerChoices layers = RandomLayers(rng, 8, 4, chains, [&] { return u(rng) * 1e-4; });
      const double budget = 8 * 0.7e-4;
      const double best = BruteForce(layers, budget * (1 - 16.0 / kBudgetSteps));
      if (std::isinf(best)) continue;  // not reachable once rounded: the DP may rightly fail
      absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(layers, budget);
      ASSERT_TRUE(choice.ok()) << choice.status();
      EXPECT_LE(ChoiceCost(layers, *choice), budget);
      // Within the damage of the best choice of a budget smaller by the rounding's worst case (a step per term).
      EXPECT_LE(ChoiceDamage(layers, *choice), best);
    }
}

TEST(PrecisionKnapsack, PaysTheBorderOfAFloatLayerBetweenQuantizedOnes) {
  // Three layers, quantized (cost 10) or float (cost 12, no damage); quantizing the middle one does the most
  // damage. Unchained, making it float alone fits a budget of 33 (cost 32). Chained, it would pay a leave border
  // (after layer 0) and an enter border (before layer 2), 42 in all, so the choice keeps every layer quantized.
  LayerChoices layers;
  for (int l = 0; l < 3; ++l) layers.options.push_back({{k23, l == 1 ? 1.0 : 0.1, 10, 5, 5}, {std::nullopt, 0, 12}});
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(layers, 33);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(*choice, (std::vector<int>{0, 1, 0}));
  layers.chained = {false, true, true};
  EXPECT_DOUBLE_EQ(ChoiceCost(layers, {0, 1, 0}), 10 + 12 + 10 + 5 + 5);
  EXPECT_DOUBLE_EQ(ChoiceCost(layers, {1, 1, 0}), 12 + 12 + 10 + 5);
  choice = ChooseUnderBudget(layers, 33);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(*choice, (std::vector<int>{0, 0, 0}));
}

TEST(PrecisionKnapsack, KeepsTheIncumbentOnATie) {
  const LayerChoices layers{{{{std::nullopt, 1, 10}, {k23, 1, 10}}}, {}};
  const std::vector<int> incumbent = {1};
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(layers, 10, &incumbent);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(*choice, incumbent);
}

TEST(PrecisionKnapsack, KeepsAnOffGridIncumbentWhoseCostIsTheBudget) {
  // The budget is the incumbent's own cost summed in another order (ratio 1.0): rounding every cost up would
  // leave no choice within it, and the last bits of the two sums may differ.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(1e-6, 1e-4);
  for (int trial = 0; trial < 200; ++trial) {
    LayerChoices layers;
    layers.options.resize(10);
    std::vector<int> incumbent(layers.options.size());
    for (size_t l = 0; l < layers.options.size(); ++l) {
      layers.options[l] = {{std::nullopt, 0, u(rng)}, {k23, 0.5, u(rng), u(rng), u(rng)}};
      layers.chained.push_back(l > 0);
      incumbent[l] = static_cast<int>(rng() % 2);
    }
    const double budget = (0.37 + ChoiceCost(layers, incumbent)) - 0.37;  // the caller's way: (other + sum) - other
    absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(layers, budget, &incumbent);
    ASSERT_TRUE(choice.ok()) << choice.status();
    EXPECT_LE(ChoiceDamage(layers, *choice), ChoiceDamage(layers, incumbent)) << "trial " << trial;
  }
}

TEST(PrecisionKnapsack, TrustsTheIncumbentWhenEstimatesExceedTheBudget) {
  // The caller knows the incumbent fits (its exact cost is the budget's base); folded borders may price every
  // choice above the budget.
  const LayerChoices layers{{{{std::nullopt, 0, 12}, {k23, 1, 11}}}, {}};
  const std::vector<int> incumbent = {1};
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(layers, 10, &incumbent);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(*choice, incumbent);
  EXPECT_FALSE(ChooseUnderBudget(layers, 10).ok());
}

TEST(PrecisionKnapsack, NoLayersNoChoice) {
  const std::vector<int> none;
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget({}, 1.0, &none);
  ASSERT_TRUE(choice.ok());
  EXPECT_TRUE(choice->empty());
}

TEST(PrecisionKnapsack, RefusesAnUnreachableBudget) {
  // Cheapest: layer 0 quantized (5) + layer 1 float (4) + the border (1) = 10.
  const LayerChoices layers{{{{std::nullopt, 0, 11}, {k23, 1, 5, 0, 1}}, {{std::nullopt, 0, 4}}}, {false, true}};
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(layers, 9.9);
  ASSERT_FALSE(choice.ok());
  EXPECT_NE(choice.status().message().find("unreachable"), std::string::npos) << choice.status();
  EXPECT_DOUBLE_EQ(CheapestCost(layers), 10);
  ASSERT_TRUE(ChooseUnderBudget(layers, 10).ok());
}

}  // namespace
}  // namespace q46
