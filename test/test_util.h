// Helpers for tests that compile ONNX models in-process and run plans: one place that wires importer, pass
// pipeline, plan writer and runtime together the way q46c and q46run do.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compiler/tensor.h"
#include "passes/pass.h"
#include "plan.pb.h"

namespace q46::test {

// The directory the suite's model export fixture wrote (env Q46_TEST_MODELS), or "" when unset.
std::string ModelsDir();

// Import + passes + lowering, as q46c does.
absl::StatusOr<plan::Plan> CompileOnnx(const std::string& path, const CompileOptions& options);

// Runs the plan through the runtime on 2 threads, one model batch at a time, over every sample of `input` (dim 0).
absl::StatusOr<FloatTensor> RunPlan(const plan::Plan& plan, const FloatTensor& input);

// Runs the plan through the compiler's simulation, as RunPlan does through the runtime.
absl::StatusOr<FloatTensor> SimulatePlanBatched(const plan::Plan& plan, const FloatTensor& input);

// Largest |a - b| / (atol + rtol * |b|) over the elements: <= 1 means "within tolerance". Sizes must match.
double ToleranceRatio(const FloatTensor& a, const FloatTensor& b, double atol, double rtol);

// Number of elements whose bits differ.
int64_t BitDifferences(const FloatTensor& a, const FloatTensor& b);

// Appends a tensor to p: floats, or codes with scale 0.1, zero point 3 and 23 levels.
plan::Tensor* AddPlanTensor(plan::Plan& p, const char* name, const std::vector<int64_t>& dims, bool codes);

// A plan of one quantized convolution, float in and out: x -> Quantize (scale 0.1, zero point 3, 23 levels) ->
// QuantConv (square kernel, 23 weight levels; stride and pads written only where not 1 and 0) -> y.
struct QuantConvPlanSpec {
  std::vector<int64_t> x;  // NCHW
  int64_t oc = 1, kernel = 1, stride = 1, pad = 0;
  std::string weight_codes;  // int8, OIHW
  std::vector<int32_t> bias;
  std::vector<float> weight_scales;
};
plan::Plan QuantConvPlan(const QuantConvPlanSpec& s);

}  // namespace q46::test
