// The reconstruction machinery behind --calib-method: the Gram statistics equal a direct convolution's error,
// the gradient equals finite differences of that error, the optimal bias is optimal, and the searches never
// lose to nearest rounding. Independent naive convolutions here are the oracle.
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "passes/layer_gram.h"
#include "passes/rounding_search.h"

namespace q46 {
namespace {

struct Case {
  ConvGeometry geo;
  std::vector<float> w, bias;          // float layer (OIHW)
  std::vector<std::vector<float>> xq, xf;  // per sample, C*H*W
  float in_scale = 1.1f / 11;  // codes 0..22 cover [-1.1, 1.1]
  int32_t in_zero_point = 11, nx = 23;
};

Case MakeCase(uint32_t seed, int64_t groups) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Case c;
  ConvGeometry& g = c.geo;
  g.in_c = 2 * groups, g.in_h = 7, g.in_w = 6, g.out_c = 3 * groups, g.groups = groups;
  g.window.kh = 3, g.window.kw = 2, g.window.sh = 2, g.window.sw = 1, g.window.dh = 1, g.window.dw = 2;
  g.window.pad_t = 1, g.window.pad_l = 1, g.window.pad_b = 0, g.window.pad_r = 1;
  g.out_h = (g.in_h + 1 - 3) / 2 + 1;
  g.out_w = (g.in_w + 2 - 3) / 1 + 1;
  c.w.resize(static_cast<size_t>(g.out_c * g.FieldSize()));
  for (float& v : c.w) v = u(rng);
  for (int64_t o = 0; o < g.out_c; ++o) c.bias.push_back(u(rng));
  for (int s = 0; s < 3; ++s) {
    std::vector<float> f(static_cast<size_t>(g.in_c * g.in_h * g.in_w)), q(f.size());
    for (size_t i = 0; i < f.size(); ++i) f[i] = u(rng), q[i] = f[i] + 0.02f * u(rng);  // the quantized net drifts
    c.xf.push_back(f);
    c.xq.push_back(q);
  }
  return c;
}

// Mean squared difference per output element between the float layer on xf and [wq bq] on fake-quantized xq;
// with drop p, its expectation when each input element u keeps its float value with probability p (then the
// input is (1-p) Q(u) + p u on average, and each element adds wq^2 p (1-p) (Q(u) - u)^2 of variance).
double DirectError(const Case& c, const std::vector<float>& wq, const std::vector<float>& bq, double drop = 0) {
  const ConvGeometry& g = c.geo;
  const ir::Window2d& w = g.window;
  const int64_t cin_g = g.in_c / g.groups, cout_g = g.out_c / g.groups;
  double sum = 0, count = 0;
  for (size_t s = 0; s < c.xf.size(); ++s)
    for (int64_t oc = 0; oc < g.out_c; ++oc)
      for (int64_t oy = 0; oy < g.out_h; ++oy)
        for (int64_t ox = 0; ox < g.out_w; ++ox) {
          double yf = c.bias[oc], yq = bq[oc], variance = 0;
          for (int64_t ic = 0; ic < cin_g; ++ic)
            for (int64_t ky = 0; ky < w.kh; ++ky)
              for (int64_t kx = 0; kx < w.kw; ++kx) {
                const int64_t iy = oy * w.sh - w.pad_t + ky * w.dh, ix = ox * w.sw - w.pad_l + kx * w.dw;
                if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
                const int64_t at = ((oc / cout_g * cin_g + ic) * g.in_h + iy) * g.in_w + ix;
                const int64_t wi = ((oc * cin_g + ic) * w.kh + ky) * w.kw + kx;
                const float q = arith::Dequantize(
                    arith::Quantize(c.xq[s][at], c.in_scale, c.in_zero_point, arith::ActivationCodes(c.nx)),
                    c.in_scale, c.in_zero_point);
                const double u = c.xq[s][at];
                yf += static_cast<double>(c.w[wi]) * c.xf[s][at];
                yq += static_cast<double>(wq[wi]) * ((1 - drop) * q + drop * u);
                variance += static_cast<double>(wq[wi]) * wq[wi] * drop * (1 - drop) * (q - u) * (q - u);
              }
          sum += (yq - yf) * (yq - yf) + variance;
          ++count;
        }
  return sum / count;
}

std::vector<LayerGram> Gather(const Case& c, double drop = 0) {
  GramBuilder b(c.geo, c.w, c.bias, c.in_scale, c.in_zero_point, c.nx, drop, c.geo.out_h * c.geo.out_w, 7);
  for (size_t s = 0; s < c.xf.size(); ++s) b.AddSample(static_cast<int64_t>(s), c.xq[s].data(), c.xf[s].data());
  return b.Finish();
}

// [W b] of group g from full OIHW weights and biases.
std::vector<float> GroupMatrix(const Case& c, int64_t g, const std::vector<float>& w, const std::vector<float>& b) {
  const int64_t k = c.geo.FieldSize(), out = c.geo.out_c / c.geo.groups;
  std::vector<float> m;
  for (int64_t o = g * out; o < (g + 1) * out; ++o) {
    m.insert(m.end(), w.begin() + o * k, w.begin() + (o + 1) * k);
    m.push_back(b[o]);
  }
  return m;
}

// Random weights and biases for c's layer, uniform in [-1, 1].
std::pair<std::vector<float>, std::vector<float>> RandomCandidate(const Case& c, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> wq(c.w.size()), bq(c.bias.size());
  for (float& v : wq) v = u(rng);
  for (float& v : bq) v = u(rng);
  return {wq, bq};
}

// The objective's error of [wq bq], averaged over the groups as DirectError averages over output elements.
double GramError(const Case& c, const std::vector<LayerGram>& grams, const std::vector<float>& wq,
                 const std::vector<float>& bq) {
  double sum = 0;
  for (size_t g = 0; g < grams.size(); ++g)
    sum += ReconstructionObjective(grams[g]).Error(GroupMatrix(c, static_cast<int64_t>(g), wq, bq));
  return sum / static_cast<double>(grams.size());
}

TEST(LayerGram, ErrorEqualsDirectConvolution) {
  for (int64_t groups : {1, 2}) {
    const Case c = MakeCase(1, groups);
    const auto [wq, bq] = RandomCandidate(c, 2);
    const std::vector<LayerGram> grams = Gather(c);
    ASSERT_EQ(grams.size(), static_cast<size_t>(groups));
    EXPECT_NEAR(GramError(c, grams, wq, bq), DirectError(c, wq, bq), 1e-4 * DirectError(c, wq, bq)) << groups;
    // At the float weights only the input's drift and quantization remain: a small but non-zero error.
    const double at_float = ReconstructionObjective(grams[0]).Error(GroupMatrix(c, 0, c.w, c.bias));
    EXPECT_GT(at_float, 0);
    EXPECT_LT(at_float, 0.1 * ReconstructionObjective(grams[0]).Error(GroupMatrix(c, 0, wq, bq)));
  }
}

TEST(LayerGram, ManyGroupsShareTheRowBuffers) {
  // A depthwise-like layer with 32,768 groups. One buffer chunk per group was 32,768 x 2 x 16 MB (MobileNetV2's
  // depthwise layers ran out of memory); shared, the chunk holds 9 rows, a sample has 18, so samples are flushed
  // in parts, which must not change the statistics.
  const Case c = MakeCase(5, 32768);
  GramBuilder b(c.geo, c.w, c.bias, c.in_scale, c.in_zero_point, c.nx, 0, c.geo.out_h * c.geo.out_w, 7);
  EXPECT_LE(b.RowBufferFloats(), int64_t{2} << 22);
  for (size_t s = 0; s < c.xf.size(); ++s) b.AddSample(static_cast<int64_t>(s), c.xq[s].data(), c.xf[s].data());
  const std::vector<LayerGram> grams = b.Finish();
  const auto [wq, bq] = RandomCandidate(c, 6);
  EXPECT_NEAR(GramError(c, grams, wq, bq), DirectError(c, wq, bq), 1e-4 * DirectError(c, wq, bq));
}

TEST(LayerGram, WithDropErrorEqualsExpectedDirectError) {
  for (int64_t groups : {1, 2}) {
    const Case c = MakeCase(11, groups);
    const auto [wq, bq] = RandomCandidate(c, 12);
    for (double drop : {0.3, 0.5}) {
      const double direct = DirectError(c, wq, bq, drop);
      EXPECT_NEAR(GramError(c, Gather(c, drop), wq, bq), direct, 1e-4 * direct) << groups << " " << drop;
      EXPECT_GT(std::fabs(direct - DirectError(c, wq, bq)), 1e-3 * direct);  // the drop changes the objective
      // The bias is corrected for the deployed input, which a drop does not change.
      std::vector<float> with_drop = GroupMatrix(c, 0, wq, bq), without = with_drop;
      ReconstructionObjective(Gather(c, drop)[0]).SetOptimalBias(&with_drop);
      ReconstructionObjective(Gather(c)[0]).SetOptimalBias(&without);
      for (size_t i = 0; i < with_drop.size(); ++i) EXPECT_NEAR(with_drop[i], without[i], 1e-4f) << i;
    }
  }
}

TEST(LayerGram, GradientEqualsFiniteDifferences) {
  const Case c = MakeCase(3, 2);
  const std::vector<LayerGram> grams = Gather(c);
  const ReconstructionObjective f(grams[1]);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> w(static_cast<size_t>(grams[1].out * grams[1].k)), grad;
  for (float& v : w) v = u(rng);
  f.Gradient(w, &grad);
  const float eps = 1e-2f;  // E is quadratic: central differences are exact up to rounding
  for (size_t i = 0; i < w.size(); ++i) {
    std::vector<float> plus = w, minus = w;
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric = (f.Error(plus) - f.Error(minus)) / (2 * eps);
    EXPECT_NEAR(grad[i], numeric, 1e-3 * std::max(1.0, std::fabs(numeric))) << i;
  }
}

// With memory, the gradient follows AdaQuant's kind of walk (every bias and a few codes per call, updated in place;
// now and then nearly everything, which goes whole; and past kWholeEvery calls, which go whole) and stays equal to
// the product computed whole. The objective is a random one, 8 channels by K' = 64, so that a sparse step is well
// under the 1/16 of the entries where an update stops paying.
TEST(LayerGram, GradientWithMemoryEqualsTheWholeProduct) {
  constexpr int64_t kp = 64, out = 8, kRows = 200;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  LayerGram gram;
  gram.k = kp, gram.out = out, gram.rows = kRows;
  gram.h.assign(kp * kp, 0.0), gram.m.assign(kp * out, 0.0), gram.t.assign(out, 0.0);
  for (int64_t r = 0; r < kRows; ++r) {  // H = X^T X, M = X^T Y, t = column sums of Y^2 over random rows
    std::vector<double> x(kp), y(out);
    for (double& v : x) v = u(rng);
    for (double& v : y) v = u(rng);
    for (int64_t i = 0; i < kp; ++i) {
      for (int64_t j = 0; j < kp; ++j) gram.h[i * kp + j] += x[i] * x[j];
      for (int64_t c = 0; c < out; ++c) gram.m[i * out + c] += x[i] * y[c];
    }
    for (int64_t c = 0; c < out; ++c) gram.t[c] += y[c] * y[c];
  }
  const ReconstructionObjective f(gram);
  std::vector<float> w(static_cast<size_t>(out * kp)), with, without;
  for (float& v : w) v = u(rng);
  GradientMemory memory;
  int updated = 0;
  for (int call = 0; call < 2 * ReconstructionObjective::kWholeEvery + 5; ++call) {
    const bool dense = call % 13 == 12;
    for (int64_t c = 0; c < out; ++c) w[static_cast<size_t>(c * kp + kp - 1)] = u(rng);
    for (int n = 0; n < 3; ++n) w[rng() % w.size()] = u(rng);
    if (dense)
      for (float& v : w) v = u(rng);
    const double e_with = f.Gradient(w, &with, &memory), e_without = f.Gradient(w, &without);
    EXPECT_NEAR(e_with, e_without, 1e-4 * std::max(1.0, std::fabs(e_without))) << call;
    for (size_t i = 0; i < w.size(); ++i)
      ASSERT_NEAR(with[i], without[i], 1e-4f * std::max(1.0f, std::fabs(without[i]))) << call << " " << i;
    if (call > 0 && !dense && memory.updates > 0) ++updated;
    if (dense) {
      EXPECT_EQ(memory.updates, 0) << call;  // too many changes: whole
    }
    EXPECT_LT(memory.updates, ReconstructionObjective::kWholeEvery) << call;
  }
  EXPECT_GT(updated, 50);  // most sparse calls took the update
}

TEST(LayerGram, OptimalBiasZeroesItsGradientAndLowersTheError) {
  const Case c = MakeCase(5, 1);
  const std::vector<LayerGram> grams = Gather(c);
  const ReconstructionObjective f(grams[0]);
  std::vector<float> w = GroupMatrix(c, 0, c.w, c.bias), grad;
  for (size_t i = 0; i < w.size(); ++i) w[i] += 0.05f * static_cast<float>(i % 7) - 0.15f;  // off the optimum
  const double before = f.Error(w);
  f.SetOptimalBias(&w);
  EXPECT_LT(f.Error(w), before);
  f.Gradient(w, &grad);
  const int64_t kp = grams[0].k;
  for (int64_t o = 0; o < grams[0].out; ++o) EXPECT_NEAR(grad[o * kp + kp - 1], 0.0f, 1e-4f) << o;
}

TEST(RoundingSearch, MethodsNeverLoseToNearestStayInRangeAndRepeat) {
  const Case c = MakeCase(6, 1);
  const std::vector<LayerGram> grams = Gather(c);
  const ReconstructionObjective f(grams[0]);
  GroupWeights start;
  start.out = c.geo.out_c;
  start.k = c.geo.FieldSize();
  start.w = c.w;
  start.bias = c.bias;
  start.codes = arith::WeightCodes(5);  // coarse codes: rounding choices matter
  for (int64_t o = 0; o < start.out; ++o) start.scale.push_back(0.5f);
  RoundingOptions plain;
  plain.method = "none";
  plain.bias_correction = false;
  const RoundingResult nearest = SearchRounding(f, start, plain);
  EXPECT_DOUBLE_EQ(nearest.error, nearest.error_nearest);
  for (const char* method : {"none", "adaquant", "adaround"}) {
    RoundingOptions o;
    o.method = method;
    o.steps = 300;
    const RoundingResult r = SearchRounding(f, start, o);
    EXPECT_LT(r.error, nearest.error) << method;  // bias correction alone already helps here
    for (int32_t code : r.codes) {
      EXPECT_GE(code, -2) << method;
      EXPECT_LE(code, 2) << method;
    }
    const RoundingResult again = SearchRounding(f, start, o);
    EXPECT_EQ(r.codes, again.codes) << method;
    EXPECT_EQ(r.bias, again.bias) << method;
  }
}

}  // namespace
}  // namespace q46
