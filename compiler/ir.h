// The compiler's graph IR: values (tensors with static shapes, some constant) and nodes (ops with typed
// attributes), in topological order. The ONNX importer builds it, passes rewrite it, the plan writer lowers it.
// Op attributes reuse the runtime's kernel parameter types, so both sides mean the same thing by a window.
// This header holds data only; graph algorithms live in ir.cc and the passes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "compiler/tensor.h"
#include "runtime/arith.h"
#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::ir {

using ValueId = int;
using kernels::FloatActivation;
using kernels::Window2d;

// Observed range of a value on calibration data.
struct Range {
  float lo = 0, hi = 0;
};

struct Value {
  std::string name;
  std::vector<int64_t> dims;
  std::optional<FloatTensor> constant;  // float data of a constant (integers are stored exactly as floats)
  std::optional<Range> range;           // set by calibration for values that quantized layers read
};

// Quantization of a convolution, filled in by the precision, calibration and weight passes.
struct ConvQuant {
  arith::Precision precision{};
  bool per_channel = true;
  float in_scale = 0;            // activation quantization of the input
  int32_t in_zero_point = 0;
  std::vector<float> weight_scales;
  std::vector<int8_t> weight_codes;  // same layout as the float weights
  std::vector<int32_t> bias;         // at in_scale * weight_scale, without the zero-point term
};

// Convolution (also Gemm / MatMul-by-constant as a 1x1 convolution on a rank-2 input).
// Inputs: x, weights (constant, OIHW; transposed: IOHW), optional bias (constant).
struct ConvAttrs {
  Window2d window;
  int64_t groups = 1;
  bool transposed = false;
  FloatActivation activation;
  std::optional<ConvQuant> quant;  // set when the layer runs on integer codes
};

// Inference BatchNormalization: inputs x, scale, bias, mean, var (constants).
struct BatchNormAttrs {
  float epsilon = 1e-5f;
};

struct PoolAttrs {
  bool max = true;
  Window2d window;
  bool count_include_pad = false;
};

struct BinaryAttrs {
  kernels::BinaryKind kind = kernels::BinaryKind::kAdd;
  FloatActivation activation;
};

struct UnaryAttrs {
  FloatActivation activation;
};

struct ConcatAttrs {
  int64_t axis = 0;
};

struct ReshapeAttrs {};

struct PadAttrs {
  std::vector<int64_t> pads;  // ONNX order: all begins, then all ends
  float value = 0;
};

struct ResizeAttrs {
  kernels::ResizeParams params;
};

struct SoftmaxAttrs {
  int64_t axis = -1;
};

struct MatMulAttrs {};

struct TransposeAttrs {
  std::vector<int64_t> perm;
};

// Output element i reads input element starts + i * steps per axis (counts: the output's dims).
struct SliceAttrs {
  std::vector<int64_t> starts, steps;
};

// Reduction over `axes` (sorted, distinct); the output keeps them as 1 or drops them, as its dims say.
struct ReduceAttrs {
  kernels::ReduceKind kind = kernels::ReduceKind::kMean;
  std::vector<int64_t> axes;
};

using Attrs = std::variant<ConvAttrs, BatchNormAttrs, PoolAttrs, BinaryAttrs, UnaryAttrs, ConcatAttrs, ReshapeAttrs,
                           PadAttrs, ResizeAttrs, SoftmaxAttrs, MatMulAttrs, TransposeAttrs, SliceAttrs, ReduceAttrs>;

struct Node {
  std::string name;     // the ONNX node's name (or a generated one)
  std::string op_type;  // the ONNX op it came from, for messages
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attrs attrs;
  bool dead = false;  // removed by a pass; dropped by Graph::Compact
};

struct Graph {
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;

  ValueId AddValue(Value v) {
    values.push_back(std::move(v));
    return static_cast<ValueId>(values.size() - 1);
  }
  ValueId AddConstant(std::string name, FloatTensor t) {
    std::vector<int64_t> dims = t.dims;
    return AddValue({std::move(name), std::move(dims), std::move(t), std::nullopt});
  }
  bool IsConstant(ValueId v) const { return values[v].constant.has_value(); }
  // Nodes reading value v, by index.
  std::vector<int> Consumers(ValueId v) const;
  // The node writing value v, or -1.
  int Producer(ValueId v) const;
  bool IsGraphOutput(ValueId v) const;
  // Replaces every read of `from` (nodes and graph outputs) by `to`.
  void ReplaceUses(ValueId from, ValueId to);
  // Drops dead nodes.
  void Compact();
  // A copy whose outputs are `outputs` and whose nodes are only those they depend on (value ids unchanged).
  Graph SliceTo(const std::vector<ValueId>& outputs) const;
};

template <typename T>
T* AttrsIf(Node& n) {
  return std::get_if<T>(&n.attrs);
}
template <typename T>
const T* AttrsIf(const Node& n) {
  return std::get_if<T>(&n.attrs);
}

}  // namespace q46::ir
