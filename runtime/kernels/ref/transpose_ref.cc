// Reference axis permutation (ONNX Transpose).
#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {

void TransposeF32Ref(const float* x, const Dims& xd, const std::vector<int64_t>& perm, float* y) {
  const size_t rank = xd.size();
  if (rank == 0) {
    y[0] = x[0];
    return;
  }
  Dims in_strides(rank, 1), yd(rank), idx(rank, 0);
  for (size_t i = rank - 1; i-- > 0;) in_strides[i] = in_strides[i + 1] * xd[i + 1];
  int64_t total = 1;
  for (size_t i = 0; i < rank; ++i) yd[i] = xd[perm[i]], total *= xd[i];
  // Walk the output in order, carrying the matching input offset along.
  int64_t src = 0;
  for (int64_t o = 0; o < total; ++o) {
    y[o] = x[src];
    for (size_t k = rank; k-- > 0;) {
      src += in_strides[perm[k]];
      if (++idx[k] < yd[k]) break;
      src -= in_strides[perm[k]] * yd[k];
      idx[k] = 0;
    }
  }
}

}  // namespace q46::kernels
