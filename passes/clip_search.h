// Clipping ranges chosen by minimising quantization error: the grid searches that weight quantization
// (per output channel) and activation calibration (--range-method mse) share. Quantization itself is
// runtime/arith.h's; this file only chooses the range it is applied to.
#pragma once

#include <vector>

#include "runtime/arith.h"

namespace q46 {

// Sum of squared errors of quantizing `values` with symmetric weight codes of `nw` levels at `scale`.
double WeightQuantError(const float* values, size_t n, float scale, int32_t nw);

// The weight scale (absmax / divisor shrunk by a factor in [0.5, 1]) with the least squared error.
float MseWeightScale(const float* values, size_t n, int32_t nw);

// The activation range [lo, hi] (the observed range shrunk by a factor in [0.3, 1], each side alike) whose
// nx-level quantization has the least squared error on `samples`.
void MseActivationRange(const std::vector<float>& samples, float lo, float hi, int32_t nx, float* best_lo,
                        float* best_hi);

}  // namespace q46
