// MatMul of two float tensors with numpy semantics (batch broadcasting, rank-1 operands).
#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

class MatMulOp final : public Op {
 public:
  explicit MatMulOp(const OpBuilder& b)
      : a_(b.input_index(0)), b_(b.input_index(1)), y_(b.output_index(0)), ad_(DimsOf(b.input(0))),
        bd_(DimsOf(b.input(1))), yd_(DimsOf(b.output(0))) {}
  void Run(const RunState& st) const override {
    kernels::MatMulF32Ref(static_cast<const float*>(st.buffers[a_]), ad_, static_cast<const float*>(st.buffers[b_]),
                          bd_, static_cast<float*>(st.buffers[y_]), yd_);
  }

 private:
  int a_, b_, y_;
  kernels::Dims ad_, bd_, yd_;
};

}  // namespace

Status CreateMatMulOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(2, 2, 1));
  for (int i = 0; i < 2; ++i) Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(i), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  std::vector<int64_t> yd;
  if (!MatMulOutputDims(DimsOf(b.input(0)), DimsOf(b.input(1)), &yd))
    return b.Fail("dims " + DimsToString(DimsOf(b.input(0))) + " and " + DimsToString(DimsOf(b.input(1))) +
                  " do not multiply");
  Q46_RETURN_IF_ERROR(b.ExpectDims(b.output(0), yd));
  *op = std::make_unique<MatMulOp>(b);
  return Status();
}

}  // namespace q46::rt
