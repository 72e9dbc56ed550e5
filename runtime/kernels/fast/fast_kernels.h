// Faster kernels for simple ops, each equal bit for bit to its reference kernel (runtime/kernels/ref/) on the
// cases it takes; test/kernels/fast_kernels_test.cc holds them to it. The op picks one where it applies, else
// the reference kernel. Portable C++ (loops the compiler vectorises; on x86 the float loops are built for AVX-512,
// AVX2 and the baseline, picked by the CPU), with SSE2 where the compiler does not vectorise (stride-2 and pairwise
// byte maxima, sse2_bytes.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/kernels/qconv/qconv.h"
#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {

// Max pool with a 2x2 window, stride 2, no padding or dilation, floor-mode output (the CIFAR CNNs' pools).
bool AcceptsMaxPool2x2(Dims4 xs, const Window2d& win, Dims4 ys);
template <typename T>
void MaxPool2x2(const T* x, Dims4 xs, T* y, Dims4 ys);

// Max pool, any window, stride, dilation and padding (as MaxPoolRef), with the window's columns worked out once
// per layer (MakeMaxPoolColumns; two divisions per row and tap were a fifth of ResNet-18's pool), so that the
// kernel itself allocates nothing: per tap column kx its shift kx * dw - pad_l and the outputs [lo, hi) whose input
// column ox * sw + shift lies in [0, xs.w); the interior [inside_lo, inside_hi), the outputs every tap column
// reaches.
struct MaxPoolColumns {
  struct Column {
    int64_t shift, lo, hi;
  };
  std::vector<Column> columns;
  int64_t inside_lo = 0, inside_hi = 0;
};
MaxPoolColumns MakeMaxPoolColumns(Dims4 xs, const Window2d& win, Dims4 ys);
template <typename T>
void MaxPool(const T* x, Dims4 xs, const Window2d& win, const MaxPoolColumns& columns, T* y, Dims4 ys);

// Binary arithmetic on same-shape operands of n elements (BinaryF32Ref without broadcasting).
void BinaryFlat(BinaryKind kind, const float* a, const float* b, int64_t n, FloatActivation act, float* y);

// BinaryF32Ref where one operand has the output's dims and the other is constant over the trailing dims from some
// axis on (a per-channel scale or bias: [N, C, H, W] with [N or 1, C, 1, 1]): the output is blocks over those
// trailing dims, each computed with one element of the other operand.
struct BlockBroadcast {
  bool scalar_first = false;     // the per-block operand is a (a - b and a / b keep their order)
  int64_t block = 0;             // elements per block
  std::vector<int64_t> offsets;  // per block, the per-block operand's element
};
// The blocks of a op b -> y, if the dims have that form with blocks of at least 16 elements.
std::optional<BlockBroadcast> FindBlockBroadcast(const Dims& ad, const Dims& bd, const Dims& yd);
// Blocks [first, last) of such a broadcast.
void BinaryBlocks(BinaryKind kind, const BlockBroadcast& bb, const float* a, const float* b, int64_t first,
                  int64_t last, FloatActivation act, float* y);
// An activation on n elements (UnaryF32Ref); y may be x (the integer convolutions' float outputs use it in place).
void UnaryFlat(const float* x, int64_t n, FloatActivation act, float* y);

// Float -> codes, as arith::Quantize on each element.
void QuantizeRow(const float* x, int64_t n, float scale, int32_t zero_point, int32_t lo, int32_t hi, uint8_t* y);

// Depthwise quantized convolution (one input channel per output channel: groups == C_in == C_out), as
// ConvQuantRef with the qconv output stage: the int32 sum of codes times weight codes (padding reads pad_code) plus
// the folded bias, requantized as arith::Requantize or dequantized and activated. Planes (n, c) [first, last).
// With int16_sums the sum of products is accumulated in int16, then the bias added in int32: the caller must know
// that max code * sum |weights| <= 32767 for every channel (then no partial sum can overflow). The packed
// microkernels put one real channel in each 4-channel quad here and run at a few MACs per cycle.
// `scratch`: DepthwiseScratchBytes(xs, ys, win) bytes, 64-byte aligned, one block per concurrent call.
size_t DepthwiseScratchBytes(Dims4 xs, Dims4 ys, const Window2d& win);
void DepthwiseConvQuant(const uint8_t* x, Dims4 xs, const int8_t* w, const Window2d& win, uint8_t pad_code,
                        const qconv::OutputStage& stage, bool int16_sums, void* y, Dims4 ys, int64_t first,
                        int64_t last, uint8_t* scratch);

}  // namespace q46::kernels
