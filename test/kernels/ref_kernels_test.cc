// Tests of the reference kernels (runtime/kernels/ref/) on small hand-checkable cases and on the ONNX operator
// conformance examples (expected outputs copied from the onnx 1.12 node test data, test_<name> in comments).
// Tests only; touches no kernel code.
#include "runtime/kernels/ref/ref_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace q46::kernels {
namespace {

std::vector<float> Iota(int64_t n, float first) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = first + static_cast<float>(i);
  return v;
}

void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, float rel = 1e-6f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], rel * std::max(1.0f, std::fabs(want[i]))) << "at " << i;
}

Window2d Square(int64_t k, int64_t stride, int64_t pad) {
  Window2d w;
  w.kh = w.kw = k;
  w.sh = w.sw = stride;
  w.pad_t = w.pad_l = w.pad_b = w.pad_r = pad;
  return w;
}

// ---- Conv / ConvTranspose ----

TEST(ConvF32Ref, OnnxStridesPadding) {  // test_conv_with_strides_padding
  const std::vector<float> x = Iota(35, 0), w(9, 1.0f);
  std::vector<float> y(12);
  ConvF32Ref(x.data(), {1, 1, 7, 5}, w.data(), nullptr, Square(3, 2, 1), 1, {}, y.data(), {1, 1, 4, 3});
  ExpectClose(y, {12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124});
}

TEST(ConvF32Ref, OnnxStridesAsymmetricPadding) {  // test_conv_with_strides_and_asymmetric_padding
  const std::vector<float> x = Iota(35, 0), w(9, 1.0f);
  Window2d win = Square(3, 2, 0);
  win.pad_t = win.pad_b = 1;  // ONNX pads [1, 0, 1, 0]
  std::vector<float> y(8);
  ConvF32Ref(x.data(), {1, 1, 7, 5}, w.data(), nullptr, win, 1, {}, y.data(), {1, 1, 4, 2});
  ExpectClose(y, {21, 33, 99, 117, 189, 207, 171, 183});
}

TEST(ConvF32Ref, GroupsDilationBiasClip) {
  // Two groups of one channel (ones, twos); 2x2 kernel of ones dilated by 2 covers the 3x3 corners.
  std::vector<float> x(18, 1.0f);
  for (int i = 9; i < 18; ++i) x[i] = 2.0f;
  const std::vector<float> w(8, 1.0f), bias = {1.0f, -20.0f};
  Window2d win = Square(2, 1, 0);
  win.dh = win.dw = 2;
  FloatActivation relu6{FloatActivation::kClip, 0.0f, 6.0f};
  std::vector<float> y(2);
  ConvF32Ref(x.data(), {1, 2, 3, 3}, w.data(), bias.data(), win, 2, relu6, y.data(), {1, 2, 1, 1});
  ExpectClose(y, {5, 0});  // clip(4 + 1), clip(8 - 20)
  ConvF32Ref(x.data(), {1, 2, 3, 3}, w.data(), bias.data(), win, 2, {}, y.data(), {1, 2, 1, 1});
  ExpectClose(y, {5, -12});
}

TEST(ConvTransposeF32Ref, Onnx) {  // test_convtranspose
  const std::vector<float> x = Iota(9, 0), w(18, 1.0f);
  std::vector<float> y(50);
  ConvTransposeF32Ref(x.data(), {1, 1, 3, 3}, w.data(), nullptr, Square(3, 1, 0), 1, {}, y.data(), {1, 2, 5, 5});
  const std::vector<float> plane = {0,  1,  3, 3,  2,  3,  8,  15, 12, 7,  9,  21, 36,
                                    27, 15, 9, 20, 33, 24, 13, 6,  13, 21, 15, 8};
  std::vector<float> want = plane;
  want.insert(want.end(), plane.begin(), plane.end());
  ExpectClose(y, want);
}

TEST(ConvTransposeF32Ref, OnnxDilations) {  // test_convtranspose_dilations
  const std::vector<float> x = {3, 8, 1, 9, 5, 7, 3, 2, 6}, w = {7, 2, 1, 9};
  Window2d win = Square(2, 1, 0);
  win.dh = win.dw = 2;
  std::vector<float> y(25);
  ConvTransposeF32Ref(x.data(), {1, 1, 3, 3}, w.data(), nullptr, win, 1, {}, y.data(), {1, 1, 5, 5});
  ExpectClose(y, {21, 56, 13, 16, 2, 63, 35, 67, 10, 14, 24, 22, 76, 76, 21, 9, 5, 88, 45, 63, 3, 2, 33, 18, 54});
}

TEST(ConvTransposeF32Ref, OnnxPads) {  // test_convtranspose_pads: strides [3, 2], pads [1, 2, 1, 2]
  const std::vector<float> x = Iota(9, 0), w(18, 1.0f);
  Window2d win = Square(3, 1, 0);
  win.sh = 3;
  win.sw = 2;
  win.pad_t = win.pad_b = 1;
  win.pad_l = win.pad_r = 2;
  std::vector<float> y(42);
  ConvTransposeF32Ref(x.data(), {1, 1, 3, 3}, w.data(), nullptr, win, 1, {}, y.data(), {1, 2, 7, 3});
  const std::vector<float> plane = {1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15};
  std::vector<float> want = plane;
  want.insert(want.end(), plane.begin(), plane.end());
  ExpectClose(y, want);
}

TEST(ConvTransposeF32Ref, OnnxOutputPadding) {  // test_convtranspose_pad: strides [3, 2], output_padding [1, 1]
  const std::vector<float> x = Iota(9, 0), w(18, 1.0f);
  Window2d win = Square(3, 1, 0);
  win.sh = 3;
  win.sw = 2;
  win.out_pad_h = win.out_pad_w = 1;
  std::vector<float> y(160);
  ConvTransposeF32Ref(x.data(), {1, 1, 3, 3}, w.data(), nullptr, win, 1, {}, y.data(), {1, 2, 10, 8});
  // clang-format off
  const std::vector<float> plane = {0, 0, 1,  1, 3,  2, 2, 0,
                                    0, 0, 1,  1, 3,  2, 2, 0,
                                    0, 0, 1,  1, 3,  2, 2, 0,
                                    3, 3, 7,  4, 9,  5, 5, 0,
                                    3, 3, 7,  4, 9,  5, 5, 0,
                                    3, 3, 7,  4, 9,  5, 5, 0,
                                    6, 6, 13, 7, 15, 8, 8, 0,
                                    6, 6, 13, 7, 15, 8, 8, 0,
                                    6, 6, 13, 7, 15, 8, 8, 0,
                                    0, 0, 0,  0, 0,  0, 0, 0};  // the last row and column: output_padding only
  // clang-format on
  std::vector<float> want = plane;
  want.insert(want.end(), plane.begin(), plane.end());
  ExpectClose(y, want);
}

TEST(ConvTransposeF32Ref, GroupedWeightLayout) {
  // ONNX ConvTranspose weights are [C_in, C_out / groups, kh, kw]: input channel g feeds output channels
  // [2g, 2g + 1] through w[g][0..1].
  const std::vector<float> x = {1, 2}, w = {1, 2, 3, 4}, bias = {0.5f, 0, 0, 0};
  std::vector<float> y(4);
  ConvTransposeF32Ref(x.data(), {1, 2, 1, 1}, w.data(), bias.data(), Square(1, 1, 0), 2, {}, y.data(), {1, 4, 1, 1});
  ExpectClose(y, {1.5f, 2, 6, 8});
}

// ConvQuantRef against ConvF32Ref on the same integers: sum(code * w) = sum((code - zp) * w) + zp * sum(w), since
// every tap reads either a code or the padding code zp; all sums are exact.
TEST(ConvQuantRef, MatchesFloatConvolution) {
  std::mt19937 rng(46);
  struct Case {
    Dims4 xs;
    int64_t oc, k, stride, dil, groups;
    int64_t pads[4];
    int32_t nx;
  };
  const Case cases[] = {
      {{1, 3, 7, 6}, 4, 3, 1, 1, 1, {1, 1, 1, 1}, 256}, {{2, 4, 9, 8}, 6, 3, 2, 1, 2, {0, 1, 2, 1}, 16},
      {{1, 8, 6, 6}, 8, 3, 1, 2, 8, {2, 2, 2, 2}, 15},  {{3, 16, 1, 1}, 5, 1, 1, 1, 1, {0, 0, 0, 0}, 256},
      {{1, 2, 5, 7}, 4, 2, 2, 1, 1, {1, 0, 0, 1}, 7},
  };
  for (const Case& c : cases) {
    Window2d win = Square(c.k, c.stride, 0);
    win.dh = win.dw = c.dil;
    win.pad_t = c.pads[0], win.pad_l = c.pads[1], win.pad_b = c.pads[2], win.pad_r = c.pads[3];
    const int64_t ext = (c.k - 1) * c.dil + 1;
    const Dims4 ys{c.xs.n, c.oc, (c.xs.h + c.pads[0] + c.pads[2] - ext) / c.stride + 1,
                   (c.xs.w + c.pads[1] + c.pads[3] - ext) / c.stride + 1};
    const int64_t wsize = c.oc * (c.xs.c / c.groups) * c.k * c.k;
    std::uniform_int_distribution<int> code(0, c.nx - 1), weight(-127, 127), b(-1000, 1000);
    const uint8_t zp = static_cast<uint8_t>(code(rng));
    std::vector<uint8_t> xq(static_cast<size_t>(c.xs.size()));
    std::vector<float> xf(xq.size());
    for (size_t i = 0; i < xq.size(); ++i) {
      xq[i] = static_cast<uint8_t>(code(rng));
      xf[i] = static_cast<float>(xq[i]) - zp;
    }
    std::vector<int8_t> wq(static_cast<size_t>(wsize));
    std::vector<float> wf(wq.size());
    for (size_t i = 0; i < wq.size(); ++i) wf[i] = wq[i] = static_cast<int8_t>(weight(rng));
    std::vector<int32_t> bias(static_cast<size_t>(c.oc));
    for (auto& v : bias) v = b(rng);

    std::vector<float> yf(static_cast<size_t>(ys.size()));
    ConvF32Ref(xf.data(), c.xs, wf.data(), nullptr, win, c.groups, {}, yf.data(), ys);
    const int64_t per_oc = wsize / c.oc;
    int64_t visited = 0;
    ConvQuantRef(
        xq.data(), c.xs, wq.data(), bias.data(), win, c.groups, zp, ys, [&](int64_t i, int64_t ch, int32_t acc) {
          int64_t wsum = 0;
          for (int64_t j = 0; j < per_oc; ++j) wsum += wq[static_cast<size_t>(ch * per_oc + j)];
          const int64_t want =
              bias[static_cast<size_t>(ch)] + static_cast<int64_t>(yf[static_cast<size_t>(i)]) + int64_t{zp} * wsum;
          ASSERT_EQ(acc, want) << "element " << i;
          ++visited;
        });
    EXPECT_EQ(visited, ys.size());
  }
}

// ---- Pooling ----

TEST(MaxPoolRef, OnnxPadsFloatAndUint8) {  // test_maxpool_2d_precomputed_pads, test_maxpool_2d_uint8
  const std::vector<float> x = Iota(25, 1);
  const std::vector<float> want = {13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25,
                                   25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25};
  std::vector<float> y(25);
  MaxPoolRef(x.data(), {1, 1, 5, 5}, Square(5, 1, 2), y.data(), {1, 1, 5, 5});
  ExpectClose(y, want);

  std::vector<uint8_t> xq(x.begin(), x.end()), yq(25);
  MaxPoolRef(xq.data(), {1, 1, 5, 5}, Square(5, 1, 2), yq.data(), {1, 1, 5, 5});
  EXPECT_EQ(std::vector<float>(yq.begin(), yq.end()), want);
}

TEST(MaxPoolRef, PaddingNeverWins) {
  const std::vector<float> x = {-5, -4, -3, -2};
  std::vector<float> y(9);
  MaxPoolRef(x.data(), {1, 1, 2, 2}, Square(2, 1, 1), y.data(), {1, 1, 3, 3});
  ExpectClose(y, {-5, -4, -4, -3, -2, -2, -3, -2, -2});
}

TEST(MaxPoolRef, OnnxCeilAndDilations) {  // test_maxpool_2d_ceil, test_maxpool_2d_dilations
  const std::vector<float> x = Iota(16, 1);
  std::vector<float> y(4);
  MaxPoolRef(x.data(), {1, 1, 4, 4}, Square(3, 2, 0), y.data(), {1, 1, 2, 2});  // ceil_mode: 2x2 output
  ExpectClose(y, {11, 12, 15, 16});
  Window2d dilated = Square(2, 1, 0);
  dilated.dh = dilated.dw = 2;
  MaxPoolRef(x.data(), {1, 1, 4, 4}, dilated, y.data(), {1, 1, 2, 2});
  ExpectClose(y, {11, 12, 15, 16});
}

TEST(AvgPoolF32Ref, OnnxPadsBothWays) {
  // test_averagepool_2d_precomputed_pads(_count_include_pad): 5x5 kernel, pads 2.
  const std::vector<float> x = Iota(25, 1);
  std::vector<float> y(25);
  AvgPoolF32Ref(x.data(), {1, 1, 5, 5}, Square(5, 1, 2), false, y.data(), {1, 1, 5, 5});
  ExpectClose(y, {7,     7.5f, 8,     8.5f, 9,     9.5f, 10,    10.5f, 11,    11.5f, 12,    12.5f, 13,
                  13.5f, 14,   14.5f, 15,   15.5f, 16,   16.5f, 17,    17.5f, 18,    18.5f, 19});
  AvgPoolF32Ref(x.data(), {1, 1, 5, 5}, Square(5, 1, 2), true, y.data(), {1, 1, 5, 5});
  const float sums[] = {63,  90,  120, 102, 81,  114, 160, 210, 176, 138, 180, 250, 325,
                        270, 210, 174, 240, 310, 256, 198, 153, 210, 270, 222, 171};  // window sums
  std::vector<float> want;
  for (float s : sums) want.push_back(s / 25.0f);
  ExpectClose(y, want);
}

TEST(AvgPoolF32Ref, OnnxCeil) {  // test_averagepool_2d_ceil
  const std::vector<float> x = Iota(16, 1);
  std::vector<float> y(4);
  AvgPoolF32Ref(x.data(), {1, 1, 4, 4}, Square(3, 2, 0), false, y.data(), {1, 1, 2, 2});
  ExpectClose(y, {6, 7.5f, 12, 13.5f});
}

TEST(AvgPoolF32Ref, CeilModeWindowPastPadding) {
  // 4x4 input, 3x3 kernel, stride 2, pads 1, ceil_mode: 3x3 output; the last window spans rows/cols 3..5, of
  // which 3 is real, 4 is padding and 5 lies beyond the padding.
  const std::vector<float> x = Iota(16, 1);
  std::vector<float> y(9);
  AvgPoolF32Ref(x.data(), {1, 1, 4, 4}, Square(3, 2, 1), true, y.data(), {1, 1, 3, 3});
  EXPECT_FLOAT_EQ(y[0], 14.0f / 9.0f);  // 1 + 2 + 5 + 6 over the full 3x3 window
  EXPECT_FLOAT_EQ(y[8], 16.0f / 4.0f);  // only 16 is real; the divisor counts the 2x2 inside input + padding
  AvgPoolF32Ref(x.data(), {1, 1, 4, 4}, Square(3, 2, 1), false, y.data(), {1, 1, 3, 3});
  EXPECT_FLOAT_EQ(y[0], 14.0f / 4.0f);
  EXPECT_FLOAT_EQ(y[8], 16.0f);
}

// ---- Elementwise ----

TEST(BinaryF32Ref, BroadcastAdd) {
  const std::vector<float> a = Iota(120, 0), b = {100, 200, 300};
  std::vector<float> y(120);
  BinaryF32Ref(BinaryKind::kAdd, a.data(), {2, 3, 4, 5}, b.data(), {3, 1, 1}, {}, y.data(), {2, 3, 4, 5});
  for (int i = 0; i < 120; ++i) EXPECT_EQ(y[i], a[i] + b[(i / 20) % 3]) << i;
  // Both operands broadcast: [2, 1] op [3] -> [2, 3]; and a scalar (rank 0) operand.
  const std::vector<float> col = {1, 2}, row = {10, 20, 40};
  std::vector<float> z(6);
  BinaryF32Ref(BinaryKind::kSub, col.data(), {2, 1}, row.data(), {3}, {}, z.data(), {2, 3});
  ExpectClose(z, {-9, -19, -39, -8, -18, -38});
  const std::vector<float> two = {2};
  BinaryF32Ref(BinaryKind::kDiv, row.data(), {3}, two.data(), {}, {}, z.data(), {3});
  EXPECT_EQ(z[0], 5);
  EXPECT_EQ(z[2], 20);
}

TEST(BinaryF32Ref, FusedActivation) {
  const std::vector<float> a = {-3, -1, 2, 8}, b = {2};
  std::vector<float> y(4);
  BinaryF32Ref(BinaryKind::kMul, a.data(), {4}, b.data(), {1}, {FloatActivation::kClip, 0.0f, 6.0f}, y.data(), {4});
  ExpectClose(y, {0, 0, 4, 6});
}

// Distance in representable floats (a and b of one sign).
int64_t Ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::abs(static_cast<int64_t>(ia) - ib);
}

// Exp against libm in double: within 2 ulp over its range, held at its bounds past it, NaN kept.
TEST(Exp, WithinTwoUlpOfLibm) {
  int64_t worst = 0;
  for (float v = -87.3f; v <= 88.3f; v += 0.0007f) {
    const float want = static_cast<float>(std::exp(static_cast<double>(v)));
    worst = std::max(worst, Ulps(Exp(v), want));
  }
  EXPECT_LE(worst, 2);
  EXPECT_EQ(Exp(0.0f), 1.0f);
  EXPECT_TRUE(std::isnan(Exp(NAN)));
  EXPECT_EQ(Exp(INFINITY), Exp(88.37626f));
  EXPECT_GT(Exp(INFINITY), 2e38f);
  EXPECT_EQ(Exp(-INFINITY), Exp(-87.33654f));
  EXPECT_GT(Exp(-INFINITY), 0.0f);
  EXPECT_LT(Exp(-INFINITY), 1.2e-38f);
  EXPECT_EQ(Sigmoid(0.0f), 0.5f);
  EXPECT_EQ(Sigmoid(17.0f), 1.0f);
  EXPECT_LT(Sigmoid(-100.0f), 1e-38f);
}

// Tanh against libm in double: within 2 ulp on both sides of its switch at 0.625 and out to where it is +-1,
// exact on tiny values, odd, NaN kept.
TEST(Tanh, WithinTwoUlpOfLibm) {
  int64_t worst = 0;
  for (float v = 1e-30f; v <= 12.0f; v = v < 1e-3f ? v * 1.01f : v + 0.00013f) {
    const float want = static_cast<float>(std::tanh(static_cast<double>(v)));
    worst = std::max(worst, Ulps(Tanh(v), want));
    EXPECT_EQ(Tanh(-v), -Tanh(v)) << v;
  }
  EXPECT_LE(worst, 2);
  EXPECT_EQ(Tanh(1e-20f), 1e-20f);
  EXPECT_TRUE(std::signbit(Tanh(-0.0f)));
  EXPECT_EQ(Tanh(0.0f), 0.0f);
  EXPECT_EQ(Tanh(9.1f), 1.0f);
  EXPECT_EQ(Tanh(-INFINITY), -1.0f);
  EXPECT_TRUE(std::isnan(Tanh(NAN)));
}

TEST(UnaryF32Ref, Activations) {
  const std::vector<float> x = {-2, 0, 3};
  std::vector<float> y(3);
  UnaryF32Ref(x.data(), 3, {FloatActivation::kSigmoid}, y.data());
  ExpectClose(y, {0.11920292f, 0.5f, 0.95257413f});
  UnaryF32Ref(x.data(), 3, {FloatActivation::kTanh}, y.data());
  ExpectClose(y, {-0.96402758f, 0, 0.99505475f});
  UnaryF32Ref(x.data(), 3, {FloatActivation::kClip, -1.0f, INFINITY}, y.data());
  ExpectClose(y, {-1, 0, 3});
}

// ONNX's definitions; test_leakyrelu_example, test_hardsigmoid_example; HardSwish through its kinks at -3 and 3.
TEST(UnaryF32Ref, ParametrisedActivations) {
  FloatActivation leaky{FloatActivation::kLeakyRelu}, hard_sigmoid{FloatActivation::kHardSigmoid},
      hard_swish{FloatActivation::kHardSwish};
  leaky.alpha = 0.1f;
  hard_sigmoid.alpha = 0.5f, hard_sigmoid.beta = 0.6f;
  hard_swish.alpha = 1.0f / 6, hard_swish.beta = 0.5f;
  const std::vector<float> x = {-1, 0, 1};
  std::vector<float> y(3);
  UnaryF32Ref(x.data(), 3, leaky, y.data());
  ExpectClose(y, {-0.1f, 0, 1});
  UnaryF32Ref(x.data(), 3, hard_sigmoid, y.data());
  ExpectClose(y, {0.1f, 0.6f, 1});
  const std::vector<float> s = {-4, -3, -1.5f, 0, 1.5f, 3, 4};
  std::vector<float> z(s.size());
  UnaryF32Ref(s.data(), static_cast<int64_t>(s.size()), hard_swish, z.data());
  ExpectClose(z, {0, 0, -0.375f, 0, 1.125f, 3, 4});
}

TEST(BinaryF32Ref, PReluPerChannelSlope) {  // test_prelu_broadcast's layout: slope [C] against [..., C]
  const std::vector<float> x = {-2, -2, 3, 4, -1, 0}, slope = {0.5f, 0.25f, 2};
  std::vector<float> y(6);
  BinaryF32Ref(BinaryKind::kPRelu, x.data(), {2, 3}, slope.data(), {3}, {}, y.data(), {2, 3});
  ExpectClose(y, {-1, -0.5f, 3, 4, -0.25f, 0});
}

// ---- Data movement ----

TEST(SliceRef, StridedBackwardsAndCodes) {
  const std::vector<float> x = Iota(24, 0);  // [2, 3, 4]
  std::vector<float> y(4);
  // x[1, 0:3:2, 3:0:-2]: rows 0 and 2 of the second slab, columns 3 and 1.
  SliceRef(x.data(), {2, 3, 4}, {1, 0, 3}, {1, 2, -2}, y.data(), {1, 2, 2});
  ExpectClose(y, {15, 13, 23, 21});
  const std::vector<uint8_t> codes = {1, 2, 3, 4, 5, 6};  // [2, 3]: the last column of each row
  std::vector<uint8_t> c(2);
  SliceRef(codes.data(), {2, 3}, {0, 2}, {1, 1}, c.data(), {2, 1});
  EXPECT_EQ(c, (std::vector<uint8_t>{3, 6}));
}

// Non-adjacent axes, each kind, and NaN winning max and min wherever it appears.
TEST(ReduceF32Ref, KindsOverNonAdjacentAxes) {
  const std::vector<float> x = Iota(24, 0);  // [2, 3, 4], reduced over axes 0 and 2: three values per channel
  std::vector<float> y(3);
  ReduceF32Ref(ReduceKind::kSum, x.data(), {2, 3, 4}, {0, 2}, y.data());
  ExpectClose(y, {0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 92, 124});
  ReduceF32Ref(ReduceKind::kMean, x.data(), {2, 3, 4}, {0, 2}, y.data());
  ExpectClose(y, {7.5f, 11.5f, 15.5f});
  ReduceF32Ref(ReduceKind::kMax, x.data(), {2, 3, 4}, {0, 2}, y.data());
  ExpectClose(y, {15, 19, 23});
  ReduceF32Ref(ReduceKind::kMin, x.data(), {2, 3, 4}, {0, 2}, y.data());
  ExpectClose(y, {0, 4, 8});
  std::vector<float> all(1);
  ReduceF32Ref(ReduceKind::kMean, x.data(), {2, 3, 4}, {0, 1, 2}, all.data());
  EXPECT_EQ(all[0], 11.5f);
  const std::vector<float> with_nan = {1, NAN, 3, NAN, 2, 0, 5, 2, 0};  // NaN inside a row, NaN first, none
  std::vector<float> m(3);
  for (const ReduceKind kind : {ReduceKind::kMax, ReduceKind::kMin}) {
    ReduceF32Ref(kind, with_nan.data(), {3, 3}, {1}, m.data());
    EXPECT_TRUE(std::isnan(m[0]));
    EXPECT_TRUE(std::isnan(m[1]));
    EXPECT_EQ(m[2], kind == ReduceKind::kMax ? 5 : 0);
  }
}

TEST(ConcatRef, Axis1) {
  const std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8, 9, 10};  // [2, 2] and [2, 3]
  const void* inputs[] = {a.data(), b.data()};
  const int64_t chunks[] = {2 * sizeof(float), 3 * sizeof(float)};
  std::vector<float> y(10);
  ConcatRef(inputs, chunks, 2, 2, y.data());
  ExpectClose(y, {1, 2, 5, 6, 7, 3, 4, 8, 9, 10});
}

TEST(PadRef, ConstantFloatAndUint8) {
  const std::vector<float> x = {1, 2, 3, 4};  // [2, 2], pads: one row before, two columns after
  std::vector<float> y(12);
  PadRef(x.data(), {2, 2}, {1, 0, 0, 2}, -1.0f, y.data(), {3, 4});
  ExpectClose(y, {-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1});
  const std::vector<uint8_t> xq = {1, 2, 3, 4};
  std::vector<uint8_t> yq(16);
  PadRef(xq.data(), {1, 1, 2, 2}, {0, 0, 1, 1, 0, 0, 1, 1}, uint8_t{9}, yq.data(), {1, 1, 4, 4});
  EXPECT_EQ(yq, (std::vector<uint8_t>{9, 9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9, 9, 9, 9}));
}

// ---- Resize ----

struct ResizeCase {
  const char* onnx_test;
  Dims xd;
  std::vector<float> scales;
  ResizeParams::Mode mode;
  ResizeParams::Coordinates coordinates;
  ResizeParams::Rounding rounding;
  Dims yd;
  std::vector<float> want;
};

TEST(ResizeF32Ref, OnnxConformance) {
  using P = ResizeParams;
  // Inputs are 1, 2, 3, ... in every case. "sizes" cases give the scales sizes / input as ONNX derives them.
  // clang-format off
  const ResizeCase cases[] = {
      {"upsample_scales_nearest", {1, 1, 2, 2}, {1, 1, 2, 3},
       P::kNearest, P::kHalfPixel, P::kRoundPreferFloor, {1, 1, 4, 6},
       {1, 1, 1, 2, 2, 2,
        1, 1, 1, 2, 2, 2,
        3, 3, 3, 4, 4, 4,
        3, 3, 3, 4, 4, 4}},
      {"downsample_scales_nearest", {1, 1, 2, 4}, {1, 1, 0.6f, 0.6f},
       P::kNearest, P::kHalfPixel, P::kRoundPreferFloor, {1, 1, 1, 2}, {1, 3}},
      {"downsample_sizes_nearest", {1, 1, 2, 4}, {1, 1, 0.5f, 0.75f},
       P::kNearest, P::kHalfPixel, P::kRoundPreferFloor, {1, 1, 1, 3}, {1, 2, 4}},
      {"upsample_sizes_nearest", {1, 1, 2, 2}, {1, 1, 3.5f, 4},
       P::kNearest, P::kHalfPixel, P::kRoundPreferFloor, {1, 1, 7, 8},
       {
         1,  1,  1,  1,  2,  2,  2,  2,
         1,  1,  1,  1,  2,  2,  2,  2,
         1,  1,  1,  1,  2,  2,  2,  2,
         1,  1,  1,  1,  2,  2,  2,  2,
         3,  3,  3,  3,  4,  4,  4,  4,
         3,  3,  3,  3,  4,  4,  4,  4,
         3,  3,  3,  3,  4,  4,  4,  4}},
      {"upsample_sizes_nearest_ceil_half_pixel", {1, 1, 4, 4}, {1, 1, 2, 2},
       P::kNearest, P::kHalfPixel, P::kCeil, {1, 1, 8, 8},
       {
         1,  2,  2,  3,  3,  4,  4,  4,
         5,  6,  6,  7,  7,  8,  8,  8,
         5,  6,  6,  7,  7,  8,  8,  8,
         9, 10, 10, 11, 11, 12, 12, 12,
         9, 10, 10, 11, 11, 12, 12, 12,
        13, 14, 14, 15, 15, 16, 16, 16,
        13, 14, 14, 15, 15, 16, 16, 16,
        13, 14, 14, 15, 15, 16, 16, 16}},
      {"upsample_sizes_nearest_floor_align_corners", {1, 1, 4, 4}, {1, 1, 2, 2},
       P::kNearest, P::kAlignCorners, P::kFloor, {1, 1, 8, 8},
       {
         1,  1,  1,  2,  2,  3,  3,  4,
         1,  1,  1,  2,  2,  3,  3,  4,
         1,  1,  1,  2,  2,  3,  3,  4,
         5,  5,  5,  6,  6,  7,  7,  8,
         5,  5,  5,  6,  6,  7,  7,  8,
         9,  9,  9, 10, 10, 11, 11, 12,
         9,  9,  9, 10, 10, 11, 11, 12,
        13, 13, 13, 14, 14, 15, 15, 16}},
      {"upsample_sizes_nearest_round_prefer_ceil_asymmetric", {1, 1, 4, 4}, {1, 1, 2, 2},
       P::kNearest, P::kAsymmetric, P::kRoundPreferCeil, {1, 1, 8, 8},
       {
         1,  2,  2,  3,  3,  4,  4,  4,
         5,  6,  6,  7,  7,  8,  8,  8,
         5,  6,  6,  7,  7,  8,  8,  8,
         9, 10, 10, 11, 11, 12, 12, 12,
         9, 10, 10, 11, 11, 12, 12, 12,
        13, 14, 14, 15, 15, 16, 16, 16,
        13, 14, 14, 15, 15, 16, 16, 16,
        13, 14, 14, 15, 15, 16, 16, 16}},
      {"upsample_scales_linear", {1, 1, 2, 2}, {1, 1, 2, 2},
       P::kLinear, P::kHalfPixel, P::kRoundPreferFloor, {1, 1, 4, 4},
       {1,    1.25f, 1.75f, 2,
        1.5f, 1.75f, 2.25f, 2.5f,
        2.5f, 2.75f, 3.25f, 3.5f,
        3,    3.25f, 3.75f, 4}},
      {"upsample_scales_linear_align_corners", {1, 1, 2, 2}, {1, 1, 2, 2},
       P::kLinear, P::kAlignCorners, P::kRoundPreferFloor, {1, 1, 4, 4},
       {1,         4.0f / 3,  5.0f / 3,  2,
        5.0f / 3,  2,         7.0f / 3,  8.0f / 3,
        7.0f / 3,  8.0f / 3,  3,         10.0f / 3,
        3,         10.0f / 3, 11.0f / 3, 4}},
      {"downsample_scales_linear", {1, 1, 2, 4}, {1, 1, 0.6f, 0.6f},
       P::kLinear, P::kHalfPixel, P::kRoundPreferFloor, {1, 1, 1, 2}, {2.6666665077209473f, 4.3333330154418945f}},
      // The ONNX reference divides by the resized length scale * in = 2.4 here, not by the output length 2.
      {"downsample_scales_linear_align_corners", {1, 1, 2, 4}, {1, 1, 0.6f, 0.6f},
       P::kLinear, P::kAlignCorners, P::kRoundPreferFloor, {1, 1, 1, 2}, {1, 3.142857074737549f}},
      {"downsample_sizes_linear_pytorch_half_pixel", {1, 1, 4, 4}, {1, 1, 0.75f, 0.25f},
       P::kLinear, P::kPytorchHalfPixel, P::kRoundPreferFloor, {1, 1, 3, 1},
       {1.6666666269302368f, 7, 12.333333015441895f}},
  };
  // clang-format on
  for (const ResizeCase& c : cases) {
    SCOPED_TRACE(c.onnx_test);
    int64_t n = 1, m = 1;
    for (int64_t d : c.xd) n *= d;
    for (int64_t d : c.yd) m *= d;
    const std::vector<float> x = Iota(n, 1);
    ResizeParams p;
    p.mode = c.mode;
    p.coordinates = c.coordinates;
    p.rounding = c.rounding;
    p.scales = c.scales;
    std::vector<float> y(static_cast<size_t>(m));
    ResizeF32Ref(x.data(), c.xd, p, y.data(), c.yd);
    ExpectClose(y, c.want, 2e-6f);
  }
}

TEST(ResizeF32Ref, LinearAlongAnInnerAxisOfRank3) {
  // [2, 2, 1] resized x2 along axis 1 only, half_pixel: coordinates -0.25, 0.25, 0.75, 1.25 (clamped to [0, 1]).
  const std::vector<float> x = {0, 4, 10, 30};
  ResizeParams p;
  p.mode = ResizeParams::kLinear;
  p.scales = {1, 2, 1};
  std::vector<float> y(8);
  ResizeF32Ref(x.data(), {2, 2, 1}, p, y.data(), {2, 4, 1});
  ExpectClose(y, {0, 1, 3, 4, 10, 15, 25, 30});
}

// ---- Softmax / MatMul ----

TEST(SoftmaxF32Ref, OnnxExamples) {  // test_softmax_example, test_softmax_large_number
  const std::vector<float> x = {-1, 0, 1};
  std::vector<float> y(3);
  SoftmaxF32Ref(x.data(), 1, 3, 1, y.data());
  ExpectClose(y, {0.09003057330846786f, 0.2447284609079361f, 0.6652409434318542f});
  const std::vector<float> big = {0, 1, 2, 3, 10000, 10001, 10002, 10003};
  std::vector<float> z(8);
  SoftmaxF32Ref(big.data(), 2, 4, 1, z.data());
  const std::vector<float> row = {0.032058604061603546f, 0.08714432269334793f, 0.23688280582427979f,
                                  0.6439142823219299f};
  std::vector<float> want = row;
  want.insert(want.end(), row.begin(), row.end());
  ExpectClose(z, want);
}

TEST(SoftmaxF32Ref, MiddleAxis) {
  // [2, 3, 2] over axis 1: each (outer, inner) column sums to 1 and keeps its order.
  const std::vector<float> x = {1, 5, 2, 4, 3, 3, 0, 0, 0, 1, 0, 2};
  std::vector<float> y(12);
  SoftmaxF32Ref(x.data(), 2, 3, 2, y.data());
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(y[o * 6 + i] + y[o * 6 + 2 + i] + y[o * 6 + 4 + i], 1.0f, 1e-6f);
  EXPECT_NEAR(y[0], 0.09003057f, 1e-6f);  // softmax(1, 2, 3)[0]
  EXPECT_NEAR(y[6], 1.0f / 3, 1e-6f);
  EXPECT_NEAR(y[11], 0.66524094f, 1e-6f);  // softmax(0, 1, 2)[2]
}

TEST(MatMulF32Ref, PlainAndRank1) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {7, 8, 9, 10, 11, 12};  // [2, 3] x [3, 2]
  std::vector<float> y(4);
  MatMulF32Ref(a.data(), {2, 3}, b.data(), {3, 2}, y.data(), {2, 2});
  ExpectClose(y, {58, 64, 139, 154});
  const std::vector<float> v = {1, 0, -1};
  MatMulF32Ref(v.data(), {3}, b.data(), {3, 2}, y.data(), {2});  // [3] x [3, 2] -> [2]
  EXPECT_EQ(y[0], -4);
  EXPECT_EQ(y[1], -4);
  MatMulF32Ref(a.data(), {2, 3}, v.data(), {3}, y.data(), {2});  // [2, 3] x [3] -> [2]
  EXPECT_EQ(y[0], -2);
  EXPECT_EQ(y[1], -2);
  MatMulF32Ref(a.data(), {3}, v.data(), {3}, y.data(), {});  // [3] x [3] -> scalar
  EXPECT_EQ(y[0], -2);
}

TEST(MatMulF32Ref, BroadcastBatch) {
  // a [2, 1, 2, 3] x b [3, 3, 2] -> [2, 3, 2, 2]: batch (i, j) multiplies a[i, 0] by b[j].
  const std::vector<float> a = Iota(12, 0), b = Iota(18, -5);
  std::vector<float> y(24);
  MatMulF32Ref(a.data(), {2, 1, 2, 3}, b.data(), {3, 3, 2}, y.data(), {2, 3, 2, 2});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      std::vector<float> one(4);
      MatMulF32Ref(a.data() + i * 6, {2, 3}, b.data() + j * 6, {3, 2}, one.data(), {2, 2});
      for (int e = 0; e < 4; ++e) EXPECT_EQ(y[(i * 3 + j) * 4 + e], one[e]);
    }
}

}  // namespace
}  // namespace q46::kernels
