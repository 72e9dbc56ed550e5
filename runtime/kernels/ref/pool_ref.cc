// Reference max and average pooling (ONNX MaxPool / AveragePool semantics, 2-D, with dilation, asymmetric pads
// and ceil_mode windows that run past the padding). The oracle for optimised pools; nothing else belongs here.
#include <limits>

#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/kernels/ref/ref_util.h"

namespace q46::kernels {

using ref_internal::ForEachTap;
using ref_internal::InRange;
using ref_internal::Offset;

template <typename T>
void MaxPoolRef(const T* x, Dims4 xs, const Window2d& win, T* y, Dims4 ys) {
  for (int64_t n = 0; n < ys.n; ++n)
    for (int64_t c = 0; c < ys.c; ++c)
      for (int64_t oy = 0; oy < ys.h; ++oy)
        for (int64_t ox = 0; ox < ys.w; ++ox) {
          T m = std::numeric_limits<T>::lowest();
          ForEachTap(win, oy, ox, [&](int64_t, int64_t, int64_t iy, int64_t ix) {
            if (!InRange(iy, xs.h) || !InRange(ix, xs.w)) return;  // padding never wins
            const T v = x[Offset(xs, n, c, iy, ix)];
            if (v > m) m = v;
          });
          y[Offset(ys, n, c, oy, ox)] = m;
        }
}

template void MaxPoolRef<float>(const float*, Dims4, const Window2d&, float*, Dims4);
template void MaxPoolRef<uint8_t>(const uint8_t*, Dims4, const Window2d&, uint8_t*, Dims4);

void AvgPoolF32Ref(const float* x, Dims4 xs, const Window2d& win, bool count_include_pad, float* y, Dims4 ys) {
  for (int64_t n = 0; n < ys.n; ++n)
    for (int64_t c = 0; c < ys.c; ++c)
      for (int64_t oy = 0; oy < ys.h; ++oy)
        for (int64_t ox = 0; ox < ys.w; ++ox) {
          double sum = 0.0;
          int64_t real = 0, padded = 0;  // taps on the input; taps on the input or its padding
          ForEachTap(win, oy, ox, [&](int64_t, int64_t, int64_t iy, int64_t ix) {
            if (InRange(iy + win.pad_t, xs.h + win.pad_t + win.pad_b) &&
                InRange(ix + win.pad_l, xs.w + win.pad_l + win.pad_r))
              ++padded;
            if (!InRange(iy, xs.h) || !InRange(ix, xs.w)) return;
            sum += x[Offset(xs, n, c, iy, ix)];
            ++real;
          });
          const int64_t divisor = count_include_pad ? padded : real;
          y[Offset(ys, n, c, oy, ox)] = divisor > 0 ? static_cast<float>(sum / static_cast<double>(divisor)) : 0.0f;
        }
}

}  // namespace q46::kernels
