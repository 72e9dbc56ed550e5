// Softmax over one axis of a float tensor.
#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

class SoftmaxOp final : public Op {
 public:
  SoftmaxOp(const OpBuilder& b, int64_t outer, int64_t axis, int64_t inner)
      : x_(b.input_index(0)), y_(b.output_index(0)), outer_(outer), axis_(axis), inner_(inner) {}
  void Run(const RunState& st) const override {
    kernels::SoftmaxF32Ref(static_cast<const float*>(st.buffers[x_]), outer_, axis_, inner_,
                           static_cast<float*>(st.buffers[y_]));
  }

 private:
  int x_, y_;
  int64_t outer_, axis_, inner_;
};

}  // namespace

Status CreateSoftmaxOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDims(b.output(0), DimsOf(b.input(0))));
  const plan::Tensor& x = b.input(0);
  int64_t axis = b.node().softmax().axis();
  if (axis < 0) axis += x.dims_size();
  if (axis < 0 || axis >= x.dims_size()) return b.Fail("axis " + std::to_string(b.node().softmax().axis()) + " out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dims(i);
  for (int64_t i = axis + 1; i < x.dims_size(); ++i) inner *= x.dims(i);
  *op = std::make_unique<SoftmaxOp>(b, outer, x.dims(axis), inner);
  return Status();
}

}  // namespace q46::rt
