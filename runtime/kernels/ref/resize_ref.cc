// Reference ONNX Resize (opset 13 semantics, scales given): nearest with its four rounding modes and n-linear,
// under the half_pixel, asymmetric, align_corners and pytorch_half_pixel coordinate transformations; any rank.
// Coordinates are computed in float as the ONNX reference implementation does; interpolation sums in double.
// Cubic, tf_crop_and_resize and tf_half_pixel_for_nn are not here (the loader rejects them).
#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {
namespace {

// One output coordinate's sample along one axis: w0 * x[i0] + w1 * x[i1] (w1 == 0 for nearest).
struct AxisSample {
  int64_t i0 = 0, i1 = 0;
  float w0 = 1.0f, w1 = 0.0f;
};

// The input coordinate that output coordinate `o` maps to along an axis of length `in` resized by `scale`
// to length `out`. As in the ONNX reference, align_corners divides by the resized length scale * in (in
// float), which is the output length exactly when the model gives sizes.
float SourceCoordinate(const ResizeParams& p, int64_t o, int64_t in, int64_t out, float scale) {
  const float x = static_cast<float>(o);
  switch (p.coordinates) {
    case ResizeParams::kHalfPixel: return (x + 0.5f) / scale - 0.5f;
    case ResizeParams::kPytorchHalfPixel: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case ResizeParams::kAsymmetric: return x / scale;
    case ResizeParams::kAlignCorners:
      return out > 1 ? static_cast<float>(o * (in - 1)) / (scale * static_cast<float>(in) - 1.0f) : 0.0f;
  }
  return 0.0f;
}

int64_t ClampIndex(int64_t i, int64_t in) { return i < 0 ? 0 : (i >= in ? in - 1 : i); }

AxisSample SampleAxis(const ResizeParams& p, int64_t o, int64_t in, int64_t out, float scale) {
  AxisSample s;
  if (scale == 1.0f) {  // an axis that is not resized is copied
    s.i0 = s.i1 = o;
    return s;
  }
  const float c = SourceCoordinate(p, o, in, out, scale);
  const float fl = std::floor(c);
  const float frac = c - fl;
  const int64_t lo = static_cast<int64_t>(fl);
  if (p.mode == ResizeParams::kNearest) {
    bool up = false;
    switch (p.rounding) {
      case ResizeParams::kRoundPreferFloor: up = frac > 0.5f; break;
      case ResizeParams::kRoundPreferCeil: up = frac >= 0.5f; break;
      case ResizeParams::kFloor: up = false; break;
      case ResizeParams::kCeil: up = frac > 0.0f; break;
    }
    s.i0 = s.i1 = ClampIndex(up ? lo + 1 : lo, in);
    return s;
  }
  // Linear: sample at c clamped into [0, in - 1] (edge replication, as the ONNX reference's padding does).
  const float cc = std::fmin(std::fmax(c, 0.0f), static_cast<float>(in - 1));
  s.i0 = static_cast<int64_t>(std::floor(cc));
  s.i1 = ClampIndex(s.i0 + 1, in);
  s.w1 = cc - static_cast<float>(s.i0);
  s.w0 = 1.0f - s.w1;
  return s;
}

// The samples chosen so far for the enclosing axes, innermost first; lives on the recursion's stack.
struct SampleChain {
  AxisSample s;
  int64_t x_stride;
  const SampleChain* outer;
};

// The interpolated value: the weighted sum over every combination of the chain's sample points.
double Interpolate(const float* x, const SampleChain* chain, int64_t x_off) {
  if (!chain) return x[x_off];
  double v = double{chain->s.w0} * Interpolate(x, chain->outer, x_off + chain->s.i0 * chain->x_stride);
  if (chain->s.w1 != 0.0f)
    v += double{chain->s.w1} * Interpolate(x, chain->outer, x_off + chain->s.i1 * chain->x_stride);
  return v;
}

void ResizeFrom(size_t axis, const float* x, const Dims& xd, const ResizeParams& p, float* y, const Dims& yd,
                int64_t y_off, const SampleChain* chain) {
  if (axis == yd.size()) {
    y[y_off] = static_cast<float>(Interpolate(x, chain, 0));
    return;
  }
  int64_t x_stride = 1;
  for (size_t i = axis + 1; i < xd.size(); ++i) x_stride *= xd[i];
  for (int64_t o = 0; o < yd[axis]; ++o) {
    const SampleChain link{SampleAxis(p, o, xd[axis], yd[axis], p.scales[axis]), x_stride, chain};
    ResizeFrom(axis + 1, x, xd, p, y, yd, y_off * yd[axis] + o, &link);
  }
}

}  // namespace

void ResizeF32Ref(const float* x, const Dims& xd, const ResizeParams& p, float* y, const Dims& yd) {
  ResizeFrom(0, x, xd, p, y, yd, 0, nullptr);
}

}  // namespace q46::kernels
