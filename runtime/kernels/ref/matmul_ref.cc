// Reference numpy matmul: [..., M, K] x [..., K, N] with broadcast batch dimensions; rank-1 operands are
// promoted (and their unit dimension dropped from the result) as numpy does. Sums in double. Nothing else here.
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/kernels/ref/ref_util.h"

namespace q46::kernels {
namespace {

using ref_internal::DimsView;

// The batch dimensions of a matmul operand of shape d (all but the last two; none for rank 1 or 2).
DimsView BatchDims(const Dims& d) { return DimsView(d, d.size() > 2 ? d.size() - 2 : 0); }

}  // namespace

void MatMulF32Ref(const float* a, const Dims& ad, const float* b, const Dims& bd, float* y, const Dims& yd) {
  const int64_t m = ad.size() >= 2 ? ad[ad.size() - 2] : 1;
  const int64_t k = ad.back();
  const int64_t n = bd.size() >= 2 ? bd.back() : 1;
  // y's batch dimensions are those left of its matrix dimensions (M unless a is rank 1, N unless b is).
  const size_t y_matrix_rank = (ad.size() >= 2 ? 1 : 0) + (bd.size() >= 2 ? 1 : 0);
  const DimsView y_batch(yd, yd.size() - y_matrix_rank);
  auto one_matrix = [&](int64_t yb, const std::array<int64_t, 2>& in) {
    const float* am = a + in[0] * m * k;
    const float* bm = b + in[1] * k * n;
    float* ym = y + yb * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (int64_t l = 0; l < k; ++l) acc += double{am[i * k + l]} * double{bm[l * n + j]};
        ym[i * n + j] = static_cast<float>(acc);
      }
  };
  ref_internal::BroadcastWalk<2>(y_batch, {BatchDims(ad), BatchDims(bd)}, one_matrix);
}

}  // namespace q46::kernels
