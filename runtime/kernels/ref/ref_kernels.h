// Scalar reference kernels for every op the runtime executes: the oracle that every optimised kernel
// (oneDNN float primitives, SIMD integer microkernels) is tested against. Written for clarity, not speed.
// Kernels never allocate and never fail: the loader has validated shapes and parameters before any call.
// Layout: dense row-major; 4-D activations NCHW; conv weights OIHW (transposed conv: IOHW, as ONNX).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/arith.h"

namespace q46::kernels {

using Dims = std::vector<int64_t>;

// A 4-D NCHW shape; rank-2 [N, K] tensors are passed as [N, K, 1, 1].
struct Dims4 {
  int64_t n, c, h, w;
  int64_t size() const { return n * c * h * w; }
};

// Sliding-window geometry of a 2-D convolution or pool.
struct Window2d {
  int64_t kh = 1, kw = 1;
  int64_t sh = 1, sw = 1;
  int64_t dh = 1, dw = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int64_t out_pad_h = 0, out_pad_w = 0;  // transposed convolution only
};

// An elementwise function applied to a float result.
// Kinds and parameters as ONNX defines them: LeakyRelu x < 0 ? alpha x : x; HardSigmoid
// clip(alpha x + beta, 0, 1); HardSwish x * HardSigmoid(x) (ONNX fixes alpha = 1/6, beta = 1/2).
struct FloatActivation {
  enum Kind { kNone, kClip, kTanh, kSigmoid, kLeakyRelu, kHardSigmoid, kHardSwish };
  Kind kind = kNone;
  float lo = -INFINITY;  // kClip
  float hi = INFINITY;
  float alpha = 0;  // kLeakyRelu, kHardSigmoid, kHardSwish
  float beta = 0;   // kHardSigmoid, kHardSwish
};


// Clip as x86's maxps then minps compute it (the vector kernels' form): NaN becomes lo; a tie keeps the bound.
inline float Clip(float v, float lo, float hi) {
  v = v > lo ? v : lo;
  return v < hi ? v : hi;
}

// Adding and subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 to the nearest integer, ties to even.
constexpr float kRoundingBias = 12582912.0f;

// e^v within 2 ulp (v in [-87.3, 88.4]; below, held near FLT_MIN; above, at 2.41e38; NaN stays NaN), in float
// additions, multiplications and selects only, so that a loop over it vectorises and gives every lane the scalar
// result bit for bit (libm's expf is a call per element). Cephes' method: v = n ln 2 + r with |r| <= ln 2 / 2
// (ln 2 in two parts, so n ln 2 is exact), e^r = 1 + r + r^2 P(r) with P of degree 5, 2^n through the exponent bits
// (n in [-126, 127] after the clamp).
inline float Exp(float v) {
  const float x = Clip(v == v ? v : 0.0f, -87.33654f, 88.37626f);
  const float n = (x * 1.44269504089f + kRoundingBias) - kRoundingBias;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  const float p =
      ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
       1.6666665459e-1f) * r + 5.0000001201e-1f;
  const float e_r = (p * r) * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  const float e = e_r * two_n;  // computed before the select: a conditional product would keep the loop scalar
  return v == v ? e : v;
}

// The logistic function, through Exp: exactly 1 from v = 17 up, about 4e-39 from v = -88.4 down (where e^-v is
// held at 2.41e38). A NaN comes back as it went in: through the negation and the arithmetic its sign bit is the
// compiler's choice, and scalar and vector code chose differently.
inline float Sigmoid(float v) {
  const float s = 1.0f / (1.0f + Exp(-v));
  return v == v ? s : v;
}

// tanh through Exp, in float operations and selects only like it, so that its loops vectorise (libm's tanhf is a
// call per element, about a hundred instructions). Below |v| = 0.625 an odd polynomial in v (Cephes' tanhf),
// right to the last bits for tiny v; from there 1 - 2 / (e^2|v| + 1) with v's sign, exactly +-1 from |v| = 9.1.
// Within 2 ulp of tanh in double (ref_kernels_test; 1 measured, libm's tanhf 2). NaN and -0 come back as they
// went in (see Sigmoid).
inline float Tanh(float v) {
  const float a = std::fabs(v), z = v * v;
  const float near_zero =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
       3.33332819422e-1f) * z * v + v;
  const float far = std::copysign(1.0f - 2.0f / (Exp(2.0f * a) + 1.0f), v);
  const float t = a < 0.625f ? near_zero : far;
  return v == v && v != 0 ? t : v;  // the polynomial would turn -0 into +0
}

inline float LeakyRelu(float v, float alpha) { return v < 0 ? alpha * v : v; }

// Clip's NaN rule applies: a NaN input gives 0.
inline float HardSigmoid(float v, float alpha, float beta) { return Clip(alpha * v + beta, 0.0f, 1.0f); }

inline float HardSwish(float v, float alpha, float beta) { return v * HardSigmoid(v, alpha, beta); }

inline float Activate(float v, const FloatActivation& a) {
  switch (a.kind) {
    case FloatActivation::kNone: return v;
    case FloatActivation::kClip: return Clip(v, a.lo, a.hi);
    case FloatActivation::kTanh: return Tanh(v);
    case FloatActivation::kSigmoid: return Sigmoid(v);
    case FloatActivation::kLeakyRelu: return LeakyRelu(v, a.alpha);
    case FloatActivation::kHardSigmoid: return HardSigmoid(v, a.alpha, a.beta);
    case FloatActivation::kHardSwish: return HardSwish(v, a.alpha, a.beta);
  }
  return v;
}

// y = act(conv(x, w) + bias); w is [C_out, C_in / groups, kh, kw]; bias may be null.
void ConvF32Ref(const float* x, Dims4 xs, const float* w, const float* bias, const Window2d& win, int64_t groups,
                FloatActivation act, float* y, Dims4 ys);

// y = act(conv_transpose(x, w) + bias); w is [C_in, C_out / groups, kh, kw] (ONNX ConvTranspose); bias may be null.
void ConvTransposeF32Ref(const float* x, Dims4 xs, const float* w, const float* bias, const Window2d& win,
                         int64_t groups, FloatActivation act, float* y, Dims4 ys);

// Max pool; padded positions are ignored. T is float or uint8_t (codes: max commutes with quantization).
template <typename T>
void MaxPoolRef(const T* x, Dims4 xs, const Window2d& win, T* y, Dims4 ys);

// Average pool; with count_include_pad the divisor counts padded positions (never positions past the padding
// that ceil_mode adds), otherwise only real ones.
void AvgPoolF32Ref(const float* x, Dims4 xs, const Window2d& win, bool count_include_pad, float* y, Dims4 ys);

// kPRelu is ONNX's PRelu: a < 0 ? b * a : a, with b the slope.
enum class BinaryKind { kAdd, kSub, kMul, kDiv, kPRelu };

// y = act(a op b) with numpy broadcasting; ad and bd are right-aligned against yd.
void BinaryF32Ref(BinaryKind kind, const float* a, const Dims& ad, const float* b, const Dims& bd,
                  FloatActivation act, float* y, const Dims& yd);

// y = act(x), n elements.
void UnaryF32Ref(const float* x, int64_t n, FloatActivation act, float* y);

// Concatenation along an axis, on raw bytes: `outer` is the product of dims before the axis; input i
// contributes chunk_bytes[i] bytes per outer index (its axis size times the inner size times element size).
void ConcatRef(const void* const* inputs, const int64_t* chunk_bytes, int n_inputs, int64_t outer, void* y);

// Constant padding, any rank: pads = [begin_0 .. begin_{r-1}, end_0 .. end_{r-1}], all >= 0.
template <typename T>
void PadRef(const T* x, const Dims& xd, const std::vector<int64_t>& pads, T value, T* y, const Dims& yd);

struct ResizeParams {
  enum Mode { kNearest, kLinear };
  enum Coordinates { kHalfPixel, kAsymmetric, kAlignCorners, kPytorchHalfPixel };
  enum Rounding { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
  Mode mode = kNearest;
  Coordinates coordinates = kHalfPixel;
  Rounding rounding = kRoundPreferFloor;
  std::vector<float> scales;  // one per axis (output / input as the model states it)
};

// ONNX Resize (opset 13 semantics) for nearest and (multi-)linear modes, any rank.
void ResizeF32Ref(const float* x, const Dims& xd, const ResizeParams& p, float* y, const Dims& yd);

// Softmax over one axis: x viewed as [outer, axis, inner].
void SoftmaxF32Ref(const float* x, int64_t outer, int64_t axis, int64_t inner, float* y);

// numpy matmul: a [..., M, K] x b [..., K, N] with broadcast batch dims (rank-1 operands as numpy does).
void MatMulF32Ref(const float* a, const Dims& ad, const float* b, const Dims& bd, float* y, const Dims& yd);

// Permutes the axes of x: output axis i is input axis perm[i].
void TransposeF32Ref(const float* x, const Dims& xd, const std::vector<int64_t>& perm, float* y);

// Strided window, any rank: y[i_0, .., i_r] = x[starts_0 + i_0 steps_0, ..]; steps may be negative, and every
// index read lies inside x (the caller has clamped the window as ONNX Slice does). T is float or uint8_t.
template <typename T>
void SliceRef(const T* x, const Dims& xd, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
              T* y, const Dims& yd);

// ONNX ReduceMean / ReduceMax / ReduceMin / ReduceSum over the listed axes (sorted, distinct, any rank up to
// kMaxReduceRank). y holds one value per combination of the kept axes, in order (keepdims or not: same
// elements). Sums accumulate in double; max and min propagate NaN.
enum class ReduceKind { kMean, kMax, kMin, kSum };
inline constexpr size_t kMaxReduceRank = 8;
void ReduceF32Ref(ReduceKind kind, const float* x, const Dims& xd, const std::vector<int64_t>& axes, float* y);

// Quantized convolution, int32 accumulation: codes x in [0, N_x), weight codes w (OIHW, int8), padding with
// `pad_code` (the input zero point). acc[c] = bias[c] + sum(x * w) is handed to `out_stage` per output element.
// OutStage: void(int64_t out_index, int64_t channel, int32_t acc).
template <typename OutStage>
void ConvQuantRef(const uint8_t* x, Dims4 xs, const int8_t* w, const int32_t* bias, const Window2d& win,
                  int64_t groups, uint8_t pad_code, Dims4 ys, OutStage&& out_stage) {
  const int64_t cin_g = xs.c / groups, cout_g = ys.c / groups;
  for (int64_t n = 0; n < ys.n; ++n)
    for (int64_t oc = 0; oc < ys.c; ++oc) {
      const int64_t g = oc / cout_g;
      for (int64_t oy = 0; oy < ys.h; ++oy)
        for (int64_t ox = 0; ox < ys.w; ++ox) {
          int32_t acc = bias[oc];
          for (int64_t ic = 0; ic < cin_g; ++ic)
            for (int64_t ky = 0; ky < win.kh; ++ky)
              for (int64_t kx = 0; kx < win.kw; ++kx) {
                const int64_t iy = oy * win.sh - win.pad_t + ky * win.dh;
                const int64_t ix = ox * win.sw - win.pad_l + kx * win.dw;
                const bool inside = iy >= 0 && iy < xs.h && ix >= 0 && ix < xs.w;
                const int32_t code =
                    inside ? x[((n * xs.c + g * cin_g + ic) * xs.h + iy) * xs.w + ix] : int32_t{pad_code};
                acc += code * int32_t{w[((oc * cin_g + ic) * win.kh + ky) * win.kw + kx]};
              }
          out_stage(((n * ys.c + oc) * ys.h + oy) * ys.w + ox, oc, acc);
        }
    }
}

}  // namespace q46::kernels
