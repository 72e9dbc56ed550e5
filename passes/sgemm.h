// The calibration passes' matrix product: oneDNN's sgemm, made independent of the thread count. A multi-threaded
// sgemm may split a long reduction between threads and add the parts in another order, so the same compilation
// would round differently on machines with more cores. Here the rows of C are cut into blocks of a fixed size,
// each one single-threaded sgemm, so every value is summed the same way however many threads share the blocks.
#pragma once

#include <cstdint>

namespace q46 {

// C (m x n, row-major, leading dimension ldc) = op(A) * op(B); ta / tb are 'N' or 'T' as in BLAS.
void Sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc);

}  // namespace q46
