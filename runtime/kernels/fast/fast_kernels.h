// Faster kernels for simple ops, each equal bit for bit to its reference kernel (runtime/kernels/ref/) on the
// cases it takes; test/kernels/fast_kernels_test.cc holds them to it. The op picks one where it applies, else
// the reference kernel. Portable C++ (loops the compiler vectorises), with SSE2 where the compiler does not
// (stride-2 and pairwise byte maxima, sse2_bytes.h).
#pragma once

#include <cstdint>

#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {

// Max pool with a 2x2 window, stride 2, no padding or dilation, floor-mode output (the CIFAR CNNs' pools).
bool AcceptsMaxPool2x2(Dims4 xs, const Window2d& win, Dims4 ys);
template <typename T>
void MaxPool2x2(const T* x, Dims4 xs, T* y, Dims4 ys);

// Max pool, any window, stride, dilation and padding (as MaxPoolRef).
template <typename T>
void MaxPool(const T* x, Dims4 xs, const Window2d& win, T* y, Dims4 ys);

// Binary arithmetic on same-shape operands of n elements (BinaryF32Ref without broadcasting).
void BinaryFlat(BinaryKind kind, const float* a, const float* b, int64_t n, FloatActivation act, float* y);

// Float -> codes, as arith::Quantize on each element.
void QuantizeRow(const float* x, int64_t n, float scale, int32_t zero_point, int32_t lo, int32_t hi, uint8_t* y);

}  // namespace q46::kernels
