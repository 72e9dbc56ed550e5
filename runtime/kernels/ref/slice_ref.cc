// Reference strided window of a tensor (ONNX Slice on a runtime tensor), for floats and codes.
#include <algorithm>

#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {

template <typename T>
void SliceRef(const T* x, const Dims& xd, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
              T* y, const Dims& yd) {
  const size_t rank = xd.size();
  Dims x_strides(rank, 1), idx(rank, 0);
  for (size_t i = rank - 1; i-- > 0;) x_strides[i] = x_strides[i + 1] * xd[i + 1];
  int64_t rows = 1, src = 0;
  for (size_t i = 0; i + 1 < rank; ++i) rows *= yd[i];
  for (size_t i = 0; i < rank; ++i) src += starts[i] * x_strides[i];
  const int64_t row_len = yd[rank - 1], step = steps[rank - 1];
  // Row by row along the last axis, carrying the input offset of each row's first element.
  for (int64_t r = 0; r < rows; ++r, y += row_len) {
    if (step == 1) {
      std::copy(x + src, x + src + row_len, y);
    } else {
      for (int64_t i = 0; i < row_len; ++i) y[i] = x[src + i * step];
    }
    for (size_t k = rank - 1; k-- > 0;) {
      src += steps[k] * x_strides[k];
      if (++idx[k] < yd[k]) break;
      src -= steps[k] * x_strides[k] * yd[k];
      idx[k] = 0;
    }
  }
}

template void SliceRef<float>(const float*, const Dims&, const std::vector<int64_t>&, const std::vector<int64_t>&,
                              float*, const Dims&);
template void SliceRef<uint8_t>(const uint8_t*, const Dims&, const std::vector<int64_t>&,
                                const std::vector<int64_t>&, uint8_t*, const Dims&);

}  // namespace q46::kernels
