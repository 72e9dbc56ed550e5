// Maps each plan op kind to its factory. Adding an op: a message in proto/plan.proto, a factory in
// op_factories.h, a line here.
#include "runtime/ops/op_factories.h"

namespace q46::rt {

Status CreateOp(const plan::Plan& plan, const plan::Node& node, const LoadOptions& options, std::unique_ptr<Op>* op) {
  using N = plan::Node;
  switch (node.op_case()) {
    case N::kFloatConv: return CreateFloatConvOp(OpBuilder(plan, node, "FloatConv", options), op);
    case N::kQuantConv: return CreateQuantConvOp(OpBuilder(plan, node, "QuantConv", options), op);
    case N::kPool: return CreatePoolOp(OpBuilder(plan, node, "Pool", options), op);
    case N::kBinary: return CreateBinaryOp(OpBuilder(plan, node, "Binary", options), op);
    case N::kUnary: return CreateUnaryOp(OpBuilder(plan, node, "Unary", options), op);
    case N::kQuantize: return CreateQuantizeOp(OpBuilder(plan, node, "Quantize", options), op);
    case N::kDequantize: return CreateDequantizeOp(OpBuilder(plan, node, "Dequantize", options), op);
    case N::kConcat: return CreateConcatOp(OpBuilder(plan, node, "Concat", options), op);
    case N::kReshape: return CreateReshapeOp(OpBuilder(plan, node, "Reshape", options), op);
    case N::kPad: return CreatePadOp(OpBuilder(plan, node, "Pad", options), op);
    case N::kResize: return CreateResizeOp(OpBuilder(plan, node, "Resize", options), op);
    case N::kSoftmax: return CreateSoftmaxOp(OpBuilder(plan, node, "Softmax", options), op);
    case N::kMatmul: return CreateMatMulOp(OpBuilder(plan, node, "MatMul", options), op);
    case N::kTranspose: return CreateTransposeOp(OpBuilder(plan, node, "Transpose", options), op);
    case N::kSlice: return CreateSliceOp(OpBuilder(plan, node, "Slice", options), op);
    case N::kReduce: return CreateReduceOp(OpBuilder(plan, node, "Reduce", options), op);
    case N::OP_NOT_SET: break;
  }
  return Status::Error("node '" + node.name() + "' has no op this runtime knows (a newer plan?)");
}

}  // namespace q46::rt
