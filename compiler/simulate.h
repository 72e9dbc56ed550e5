// The compiler's model of what a plan computes: quantized layers through the compiler's own integer model
// (centered codes, exact 64-bit sums, requantization from runtime/arith.h), every other op through the
// runtime's own ops. The integer runtime must match this bit for bit (test/e2e checks it on real networks).
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "compiler/tensor.h"
#include "plan.pb.h"

namespace q46 {

absl::StatusOr<std::vector<FloatTensor>> SimulatePlan(const plan::Plan& plan, const std::vector<FloatTensor>& inputs);

}  // namespace q46
