// Node validation helpers shared by the op factories.
#include "runtime/ops/op_builder.h"

#include <cmath>

#include "runtime/arith.h"

namespace q46::rt {

std::vector<int64_t> DimsOf(const plan::Tensor& t) { return {t.dims().begin(), t.dims().end()}; }

int64_t NumElements(const plan::Tensor& t) {
  int64_t n = 1;
  for (int64_t d : t.dims()) n *= d;
  return n;
}

std::string DimsToString(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

Status OpBuilder::Fail(const std::string& what) const {
  return Status::Error("node '" + node_.name() + "' (" + op_name_ + "): " + what);
}

Status OpBuilder::ExpectArity(int min_inputs, int max_inputs, int outputs) const {
  if (node_.inputs_size() < min_inputs || node_.inputs_size() > max_inputs)
    return Fail("has " + std::to_string(node_.inputs_size()) + " inputs, expected " + std::to_string(min_inputs) +
                (max_inputs != min_inputs ? " to " + std::to_string(max_inputs) : ""));
  if (node_.outputs_size() != outputs)
    return Fail("has " + std::to_string(node_.outputs_size()) + " outputs, expected " + std::to_string(outputs));
  return Status();
}

Status OpBuilder::ExpectDtype(const plan::Tensor& t, plan::DataType dtype) const {
  if (t.dtype() != dtype)
    return Fail("tensor '" + t.name() + "' has dtype " + plan::DataType_Name(t.dtype()) + ", expected " +
                plan::DataType_Name(dtype));
  return Status();
}

Status OpBuilder::ToDims4(const plan::Tensor& t, kernels::Dims4* d) const {
  if (t.dims_size() == 4) {
    *d = {t.dims(0), t.dims(1), t.dims(2), t.dims(3)};
  } else if (t.dims_size() == 2) {
    *d = {t.dims(0), t.dims(1), 1, 1};
  } else {
    return Fail("tensor '" + t.name() + "' has rank " + std::to_string(t.dims_size()) + ", expected 4 (NCHW) or 2");
  }
  return Status();
}

Status OpBuilder::ExpectDims(const plan::Tensor& t, const std::vector<int64_t>& dims) const {
  if (DimsOf(t) != dims)
    return Fail("tensor '" + t.name() + "' has dims " + DimsToString(DimsOf(t)) + ", expected " +
                DimsToString(dims));
  return Status();
}

Status OpBuilder::ToWindow(const plan::Window& w, bool transposed, kernels::Window2d* win) const {
  auto pair = [&](const google::protobuf::RepeatedField<int64_t>& f, const char* what, int64_t def, int64_t min,
                  int64_t* a, int64_t* b) -> Status {
    if (f.empty()) {
      *a = *b = def;
    } else if (f.size() == 2) {
      *a = f[0];
      *b = f[1];
    } else {
      return Fail(std::string(what) + " needs 2 values, has " + std::to_string(f.size()));
    }
    if (*a < min || *b < min || *a > (1 << 16) || *b > (1 << 16))
      return Fail(std::string(what) + " out of range: " + std::to_string(*a) + ", " + std::to_string(*b));
    return Status();
  };
  Q46_RETURN_IF_ERROR(pair(w.kernel(), "kernel", 1, 1, &win->kh, &win->kw));
  Q46_RETURN_IF_ERROR(pair(w.stride(), "stride", 1, 1, &win->sh, &win->sw));
  Q46_RETURN_IF_ERROR(pair(w.dilation(), "dilation", 1, 1, &win->dh, &win->dw));
  Q46_RETURN_IF_ERROR(pair(w.output_padding(), "output_padding", 0, 0, &win->out_pad_h, &win->out_pad_w));
  if (!transposed && (win->out_pad_h || win->out_pad_w)) return Fail("output_padding on a non-transposed window");
  if (w.pads().empty()) {
    win->pad_t = win->pad_l = win->pad_b = win->pad_r = 0;
  } else if (w.pads().size() == 4) {
    win->pad_t = w.pads(0);
    win->pad_l = w.pads(1);
    win->pad_b = w.pads(2);
    win->pad_r = w.pads(3);
    for (int64_t p : w.pads())
      if (p < 0 || p > (1 << 16)) return Fail("pad out of range: " + std::to_string(p));
  } else {
    return Fail("pads needs 4 values, has " + std::to_string(w.pads().size()));
  }
  return Status();
}

Status OpBuilder::ToActivation(const plan::Activation& a, kernels::FloatActivation* act) const {
  switch (a.kind()) {
    case plan::Activation::NONE: act->kind = kernels::FloatActivation::kNone; break;
    case plan::Activation::CLIP:
      if (std::isnan(a.lo()) || std::isnan(a.hi()) || a.lo() > a.hi())
        return Fail("clip bounds [" + std::to_string(a.lo()) + ", " + std::to_string(a.hi()) + "] are invalid");
      act->kind = kernels::FloatActivation::kClip;
      break;
    case plan::Activation::TANH: act->kind = kernels::FloatActivation::kTanh; break;
    case plan::Activation::SIGMOID: act->kind = kernels::FloatActivation::kSigmoid; break;
    case plan::Activation::LEAKY_RELU: act->kind = kernels::FloatActivation::kLeakyRelu; break;
    case plan::Activation::HARD_SIGMOID: act->kind = kernels::FloatActivation::kHardSigmoid; break;
    case plan::Activation::HARD_SWISH: act->kind = kernels::FloatActivation::kHardSwish; break;
    default: return Fail("unknown activation kind " + std::to_string(a.kind()));
  }
  if (!std::isfinite(a.alpha()) || !std::isfinite(a.beta()))
    return Fail("activation parameters must be finite");
  act->lo = a.lo();
  act->hi = a.hi();
  act->alpha = a.alpha();
  act->beta = a.beta();
  return Status();
}

Status OpBuilder::ExpectSameQuant(const plan::Tensor& a, const plan::Tensor& b) const {
  if (a.dtype() != b.dtype()) return Fail("tensors '" + a.name() + "' and '" + b.name() + "' differ in dtype");
  if (a.dtype() == plan::UINT8_CODES &&
      (a.quant().scale() != b.quant().scale() || a.quant().zero_point() != b.quant().zero_point() ||
       a.quant().levels() != b.quant().levels()))
    return Fail("tensors '" + a.name() + "' and '" + b.name() + "' differ in quantization");
  return Status();
}

}  // namespace q46::rt
