// The quantized convolution op (runtime/ops/quant_conv_op.cc) on one-conv plans (Quantize -> QuantConv, float out),
// bit for bit against the compiler's simulation: kernels that cover their whole unpadded input run as a 1x1
// convolution over the input flattened into channels (FlattenWholeInputKernel), whether the flattened channels
// fill whole quads (read in place) or not (repacked), strided, in batches of two; beside them a layer it leaves as
// it is.
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "test/test_util.h"

namespace q46 {
namespace {

struct Case {
  const char* name;
  std::vector<int64_t> x;  // NCHW
  int64_t oc, k, stride, pad;
};

plan::Plan OneQuantConvPlan(const Case& c, std::mt19937& rng) {
  test::QuantConvPlanSpec s;
  s.x = c.x;
  s.oc = c.oc, s.kernel = c.k, s.stride = c.stride, s.pad = c.pad;
  std::uniform_int_distribution<int> code(-11, 11), bias(-300, 300);
  s.weight_codes.resize(static_cast<size_t>(c.oc * c.x[1] * c.k * c.k));
  for (char& v : s.weight_codes) v = static_cast<char>(code(rng));
  for (int64_t o = 0; o < c.oc; ++o)
    s.weight_scales.push_back(0.01f + 0.001f * static_cast<float>(o % 7)), s.bias.push_back(bias(rng));
  return test::QuantConvPlan(s);
}

TEST(QuantConvOp, WholeInputKernelsMatchTheSimulation) {
  const Case cases[] = {
      {"flattened_partial_quad", {2, 3, 5, 5}, 7, 5, 1, 0},  // 75 channels flattened: repacked
      {"flattened_strided", {2, 8, 2, 2}, 20, 2, 2, 0},      // 32: read in place
      {"cifar_fc1", {1, 128, 2, 2}, 256, 2, 1, 0},          // 512: read in place
      {"padded_not_flattened", {2, 6, 3, 3}, 5, 3, 1, 1},
  };
  std::mt19937 rng(62);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const plan::Plan plan = OneQuantConvPlan(c, rng);
    FloatTensor x{c.x, std::vector<float>(static_cast<size_t>(FloatTensor::NumElements(c.x)))};
    std::uniform_real_distribution<float> value(-0.2f, 1.2f);
    for (float& v : x.data) v = value(rng);
    absl::StatusOr<FloatTensor> got = test::RunPlan(plan, x), want = test::SimulatePlanBatched(plan, x);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(test::BitDifferences(*got, *want), 0);
  }
}

}  // namespace
}  // namespace q46
