// Factories for the ops of the runtime, one per plan op kind; CreateOp (op_registry.cc) dispatches to them.
#pragma once

#include <memory>

#include "runtime/ops/op_builder.h"

namespace q46::rt {

Status CreateFloatConvOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateQuantConvOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreatePoolOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateBinaryOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateUnaryOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateQuantizeOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateDequantizeOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateConcatOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateReshapeOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreatePadOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateResizeOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateSoftmaxOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateMatMulOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateTransposeOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateSliceOp(const OpBuilder& b, std::unique_ptr<Op>* op);
Status CreateReduceOp(const OpBuilder& b, std::unique_ptr<Op>* op);

}  // namespace q46::rt
