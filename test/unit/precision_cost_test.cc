// passes/precision_profile.h's MapCost (the latency model of a whole precision map, borders included) against
// passes/precision_knapsack.h's SetChains + ChoiceCost (what the choice is made on): equal where chains are
// simple, never lower where a source feeds several layers or a chain skips layers, on random chain shapes.
#include <random>

#include "gtest/gtest.h"
#include "passes/precision_knapsack.h"
#include "passes/precision_profile.h"

namespace q46 {
namespace {

TEST(PrecisionCost, KnapsackCostEqualsOrBoundsTheMapCost) {
  const std::vector<Candidate> candidates = {std::nullopt, arith::Precision{23, 23}, arith::Precision{25, 21},
                                             arith::Precision{256, 256}};
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.1, 1.0);
  int simple = 0, folded = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 2 + rng() % 3;
    PrecisionProfile p;
    p.other_seconds = u(rng);
    bool all_simple = true;
    std::vector<int> readers(n, 0);
    for (size_t l = 0; l < n; ++l) {
      const int source = l > 0 && rng() % 4 != 0 ? static_cast<int>(rng() % l) : -1;  // any earlier layer
      p.chain_source.push_back(source);
      if (source >= 0) all_simple &= static_cast<size_t>(source) + 1 == l && ++readers[source] == 1;
      std::vector<double> s, e, v;
      for (int k = 0; k < kKernelClasses; ++k) {
        s.push_back(u(rng));
        e.push_back(k == kFloatClass ? 0 : u(rng) / 5);
        v.push_back(k == kFloatClass ? 0 : u(rng) / 5);
      }
      p.seconds.push_back(s), p.enter_seconds.push_back(e), p.leave_seconds.push_back(v);
    }
    LayerChoices layers;
    for (size_t l = 0; l < n; ++l) {
      layers.options.emplace_back();
      for (const Candidate& c : candidates) {
        LayerOption o{c, 0, p.Seconds(l, c)};
        if (c) o.enter_cost = p.enter_seconds[l][ClassOf(c)], o.leave_cost = p.leave_seconds[l][ClassOf(c)];
        layers.options.back().push_back(o);
      }
    }
    SetChains(p.chain_source, &layers);
    (all_simple ? simple : folded)++;
    std::vector<int> choice(n, 0);
    for (;;) {  // every map
      std::vector<Candidate> map;
      for (size_t l = 0; l < n; ++l) map.push_back(candidates[choice[l]]);
      const double exact = p.MapCost(map, /*by_size=*/false), modelled = p.other_seconds + ChoiceCost(layers, choice);
      if (all_simple) EXPECT_NEAR(modelled, exact, 1e-12) << "trial " << trial;
      else EXPECT_GE(modelled, exact - 1e-12) << "trial " << trial;
      size_t l = 0;
      while (l < n && ++choice[l] == static_cast<int>(candidates.size())) choice[l++] = 0;
      if (l == n) break;
    }
  }
  EXPECT_GT(simple, 20);
  EXPECT_GT(folded, 20);
}

TEST(PrecisionCost, ASharedSourceKeepsCodesOnlyForOneNx) {
  // Layer 0 feeds layers 1 and 2. All quantized at one N_x: no borders. Layer 2 at another N_x: layer 0 writes
  // floats (leave) and both readers quantize (enter).
  PrecisionProfile p;
  p.chain_source = {-1, 0, 0};
  p.seconds.assign(3, std::vector<double>(kKernelClasses, 1.0));
  p.enter_seconds.assign(3, std::vector<double>(kKernelClasses, 0.1));
  p.leave_seconds.assign(3, std::vector<double>(kKernelClasses, 0.01));
  const Candidate a = arith::Precision{23, 23}, b = arith::Precision{25, 21};
  EXPECT_DOUBLE_EQ(p.MapCost({a, a, a}, false), 3.0);
  EXPECT_DOUBLE_EQ(p.MapCost({a, a, b}, false), 3.0 + 0.01 + 0.1 + 0.1);
  EXPECT_DOUBLE_EQ(p.MapCost({std::nullopt, a, a}, false), 3.0 + 0.1 + 0.1);
  EXPECT_DOUBLE_EQ(p.MapCost({a, std::nullopt, std::nullopt}, false), 3.0 + 0.01);
}

}  // namespace
}  // namespace q46
