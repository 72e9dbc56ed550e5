// Resize op (ONNX Resize, nearest and linear) on float tensors.
#include <cmath>

#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

class ResizeOp final : public Op {
 public:
  ResizeOp(const OpBuilder& b, kernels::ResizeParams p)
      : x_(b.input_index(0)), y_(b.output_index(0)), xd_(DimsOf(b.input(0))), yd_(DimsOf(b.output(0))),
        p_(std::move(p)) {}
  void Run(const RunState& st) const override {
    kernels::ResizeF32Ref(static_cast<const float*>(st.buffers[x_]), xd_, p_, static_cast<float*>(st.buffers[y_]),
                          yd_);
  }

 private:
  int x_, y_;
  kernels::Dims xd_, yd_;
  kernels::ResizeParams p_;
};

}  // namespace

Status CreateResizeOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  const plan::Resize& r = b.node().resize();
  const int rank = b.input(0).dims_size();
  if (b.output(0).dims_size() != rank || r.scales_size() != rank)
    return b.Fail("needs one scale per axis and an output of the input's rank");
  for (float s : r.scales())
    if (!(s > 0 && std::isfinite(s))) return b.Fail("scale " + std::to_string(s) + " is not positive");
  if (r.mode() > plan::Resize::LINEAR || r.coordinates() > plan::Resize::PYTORCH_HALF_PIXEL ||
      r.rounding() > plan::Resize::CEIL)
    return b.Fail("unknown mode, coordinate transformation or rounding");
  kernels::ResizeParams p;
  p.mode = static_cast<kernels::ResizeParams::Mode>(r.mode());
  p.coordinates = static_cast<kernels::ResizeParams::Coordinates>(r.coordinates());
  p.rounding = static_cast<kernels::ResizeParams::Rounding>(r.rounding());
  p.scales.assign(r.scales().begin(), r.scales().end());
  *op = std::make_unique<ResizeOp>(b, std::move(p));
  return Status();
}

}  // namespace q46::rt
