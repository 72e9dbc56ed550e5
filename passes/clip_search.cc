// Grid searches for MSE-optimal clipping (see clip_search.h).
#include "passes/clip_search.h"

#include <cmath>
#include <limits>

namespace q46 {
namespace {

constexpr int kSteps = 100;

}  // namespace

double WeightQuantError(const float* values, size_t n, float scale, int32_t nw) {
  double err = 0;
  for (size_t i = 0; i < n; ++i) {
    const float q = static_cast<float>(arith::QuantizeWeight(values[i], scale, nw)) * scale;
    err += (static_cast<double>(values[i]) - q) * (static_cast<double>(values[i]) - q);
  }
  return err;
}

float MseWeightScale(const float* values, size_t n, int32_t nw) {
  float absmax = 0;
  for (size_t i = 0; i < n; ++i) absmax = std::max(absmax, std::fabs(values[i]));
  if (absmax == 0) return 1.0f;
  const float full = absmax / static_cast<float>(arith::WeightScaleDivisor(nw));
  float best = full;
  double best_err = std::numeric_limits<double>::infinity();
  for (int k = 0; k <= kSteps / 2; ++k) {  // shrink factors 1.00, 0.99, ... 0.50
    const float scale = full * (1.0f - static_cast<float>(k) / kSteps);
    const double err = WeightQuantError(values, n, scale, nw);
    if (err < best_err) best_err = err, best = scale;
  }
  return best;
}

void MseActivationRange(const std::vector<float>& samples, float lo, float hi, int32_t nx, float* best_lo,
                        float* best_hi) {
  *best_lo = lo, *best_hi = hi;
  double best_err = std::numeric_limits<double>::infinity();
  const arith::CodeRange codes = arith::ActivationCodes(nx);
  for (int k = 0; k <= kSteps * 7 / 10; ++k) {  // shrink factors 1.00 ... 0.30
    const float f = 1.0f - static_cast<float>(k) / kSteps;
    const arith::ActivationParams p = arith::ActivationParamsForRange(lo * f, hi * f, nx);
    double err = 0;
    for (float v : samples) {
      const float q = arith::Dequantize(arith::Quantize(v, p.scale, p.zero_point, codes), p.scale, p.zero_point);
      err += (static_cast<double>(v) - q) * (static_cast<double>(v) - q);
    }
    if (err < best_err) best_err = err, *best_lo = lo * f, *best_hi = hi * f;
  }
}

}  // namespace q46
