// passes/precision_knapsack.h: the budgeted per-layer choice is the exact optimum (checked against trying every
// combination), never exceeds the budget, keeps the incumbent unless something is strictly better, and refuses
// unreachable budgets.
#include "passes/precision_knapsack.h"

#include <random>

#include "gtest/gtest.h"

namespace q46 {
namespace {

using Options = std::vector<std::vector<LayerOption>>;

// The least damage over every combination whose cost is within the budget (infinity when none is).
double BruteForce(const Options& options, double budget) {
  double best = std::numeric_limits<double>::infinity();
  std::vector<int> choice(options.size(), 0);
  for (;;) {
    if (ChoiceCost(options, choice) <= budget) best = std::min(best, ChoiceDamage(options, choice));
    size_t l = 0;
    while (l < options.size() && ++choice[l] == static_cast<int>(options[l].size())) choice[l++] = 0;
    if (l == options.size()) return best;
  }
}

TEST(PrecisionKnapsack, MatchesExhaustiveSearchOnRandomInstances) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    Options options(1 + rng() % 5);
    double cheapest = 0, dearest = 0;
    for (auto& layer : options) {
      layer.resize(1 + rng() % 4);
      double lo = 1e9, hi = 0;
      for (LayerOption& o : layer) {
        // Costs on the budget's grid (budget = kBudgetSteps units), so rounding loses nothing and the optimum is exact.
        o.cost = static_cast<double>(rng() % 6000);
        o.damage = static_cast<double>(rng() % 1000) / 7.0;
        lo = std::min(lo, o.cost), hi = std::max(hi, o.cost);
      }
      cheapest += lo, dearest += hi;
    }
    const double budget = kBudgetSteps;
    if (cheapest > budget) {
      EXPECT_FALSE(ChooseUnderBudget(options, budget).ok());
      continue;
    }
    absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(options, budget);
    ASSERT_TRUE(choice.ok()) << choice.status();
    EXPECT_LE(ChoiceCost(options, *choice), budget);
    EXPECT_DOUBLE_EQ(ChoiceDamage(options, *choice), BruteForce(options, budget)) << "trial " << trial;
  }
}

TEST(PrecisionKnapsack, NeverExceedsAnOffGridBudget) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 100; ++trial) {
    Options options(8);
    for (auto& layer : options) {
      layer.resize(4);
      for (LayerOption& o : layer) o.cost = u(rng) * 1e-4, o.damage = u(rng);
    }
    const double budget = 8 * 0.6e-4;
    absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(options, budget);
    ASSERT_TRUE(choice.ok()) << choice.status();
    EXPECT_LE(ChoiceCost(options, *choice), budget);
    // Within the damage of the best choice of a budget smaller by the rounding's worst case.
    EXPECT_LE(ChoiceDamage(options, *choice), BruteForce(options, budget * (1 - 8.0 / kBudgetSteps)));
  }
}

TEST(PrecisionKnapsack, KeepsTheIncumbentOnATie) {
  const Options options = {{{std::nullopt, 1, 10}, {arith::Precision{23, 23}, 1, 10}}};
  const std::vector<int> incumbent = {1};
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(options, 10, &incumbent);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(*choice, incumbent);
}

TEST(PrecisionKnapsack, KeepsAnOffGridIncumbentWhoseCostIsTheBudget) {
  // The budget is the incumbent's own cost summed in another order (ratio 1.0): rounding every cost up would
  // leave no choice within it, and the last bits of the two sums may differ.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(1e-6, 1e-4);
  for (int trial = 0; trial < 200; ++trial) {
    Options options(10);
    std::vector<int> incumbent(options.size());
    for (size_t l = 0; l < options.size(); ++l) {
      options[l] = {{std::nullopt, 0, u(rng)}, {arith::Precision{23, 23}, 0.5, u(rng)}};
      incumbent[l] = static_cast<int>(rng() % 2);
    }
    double budget = 0.37;  // the caller's way: (other + sum) - other
    for (size_t l = options.size(); l-- > 0;) budget += options[l][incumbent[l]].cost;
    budget -= 0.37;
    absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(options, budget, &incumbent);
    ASSERT_TRUE(choice.ok()) << choice.status();
    EXPECT_LE(ChoiceDamage(options, *choice), ChoiceDamage(options, incumbent)) << "trial " << trial;
  }
}

TEST(PrecisionKnapsack, NoLayersNoChoice) {
  const std::vector<int> none;
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget({}, 1.0, &none);
  ASSERT_TRUE(choice.ok());
  EXPECT_TRUE(choice->empty());
}

TEST(PrecisionKnapsack, RefusesAnUnreachableBudget) {
  const Options options = {{{std::nullopt, 0, 10}, {arith::Precision{23, 23}, 1, 5}}, {{std::nullopt, 0, 3}}};
  absl::StatusOr<std::vector<int>> choice = ChooseUnderBudget(options, 7.9);
  ASSERT_FALSE(choice.ok());
  EXPECT_NE(choice.status().message().find("unreachable"), std::string::npos) << choice.status();
  ASSERT_TRUE(ChooseUnderBudget(options, 8).ok());
}

}  // namespace
}  // namespace q46
