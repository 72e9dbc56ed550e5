// The one definition of q46's quantization arithmetic: level counts, code ranges, rounding, clamping,
// quantize / dequantize / requantize. The compiler's simulation and every runtime kernel (scalar and SIMD)
// use exactly these functions, so the integer runtime is bit-exact with the compiler's model of it.
// Everything here is header-only, allocation-free and depends on nothing but the C++ standard library.
// Rounding is IEEE round-half-to-even everywhere (the default FP environment; std::nearbyint), as ONNX's
// QuantizeLinear and SIMD conversions (cvtps2dq) do. Build with -ffp-contract=off: no fused multiply-add.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace q46::arith {

// A closed range of integer codes.
struct CodeRange {
  int32_t lo;
  int32_t hi;
};

// Precision of a quantized layer: N_x activation levels, N_w weight levels.
struct Precision {
  int32_t nx;
  int32_t nw;
};

// The article's baselines: 4-bit (16 x 16 levels) and 8-bit (256 x 256).
inline bool IsBaseline(Precision p) { return (p.nx == 16 && p.nw == 16) || (p.nx == 256 && p.nw == 256); }

// The article's 19 maximal pairs: h_x * h_w <= 127, and neither count can grow without the other shrinking.
inline constexpr Precision kMaximalPairs[] = {{5, 127}, {7, 85}, {9, 63},  {11, 51}, {13, 43}, {15, 37}, {17, 31},
                                              {19, 29}, {21, 25}, {23, 23}, {25, 21}, {29, 19}, {31, 17}, {37, 15},
                                              {43, 13}, {51, 11}, {63, 9},  {85, 7},  {127, 5}};

// Half-width of an odd level count: codes [-h, h] centered.
inline int32_t HalfLevels(int32_t n) { return (n - 1) / 2; }

// Activation codes are unsigned: [0, N_x - 1] (4-bit: 0..15, 8-bit: 0..255).
inline CodeRange ActivationCodes(int32_t nx) { return {0, nx - 1}; }

// Weight codes are signed and symmetric: [-h_w, h_w]; 4-bit: [-8, 7]; 8-bit: [-127, 127].
inline CodeRange WeightCodes(int32_t nw) {
  if (nw == 16) return {-8, 7};
  if (nw == 256) return {-127, 127};
  return {-HalfLevels(nw), HalfLevels(nw)};
}

// The largest weight magnitude that the weight scale maps onto (absmax / WeightScaleDivisor = scale).
inline int32_t WeightScaleDivisor(int32_t nw) { return nw == 16 ? 7 : WeightCodes(nw).hi; }

// Whether n is a possible activation level count on its own: odd 3..255 (some N_w completes it), 16 or 256.
inline bool ValidActivationLevels(int32_t n) { return n == 16 || n == 256 || (n >= 3 && n <= 255 && n % 2 == 1); }

// Whether (nx, nw) is a precision q46 can run; on false, `why` says what is wrong in one line.
inline bool CheckPrecision(Precision p, std::string* why) {
  auto fail = [&](std::string msg) {
    if (why) *why = std::move(msg);
    return false;
  };
  const std::string pair = "(N_x, N_w) = (" + std::to_string(p.nx) + ", " + std::to_string(p.nw) + ")";
  if (IsBaseline(p)) return true;
  if (p.nx == 16 || p.nx == 256 || p.nw == 16 || p.nw == 256)
    return fail(pair + ": the 4-bit and 8-bit baselines are (16, 16) and (256, 256) only");
  if (p.nx < 3 || p.nw < 3) return fail(pair + ": level counts must be at least 3");
  if (p.nx % 2 == 0 || p.nw % 2 == 0)
    return fail(pair + ": level counts must be odd (even counts only as the baselines 16 and 256)");
  if (HalfLevels(p.nx) * HalfLevels(p.nw) > 127)
    return fail(pair + ": breaks h_x * h_w <= 127 (h_x = " + std::to_string(HalfLevels(p.nx)) +
                ", h_w = " + std::to_string(HalfLevels(p.nw)) + ", product " +
                std::to_string(HalfLevels(p.nx) * HalfLevels(p.nw)) + ")");
  return true;
}

inline int32_t Clamp(int32_t v, CodeRange r) { return std::min(std::max(v, r.lo), r.hi); }

// Round half to even, float32 -> int32 (saturating at the int32 range; NaN -> 0). Equal to std::nearbyint in the
// default rounding mode, without its libm call: below 2^23 in magnitude, adding and subtracting 2^23 leaves the
// nearest-even integer (the sum's unit in the last place is 1); from 2^23 up every float is an integer already.
inline int32_t RoundToInt(float v) {
  if (!(v == v)) return 0;
  constexpr float kTwo23 = 8388608.0f;
  float r = v;
  if (v >= 0.0f && v < kTwo23)
    r = (v + kTwo23) - kTwo23;
  else if (v < 0.0f && v > -kTwo23)
    r = (v - kTwo23) + kTwo23;
  if (r >= 2147483520.0f) return INT32_MAX;
  if (r <= -2147483648.0f) return INT32_MIN;
  return static_cast<int32_t>(r);
}

// Activation quantization parameters from a real range [lo, hi] (the range is widened to contain 0).
struct ActivationParams {
  float scale;
  int32_t zero_point;
};
inline ActivationParams ActivationParamsForRange(float lo, float hi, int32_t nx) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi - lo < 1e-12f) hi = lo + 1e-12f;
  const float scale = static_cast<float>((static_cast<double>(hi) - lo) / (nx - 1));
  const int32_t zp = Clamp(RoundToInt(-lo / scale), ActivationCodes(nx));
  return {scale, zp};
}

// float -> code: clamp(round(x / scale) + zero_point, range), as ONNX QuantizeLinear.
inline int32_t Quantize(float x, float scale, int32_t zero_point, CodeRange range) {
  const int64_t q = static_cast<int64_t>(RoundToInt(x / scale)) + zero_point;
  return static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(q, range.lo), range.hi));
}

// code -> float: (code - zero_point) * scale, as ONNX DequantizeLinear.
inline float Dequantize(int32_t code, float scale, int32_t zero_point) {
  return static_cast<float>(code - zero_point) * scale;
}

// Weight code for a float weight at a symmetric scale.
inline int32_t QuantizeWeight(float w, float scale, int32_t nw) { return Quantize(w, scale, 0, WeightCodes(nw)); }

// Multiplier taking an int32 accumulator at scale s_x * s_w to the output scale s_out.
inline float RequantMultiplier(float s_x, float s_w, float s_out) { return (s_x * s_w) / s_out; }

// Scale of an int32 accumulator when it is dequantized to float.
inline float AccumulatorScale(float s_x, float s_w) { return s_x * s_w; }

// int32 accumulator -> output code: clamp(round(acc * multiplier) + zero_point, range).
inline int32_t Requantize(int32_t acc, float multiplier, int32_t zero_point, CodeRange range) {
  const int64_t q = static_cast<int64_t>(RoundToInt(static_cast<float>(acc) * multiplier)) + zero_point;
  return static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(q, range.lo), range.hi));
}

// int32 accumulator -> float.
inline float DequantizeAccumulator(int32_t acc, float acc_scale) { return static_cast<float>(acc) * acc_scale; }

// Bias as an int32 at the accumulator scale (saturating).
inline int32_t QuantizeBias(float b, float acc_scale) { return RoundToInt(b / acc_scale); }

// The code range that a float clamp [lo, hi] becomes on codes of (scale, zero_point, nx):
// quantize(clamp(x, lo, hi)) == clamp(quantize(x), ClampToCodes(lo, hi, ...)) since rounding is monotonic.
inline CodeRange ClampToCodes(float lo, float hi, float scale, int32_t zero_point, int32_t nx) {
  const CodeRange full = ActivationCodes(nx);
  CodeRange r = full;
  if (std::isfinite(lo)) r.lo = Quantize(lo, scale, zero_point, full);
  if (std::isfinite(hi)) r.hi = Quantize(hi, scale, zero_point, full);
  return r;
}

}  // namespace q46::arith
