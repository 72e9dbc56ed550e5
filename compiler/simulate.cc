// Plan simulation (see simulate.h). The quantized convolution here is written independently of the runtime's
// kernels: codes are centered (u - z_x) so padding contributes exactly zero and no zero-point term is folded.
#include "compiler/simulate.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "runtime/arith.h"
#include "runtime/kernels/onednn/conv_f32_onednn.h"
#include "runtime/model.h"
#include "runtime/ops/op_builder.h"
#include "runtime/thread_count_scope.h"

namespace q46 {
namespace {

absl::Status SimulateQuantConv(const plan::Plan& plan, const plan::Node& node, std::vector<std::vector<char>>& buf) {
  const plan::QuantConv& q = node.quant_conv();
  const plan::Tensor& xt = plan.tensors(node.inputs(0));
  const plan::Tensor& yt = plan.tensors(node.outputs(0));
  rt::OpBuilder b(plan, node, "QuantConv");
  kernels::Dims4 xs, ys;
  kernels::Window2d w;
  kernels::FloatActivation act;
  for (const rt::Status& st : {b.ToDims4(xt, &xs), b.ToDims4(yt, &ys), b.ToWindow(q.window(), false, &w),
                               b.ToActivation(q.activation(), &act)})
    if (!st.ok()) return absl::InvalidArgumentError(st.message());
  const auto* x = reinterpret_cast<const uint8_t*>(buf[node.inputs(0)].data());
  const auto* wc = reinterpret_cast<const int8_t*>(q.weight_codes().data());
  const int32_t zx = xt.quant().zero_point();
  const float sx = xt.quant().scale();
  const int64_t g = q.groups(), cin_g = xs.c / g, cout_g = ys.c / g;
  for (int64_t n = 0; n < ys.n; ++n)
    for (int64_t oc = 0; oc < ys.c; ++oc) {
      const float sw = q.weight_scales(q.weight_scales_size() == 1 ? 0 : static_cast<int>(oc));
      const int64_t ic0 = (oc / cout_g) * cin_g;
      for (int64_t oy = 0; oy < ys.h; ++oy)
        for (int64_t ox = 0; ox < ys.w; ++ox) {
          int64_t acc = q.bias(static_cast<int>(oc));
          for (int64_t ky = 0; ky < w.kh; ++ky) {
            const int64_t iy = oy * w.sh - w.pad_t + ky * w.dh;
            if (iy < 0 || iy >= xs.h) continue;  // padding: centered code 0
            for (int64_t kx = 0; kx < w.kw; ++kx) {
              const int64_t ix = ox * w.sw - w.pad_l + kx * w.dw;
              if (ix < 0 || ix >= xs.w) continue;
              for (int64_t ic = 0; ic < cin_g; ++ic) {
                const int64_t centered = int64_t{x[((n * xs.c + ic0 + ic) * xs.h + iy) * xs.w + ix]} - zx;
                acc += centered * wc[((oc * cin_g + ic) * w.kh + ky) * w.kw + kx];
              }
            }
          }
          if (acc < std::numeric_limits<int32_t>::min() || acc > std::numeric_limits<int32_t>::max())
            return absl::InternalError(absl::StrCat("layer '", node.name(), "' overflows int32"));
          const int64_t i = ((n * ys.c + oc) * ys.h + oy) * ys.w + ox;
          const auto acc32 = static_cast<int32_t>(acc);
          if (yt.dtype() == plan::UINT8_CODES) {
            const float m = arith::RequantMultiplier(sx, sw, yt.quant().scale());
            reinterpret_cast<uint8_t*>(buf[node.outputs(0)].data())[i] = static_cast<uint8_t>(
                arith::Requantize(acc32, m, yt.quant().zero_point(), {q.out_lo(), q.out_hi()}));
          } else {
            reinterpret_cast<float*>(buf[node.outputs(0)].data())[i] =
                kernels::Activate(arith::DequantizeAccumulator(acc32, arith::AccumulatorScale(sx, sw)), act);
          }
        }
    }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<FloatTensor>> SimulatePlan(const plan::Plan& plan, const std::vector<FloatTensor>& inputs) {
  if (rt::Status st = rt::ValidatePlanStructure(plan); !st.ok()) return absl::InvalidArgumentError(st.message());
  if (inputs.size() != static_cast<size_t>(plan.inputs_size()))
    return absl::InvalidArgumentError("wrong number of inputs");
  std::vector<std::vector<char>> buf(plan.tensors_size());
  for (int i = 0; i < plan.tensors_size(); ++i) {
    const plan::Tensor& t = plan.tensors(i);
    buf[i].assign(static_cast<size_t>(rt::NumElements(t)) * (t.dtype() == plan::UINT8_CODES ? 1 : sizeof(float)), 0);
    if (!t.data().empty()) std::memcpy(buf[i].data(), t.data().data(), t.data().size());
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<char>& dst = buf[plan.inputs(static_cast<int>(i))];
    if (inputs[i].data.size() * sizeof(float) != dst.size()) return absl::InvalidArgumentError("wrong input size");
    std::memcpy(dst.data(), inputs[i].data.data(), dst.size());
  }
  std::vector<void*> pointers;
  for (auto& b : buf) pointers.push_back(b.data());
  rt::ThreadCountScope one_thread(1);  // as the runtime runs: oneDNN's results depend on its work split
  dnnl::stream stream(kernels::CpuEngine());
  for (const plan::Node& node : plan.nodes()) {
    if (node.has_quant_conv()) {
      if (absl::Status st = SimulateQuantConv(plan, node, buf); !st.ok()) return st;
      continue;
    }
    std::unique_ptr<rt::Op> op;
    if (rt::Status st = rt::CreateOp(plan, node, rt::LoadOptions(), &op); !st.ok())
      return absl::InvalidArgumentError(st.message());
    std::vector<unsigned char> scratch(op->scratch_bytes(1));
    rt::RunState state{pointers.data(), &stream, scratch.data(), 1, nullptr};
    const std::unique_ptr<rt::PreparedOp> prepared = op->Prepare(state);
    state.prepared = prepared.get();
    op->Run(state);
    stream.wait();
  }
  std::vector<FloatTensor> out;
  for (int idx : plan.outputs()) {
    const plan::Tensor& t = plan.tensors(idx);
    FloatTensor f{rt::DimsOf(t), std::vector<float>(static_cast<size_t>(rt::NumElements(t)))};
    std::memcpy(f.data.data(), buf[idx].data(), f.data.size() * sizeof(float));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace q46
