// Output-shape rules shared by the runtime's validation and the compiler's importer, so both agree.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace q46 {

// Element count of a tensor of `dims`, or -1 when a dim is negative or above `limit`, or the count passes
// `limit` (checked on the way, so absurd dims cannot overflow). A zero dim gives 0 when the others are in range,
// so no dim that passes can overflow arithmetic done on it later either.
template <typename Dims>
int64_t BoundedElementCount(const Dims& dims, int64_t limit = std::numeric_limits<int64_t>::max()) {
  for (int64_t d : dims)
    if (d < 0 || d > limit) return -1;
  for (int64_t d : dims)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : dims) {
    if (n > limit / d) return -1;
    n *= d;
  }
  return n;
}

// Output length of a sliding window over `in` (floor mode), or -1 if the window does not fit.
inline int64_t WindowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                                int64_t pad_end) {
  const int64_t span = dilation * (kernel - 1) + 1;
  const int64_t padded = in + pad_begin + pad_end;
  if (stride <= 0 || span > padded) return -1;
  return (padded - span) / stride + 1;
}

// Output length of a transposed sliding window over `in` (ONNX ConvTranspose, output padding included).
inline int64_t TransposedWindowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                                          int64_t pad_begin, int64_t pad_end, int64_t output_padding) {
  return (in - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1) + output_padding + 1;
}

// Numpy broadcasting of two shapes; false if they do not broadcast.
inline bool BroadcastDims(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out) {
  const size_t rank = std::max(a.size(), b.size());
  out->assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    (*out)[i] = da == 1 ? db : da;
  }
  return true;
}

// numpy matmul output dims (rank-1 operands promoted and squeezed as numpy does); false if they do not multiply.
inline bool MatMulOutputDims(std::vector<int64_t> a, std::vector<int64_t> b, std::vector<int64_t>* y) {
  if (a.empty() || b.empty()) return false;
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  if (a.back() != b[b.size() - 2]) return false;
  std::vector<int64_t> batch;
  if (!BroadcastDims({a.begin(), a.end() - 2}, {b.begin(), b.end() - 2}, &batch)) return false;
  *y = batch;
  if (!a_vec) y->push_back(a[a.size() - 2]);
  if (!b_vec) y->push_back(b.back());
  return true;
}

}  // namespace q46
