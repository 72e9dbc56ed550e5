// See fast_kernels.h. Every function restates its reference kernel's arithmetic in a branch-free form.
#include "runtime/kernels/fast/fast_kernels.h"

#include <limits>

namespace q46::kernels {

bool AcceptsMaxPool2x2(Dims4 xs, const Window2d& win, Dims4 ys) {
  return win.kh == 2 && win.kw == 2 && win.sh == 2 && win.sw == 2 && win.dh == 1 && win.dw == 1 && win.pad_t == 0 &&
         win.pad_l == 0 && win.pad_b == 0 && win.pad_r == 0 && ys.h == xs.h / 2 && ys.w == xs.w / 2;
}

template <typename T>
void MaxPool2x2(const T* x, Dims4 xs, T* y, Dims4 ys) {
  // The reference's order: start from the lowest value, take a tap when it is greater (so NaN never wins).
  const auto take = [](T m, T v) { return v > m ? v : m; };
  for (int64_t plane = 0; plane < ys.n * ys.c; ++plane)
    for (int64_t oy = 0; oy < ys.h; ++oy) {
      const T* r0 = x + (plane * xs.h + 2 * oy) * xs.w;
      const T* r1 = r0 + xs.w;
      T* out = y + (plane * ys.h + oy) * ys.w;
      for (int64_t ox = 0; ox < ys.w; ++ox)
        out[ox] = take(take(take(take(std::numeric_limits<T>::lowest(), r0[2 * ox]), r0[2 * ox + 1]), r1[2 * ox]),
                       r1[2 * ox + 1]);
    }
}
template void MaxPool2x2<float>(const float*, Dims4, float*, Dims4);
template void MaxPool2x2<uint8_t>(const uint8_t*, Dims4, uint8_t*, Dims4);

void QuantizeRow(const float* x, int64_t n, float scale, int32_t zero_point, int32_t lo, int32_t hi, uint8_t* y) {
  // arith::Quantize is clamp(RoundToInt(x / scale) + zp, lo, hi) with NaN -> zp. Clamping x / scale to
  // [lo - zp, hi - zp] first gives the same code (integer bounds, monotonic rounding) and keeps |v| < 2^22, where
  // adding and subtracting 1.5 * 2^23 rounds half to even; a NaN is replaced by 0 before the clamp.
  const float flo = static_cast<float>(lo - zero_point), fhi = static_cast<float>(hi - zero_point);
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v == v ? v : 0.0f;
    v = v < flo ? flo : v;
    v = v > fhi ? fhi : v;
    y[i] = static_cast<uint8_t>(static_cast<int32_t>((v + kMagic) - kMagic) + zero_point);
  }
}

}  // namespace q46::kernels
