// Reference reductions over any set of axes (ONNX ReduceMean, ReduceMax, ReduceMin, ReduceSum).
#include <algorithm>
#include <array>

#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {
namespace {

// An odometer over some axes of a tensor: the offset of the current index, advanced in row-major order.
struct AxisWalk {
  std::array<int64_t, kMaxReduceRank> size{}, stride{}, index{};
  size_t count = 0;
  int64_t offset = 0;
  void Add(int64_t n, int64_t element_stride) { size[count] = n, stride[count] = element_stride, ++count; }
  // Moves to the next index; false (and back at the start) after the last one.
  bool Next() {
    for (size_t k = count; k-- > 0;) {
      offset += stride[k];
      if (++index[k] < size[k]) return true;
      offset -= stride[k] * size[k];
      index[k] = 0;
    }
    return false;
  }
};

}  // namespace

void ReduceF32Ref(ReduceKind kind, const float* x, const Dims& xd, const std::vector<int64_t>& axes, float* y) {
  if (xd.empty()) {  // a scalar: every reduction of one value is the value
    y[0] = x[0];
    return;
  }
  Dims x_strides(xd.size(), 1);
  for (size_t a = xd.size() - 1; a-- > 0;) x_strides[a] = x_strides[a + 1] * xd[a + 1];
  AxisWalk kept, reduced;
  int64_t reduced_count = 1;
  for (size_t a = 0; a < xd.size(); ++a) {
    const bool is_reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(a)) != axes.end();
    (is_reduced ? reduced : kept).Add(xd[a], x_strides[a]);
    if (is_reduced) reduced_count *= xd[a];
  }
  do {
    const float* base = x + kept.offset;
    if (kind == ReduceKind::kMean || kind == ReduceKind::kSum) {
      double sum = 0.0;
      do sum += base[reduced.offset];
      while (reduced.Next());
      *y++ = static_cast<float>(kind == ReduceKind::kMean ? sum / static_cast<double>(reduced_count) : sum);
    } else {
      float m = base[0];
      do {
        const float v = base[reduced.offset];
        if (v != v || (kind == ReduceKind::kMax ? v > m : v < m)) m = v;
      } while (reduced.Next());
      *y++ = m;
    }
  } while (kept.Next());
}

}  // namespace q46::kernels
