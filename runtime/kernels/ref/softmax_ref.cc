// Reference softmax over one axis of a tensor viewed as [outer, axis, inner]; max-subtracted, summed in double.
// The oracle for optimised softmax; nothing else belongs here.
#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {

void SoftmaxF32Ref(const float* x, int64_t outer, int64_t axis, int64_t inner, float* y) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* xs = x + o * axis * inner + i;
      float* ys = y + o * axis * inner + i;
      float m = xs[0];
      for (int64_t a = 1; a < axis; ++a) m = std::fmax(m, xs[a * inner]);
      double sum = 0.0;
      for (int64_t a = 0; a < axis; ++a) sum += std::exp(double{xs[a * inner]} - double{m});
      for (int64_t a = 0; a < axis; ++a)
        ys[a * inner] = static_cast<float>(std::exp(double{xs[a * inner]} - double{m}) / sum);
    }
}

}  // namespace q46::kernels
