// Reference float convolution and transposed convolution (ONNX Conv / ConvTranspose semantics): the oracle for
// the oneDNN wrapper. Plain loops accumulating in double; no other op belongs here.
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/kernels/ref/ref_util.h"

namespace q46::kernels {
namespace {

using ref_internal::ForEachTap;
using ref_internal::InRange;
using ref_internal::Offset;

// The common tail of both convolutions: act(sum + bias), the sum rounded to float once.
float Finish(double acc, const float* bias, int64_t oc, const FloatActivation& act) {
  if (bias) acc += bias[oc];
  return Activate(static_cast<float>(acc), act);
}

// The input coordinate a transposed convolution reads for output coordinate `o` at kernel tap `k`:
// o = i * stride - pad + k * dil, so i = (o + pad - k * dil) / stride where that divides; -1 where it does not.
int64_t TransposedSource(int64_t o, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  const int64_t t = o + pad - k * dil;
  return t >= 0 && t % stride == 0 ? t / stride : -1;
}

}  // namespace

void ConvF32Ref(const float* x, Dims4 xs, const float* w, const float* bias, const Window2d& win, int64_t groups,
                FloatActivation act, float* y, Dims4 ys) {
  const int64_t cin_g = xs.c / groups, cout_g = ys.c / groups;
  for (int64_t n = 0; n < ys.n; ++n)
    for (int64_t oc = 0; oc < ys.c; ++oc) {
      const int64_t ic0 = (oc / cout_g) * cin_g;
      for (int64_t oy = 0; oy < ys.h; ++oy)
        for (int64_t ox = 0; ox < ys.w; ++ox) {
          double acc = 0.0;
          for (int64_t ic = 0; ic < cin_g; ++ic)
            ForEachTap(win, oy, ox, [&](int64_t ky, int64_t kx, int64_t iy, int64_t ix) {
              if (!InRange(iy, xs.h) || !InRange(ix, xs.w)) return;  // zero padding
              acc += double{x[Offset(xs, n, ic0 + ic, iy, ix)]} *
                     double{w[((oc * cin_g + ic) * win.kh + ky) * win.kw + kx]};
            });
          y[Offset(ys, n, oc, oy, ox)] = Finish(acc, bias, oc, act);
        }
    }
}

void ConvTransposeF32Ref(const float* x, Dims4 xs, const float* w, const float* bias, const Window2d& win,
                         int64_t groups, FloatActivation act, float* y, Dims4 ys) {
  // Gathered per output element: y[oy] = sum over taps of x[iy] * w[ky] with oy = iy * sh - pad_t + ky * dh.
  // Output rows and columns added by output_padding simply receive whatever taps reach them (often none).
  const int64_t cin_g = xs.c / groups, cout_g = ys.c / groups;
  for (int64_t n = 0; n < ys.n; ++n)
    for (int64_t oc = 0; oc < ys.c; ++oc) {
      const int64_t g = oc / cout_g, ocg = oc % cout_g;
      for (int64_t oy = 0; oy < ys.h; ++oy)
        for (int64_t ox = 0; ox < ys.w; ++ox) {
          double acc = 0.0;
          for (int64_t icg = 0; icg < cin_g; ++icg) {
            const int64_t ic = g * cin_g + icg;
            for (int64_t ky = 0; ky < win.kh; ++ky) {
              const int64_t iy = TransposedSource(oy, ky, win.sh, win.pad_t, win.dh);
              if (!InRange(iy, xs.h)) continue;
              for (int64_t kx = 0; kx < win.kw; ++kx) {
                const int64_t ix = TransposedSource(ox, kx, win.sw, win.pad_l, win.dw);
                if (!InRange(ix, xs.w)) continue;
                acc +=
                    double{x[Offset(xs, n, ic, iy, ix)]} * double{w[((ic * cout_g + ocg) * win.kh + ky) * win.kw + kx]};
              }
            }
          }
          y[Offset(ys, n, oc, oy, ox)] = Finish(acc, bias, oc, act);
        }
    }
}

}  // namespace q46::kernels
