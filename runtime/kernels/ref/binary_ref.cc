// Reference elementwise kernels: binary arithmetic with numpy broadcasting, and unary activations. Computed in
// float, one IEEE operation per element, so optimised versions can match bit for bit. Nothing else belongs here.
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/kernels/ref/ref_util.h"

namespace q46::kernels {
namespace {

float Apply(BinaryKind kind, float a, float b) {
  switch (kind) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kSub: return a - b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv: return a / b;
    case BinaryKind::kPRelu: return LeakyRelu(a, b);
  }
  return 0.0f;
}

}  // namespace

void BinaryF32Ref(BinaryKind kind, const float* a, const Dims& ad, const float* b, const Dims& bd, FloatActivation act,
                  float* y, const Dims& yd) {
  if (ad == yd && bd == yd) {  // no broadcasting: one flat pass
    int64_t n = 1;
    for (int64_t d : yd) n *= d;
    for (int64_t i = 0; i < n; ++i) y[i] = Activate(Apply(kind, a[i], b[i]), act);
    return;
  }
  ref_internal::BroadcastWalk<2>(yd, {ad, bd}, [&](int64_t yi, const std::array<int64_t, 2>& in) {
    y[yi] = Activate(Apply(kind, a[in[0]], b[in[1]]), act);
  });
}

void UnaryF32Ref(const float* x, int64_t n, FloatActivation act, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = Activate(x[i], act);
}

}  // namespace q46::kernels
