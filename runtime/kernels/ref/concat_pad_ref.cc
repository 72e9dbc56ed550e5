// Reference data-movement kernels: concatenation (on raw bytes, any element type) and constant padding (any
// rank). Pure copies; nothing that computes belongs here.
#include <cstring>

#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {
namespace {

// Fills the sub-block of y at output axis `axis` and beyond. x_off / y_off are the row-major offsets of the
// enclosing index prefix; `inside` says whether that prefix lies inside x (else the whole block is padding).
template <typename T>
void PadFrom(size_t axis, const T* x, const Dims& xd, const std::vector<int64_t>& pads, T value, T* y, const Dims& yd,
             int64_t x_off, int64_t y_off, bool inside) {
  if (axis == yd.size()) {
    y[y_off] = inside ? x[x_off] : value;
    return;
  }
  for (int64_t i = 0; i < yd[axis]; ++i) {
    const int64_t xi = i - pads[axis];
    const bool in = inside && xi >= 0 && xi < xd[axis];
    PadFrom(axis + 1, x, xd, pads, value, y, yd, x_off * xd[axis] + (in ? xi : 0), y_off * yd[axis] + i, in);
  }
}

}  // namespace

void ConcatRef(const void* const* inputs, const int64_t* chunk_bytes, int n_inputs, int64_t outer, void* y) {
  auto* out = static_cast<unsigned char*>(y);
  for (int64_t o = 0; o < outer; ++o)
    for (int i = 0; i < n_inputs; ++i) {
      if (chunk_bytes[i] == 0) continue;
      std::memcpy(out, static_cast<const unsigned char*>(inputs[i]) + o * chunk_bytes[i],
                  static_cast<size_t>(chunk_bytes[i]));
      out += chunk_bytes[i];
    }
}

template <typename T>
void PadRef(const T* x, const Dims& xd, const std::vector<int64_t>& pads, T value, T* y, const Dims& yd) {
  PadFrom<T>(0, x, xd, pads, value, y, yd, 0, 0, true);
}

template void PadRef<float>(const float*, const Dims&, const std::vector<int64_t>&, float, float*, const Dims&);
template void PadRef<uint8_t>(const uint8_t*, const Dims&, const std::vector<int64_t>&, uint8_t, uint8_t*, const Dims&);

}  // namespace q46::kernels
