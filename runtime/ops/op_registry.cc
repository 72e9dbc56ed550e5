// Maps each plan op kind to its factory. Adding an op: a message in proto/plan.proto, a factory in
// op_factories.h, a line here.
#include "runtime/ops/op_factories.h"

namespace q46::rt {

Status CreateOp(const plan::Plan& plan, const plan::Node& node, std::unique_ptr<Op>* op) {
  using N = plan::Node;
  switch (node.op_case()) {
    case N::kFloatConv: return CreateFloatConvOp(OpBuilder(plan, node, "FloatConv"), op);
    case N::kQuantConv: return CreateQuantConvOp(OpBuilder(plan, node, "QuantConv"), op);
    case N::kPool: return CreatePoolOp(OpBuilder(plan, node, "Pool"), op);
    case N::kBinary: return CreateBinaryOp(OpBuilder(plan, node, "Binary"), op);
    case N::kUnary: return CreateUnaryOp(OpBuilder(plan, node, "Unary"), op);
    case N::kQuantize: return CreateQuantizeOp(OpBuilder(plan, node, "Quantize"), op);
    case N::kDequantize: return CreateDequantizeOp(OpBuilder(plan, node, "Dequantize"), op);
    case N::kConcat: return CreateConcatOp(OpBuilder(plan, node, "Concat"), op);
    case N::kReshape: return CreateReshapeOp(OpBuilder(plan, node, "Reshape"), op);
    case N::kPad: return CreatePadOp(OpBuilder(plan, node, "Pad"), op);
    case N::kResize: return CreateResizeOp(OpBuilder(plan, node, "Resize"), op);
    case N::kSoftmax: return CreateSoftmaxOp(OpBuilder(plan, node, "Softmax"), op);
    case N::kMatmul: return CreateMatMulOp(OpBuilder(plan, node, "MatMul"), op);
    case N::kTranspose: return CreateTransposeOp(OpBuilder(plan, node, "Transpose"), op);
    case N::OP_NOT_SET: break;
  }
  return Status::Error("node '" + node.name() + "' has no op this runtime knows (a newer plan?)");
}

}  // namespace q46::rt
