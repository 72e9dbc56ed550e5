// runtime/arith.h: the precision rule, the code ranges, rounding, and the identities the compiler relies on.
#include "runtime/arith.h"

#include <cmath>
#include <cstring>
#include <random>

#include "gtest/gtest.h"

namespace q46::arith {
namespace {

TEST(Precision, TheArticlesMaximalPairsAreValidAndMaximal) {
  EXPECT_EQ(std::size(kMaximalPairs), 19u);
  for (Precision p : kMaximalPairs) {
    std::string why;
    EXPECT_TRUE(CheckPrecision(p, &why)) << p.nx << "," << p.nw << ": " << why;
    EXPECT_FALSE(CheckPrecision({p.nx, p.nw + 2}, &why)) << p.nx << "," << p.nw + 2;
    EXPECT_FALSE(CheckPrecision({p.nx + 2, p.nw}, &why)) << p.nx + 2 << "," << p.nw;
    // Every product of an unsigned activation code and a weight code fits a signed byte pair sum (vpmaddubsw).
    EXPECT_LE(2 * (ActivationCodes(p.nx).hi * WeightCodes(p.nw).hi), 2 * 254);
  }
}

TEST(Precision, EvenCountsOnlyAsBaselines) {
  std::string why;
  EXPECT_TRUE(CheckPrecision({16, 16}, &why));
  EXPECT_TRUE(CheckPrecision({256, 256}, &why));
  EXPECT_FALSE(CheckPrecision({24, 23}, &why));
  EXPECT_NE(why.find("odd"), std::string::npos);
  EXPECT_FALSE(CheckPrecision({16, 23}, &why));
  EXPECT_FALSE(CheckPrecision({1, 3}, &why));
  EXPECT_FALSE(CheckPrecision({25, 25}, &why));
  EXPECT_NE(why.find("127"), std::string::npos);
}

TEST(Codes, Ranges) {
  EXPECT_EQ(ActivationCodes(23).hi, 22);
  EXPECT_EQ(WeightCodes(23).lo, -11);
  EXPECT_EQ(WeightCodes(16).lo, -8);
  EXPECT_EQ(WeightCodes(16).hi, 7);
  EXPECT_EQ(WeightCodes(256).lo, -127);
  EXPECT_EQ(ActivationCodes(256).hi, 255);
}

TEST(Rounding, HalfToEvenAndSaturating) {
  EXPECT_EQ(RoundToInt(0.5f), 0);
  EXPECT_EQ(RoundToInt(1.5f), 2);
  EXPECT_EQ(RoundToInt(2.5f), 2);
  EXPECT_EQ(RoundToInt(-0.5f), 0);
  EXPECT_EQ(RoundToInt(-1.5f), -2);
  EXPECT_EQ(RoundToInt(3e9f), INT32_MAX);
  EXPECT_EQ(RoundToInt(-3e9f), INT32_MIN);
  EXPECT_EQ(RoundToInt(NAN), 0);
  EXPECT_EQ(Quantize(1e30f, 0.1f, 3, ActivationCodes(23)), 22);
  EXPECT_EQ(Quantize(-1e30f, 0.1f, 3, ActivationCodes(23)), 0);
  EXPECT_EQ(Requantize(INT32_MAX, 1.0f, 0, ActivationCodes(256)), 255);
}

// RoundToInt avoids libm; it must agree with std::nearbyint (default rounding mode) wherever the result fits:
// every half-integer and its neighbours up to 2^24, and random bit patterns of every magnitude.
TEST(Rounding, AgreesWithNearbyint) {
  const auto check = [](float v) {
    const float r = std::nearbyint(v);
    if (!(r > -2147483648.0f && r < 2147483520.0f)) return;
    ASSERT_EQ(RoundToInt(v), static_cast<int32_t>(r)) << "at " << v;
  };
  for (int32_t i = -(1 << 24); i <= (1 << 24); i += 7) {
    const float h = static_cast<float>(i) + 0.5f;
    check(h), check(std::nextafter(h, 0.0f)), check(std::nextafter(h, 1e30f)), check(-h);
  }
  std::mt19937 rng(46);
  for (int i = 0; i < 2'000'000; ++i) {
    const uint32_t bits = static_cast<uint32_t>(rng());
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    if (v == v) check(v);
  }
}

TEST(Activation, ZeroIsExactlyRepresentable) {
  for (int nx : {5, 23, 16, 255, 256}) {
    const ActivationParams p = ActivationParamsForRange(-0.7f, 3.1f, nx);
    EXPECT_EQ(Dequantize(Quantize(0.0f, p.scale, p.zero_point, ActivationCodes(nx)), p.scale, p.zero_point), 0.0f);
  }
  EXPECT_EQ(ActivationParamsForRange(0.0f, 6.0f, 23).zero_point, 0);
  EXPECT_EQ(ActivationParamsForRange(-1.0f, 1.0f, 23).zero_point, 11);
}

// quantize(clamp(x, lo, hi)) == clamp(quantize(x), ClampToCodes(lo, hi)): what lets a ReLU6 / HardTanh become
// the code clamp of the layer before.
TEST(Activation, ClampCommutesWithQuantization) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-10, 10);
  for (int trial = 0; trial < 20000; ++trial) {
    const int nx = 2 * (trial % 60) + 3;
    const float lo = u(rng), hi = lo + std::fabs(u(rng)), x = u(rng);
    const ActivationParams p = ActivationParamsForRange(u(rng) - 5, u(rng) + 5, nx);
    const CodeRange full = ActivationCodes(nx);
    const CodeRange r = ClampToCodes(lo, hi, p.scale, p.zero_point, nx);
    ASSERT_EQ(Quantize(std::fmin(std::fmax(x, lo), hi), p.scale, p.zero_point, full),
              Clamp(Quantize(x, p.scale, p.zero_point, full), r));
  }
}

}  // namespace
}  // namespace q46::arith
