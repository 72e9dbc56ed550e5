// Thread-count-independent sgemm (see sgemm.h).
#include "passes/sgemm.h"

#include <algorithm>

#include <oneapi/dnnl/dnnl.h>

#include "runtime/thread_count_scope.h"

namespace q46 {

void Sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc) {
  constexpr int64_t kBlockRows = 64;  // fixed: the blocks, and so every sum, do not depend on the thread count
  const int64_t blocks = (m + kBlockRows - 1) / kBlockRows;
  // Row i of op(A) starts at a + i * lda untransposed, at column i (a + i) transposed.
  const int64_t a_row_step = ta == 'N' || ta == 'n' ? lda : 1;
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1 && m * n * k >= (int64_t{1} << 20))
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t row = blk * kBlockRows, rows = std::min(kBlockRows, m - row);
    rt::ThreadCountScope one_thread(1);
    dnnl_sgemm(ta, tb, rows, n, k, 1.0f, a + row * a_row_step, lda, b, ldb, 0.0f, c + row * ldc, ldc);
  }
}

}  // namespace q46
