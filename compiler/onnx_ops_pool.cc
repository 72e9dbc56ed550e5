// ONNX handlers for pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (2-D, NCHW), and the
// reductions over any axes ReduceMean, ReduceMax, ReduceMin, ReduceSum (exporters write global pools as these).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "compiler/onnx_ops_util.h"

namespace q46 {
namespace {

// Output length in floor or ceil mode, as ONNX shape inference computes it.
int64_t PoolOutput(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil_mode) {
  const int64_t span = d * (k - 1) + 1, padded = in + pb + pe;
  if (span > padded) return -1;
  return (ceil_mode ? (padded - span + s - 1) / s : (padded - span) / s) + 1;
}

absl::Status Pool(ImportContext& ctx, bool max) {
  const auto& x = ctx.InputDims(0);
  if (x.size() != 4) return ctx.Error("only 2-D pooling on NCHW inputs is supported");
  if (ctx.proto().output_size() > 1) return ctx.Error("the Indices output is not supported");
  const auto kernel = ctx.AttrInts("kernel_shape");
  const auto strides = ctx.AttrInts("strides", {1, 1});
  const auto dilations = ctx.AttrInts("dilations", {1, 1});
  const auto pads = ctx.AttrInts("pads", {0, 0, 0, 0});
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
    return ctx.Error("only 2-D windows are supported");
  ir::PoolAttrs a;
  a.max = max;
  a.count_include_pad = ctx.AttrInt("count_include_pad", 0) != 0;
  ir::Window2d& w = a.window;
  w.kh = kernel[0], w.kw = kernel[1], w.sh = strides[0], w.sw = strides[1], w.dh = dilations[0], w.dw = dilations[1];
  w.pad_t = pads[0], w.pad_l = pads[1], w.pad_b = pads[2], w.pad_r = pads[3];
  if (w.kh < 1 || w.kw < 1 || w.sh < 1 || w.sw < 1 || w.dh < 1 || w.dw < 1) return ctx.Error("invalid window");
  const std::string auto_pad = ctx.AttrString("auto_pad", "NOTSET");
  if (absl::Status st = ResolveAutoPad(ctx, auto_pad, x[2], x[3], &w); !st.ok()) return st;
  const bool ceil_mode = ctx.AttrInt("ceil_mode", 0) != 0;
  const int64_t oh = PoolOutput(x[2], w.kh, w.sh, w.dh, w.pad_t, w.pad_b, ceil_mode);
  const int64_t ow = PoolOutput(x[3], w.kw, w.sw, w.dw, w.pad_l, w.pad_r, ceil_mode);
  if (oh < 1 || ow < 1) return ctx.Error("the window does not fit the input");
  ctx.Emit(a, {ctx.Input(0)}, {{x[0], x[1], oh, ow}});
  return absl::OkStatus();
}

absl::Status GlobalPool(ImportContext& ctx, bool max) {
  const auto& x = ctx.InputDims(0);
  if (x.size() != 4) return ctx.Error("only NCHW inputs are supported");
  ir::PoolAttrs a;
  a.max = max;
  a.window.kh = x[2], a.window.kw = x[3];
  ctx.Emit(a, {ctx.Input(0)}, {{x[0], x[1], 1, 1}});
  return absl::OkStatus();
}

// Axes come from the attribute (opsets below 18; ReduceSum below 13) or a constant second input (ReduceSum 13+).
absl::Status Reduce(ImportContext& ctx, kernels::ReduceKind kind) {
  const std::vector<int64_t>& x = ctx.InputDims(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes;
  if (absl::Status st = ReadInts(ctx, 1, "axes", -rank, rank - 1, &axes); !st.ok()) return st;
  if (axes.empty() && ctx.AttrInt("noop_with_empty_axes", 0) != 0) {
    ctx.Alias(0, ctx.Input(0));
    return absl::OkStatus();
  }
  if (axes.empty())
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  for (int64_t& a : axes)
    if (a < 0) a += rank;
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) return ctx.Error("an axis is listed twice");
  if (rank > static_cast<int64_t>(kernels::kMaxReduceRank))
    return ctx.Error(absl::StrCat("rank ", rank, " is above ", kernels::kMaxReduceRank));
  const bool keepdims = ctx.AttrInt("keepdims", 1) != 0;
  std::vector<int64_t> dims;
  for (int64_t a = 0; a < rank; ++a) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), a);
    if (!reduced || keepdims) dims.push_back(reduced ? 1 : x[a]);
  }
  if (const FloatTensor* c = ctx.ConstInput(0)) {
    FloatTensor y{dims, std::vector<float>(FloatTensor::NumElements(dims))};
    kernels::ReduceF32Ref(kind, c->data.data(), c->dims, axes, y.data.data());
    ctx.EmitConstant(0, std::move(y));
    return absl::OkStatus();
  }
  ctx.Emit(ir::ReduceAttrs{kind, axes}, {ctx.Input(0)}, {dims});
  return absl::OkStatus();
}

absl::Status MaxPool(ImportContext& ctx) { return Pool(ctx, true); }
absl::Status AveragePool(ImportContext& ctx) { return Pool(ctx, false); }
absl::Status GlobalAveragePool(ImportContext& ctx) { return GlobalPool(ctx, false); }
absl::Status GlobalMaxPool(ImportContext& ctx) { return GlobalPool(ctx, true); }

}  // namespace

void RegisterPoolOps(OpTable& t) {
  t["MaxPool"] = MaxPool;
  t["AveragePool"] = AveragePool;
  t["GlobalAveragePool"] = GlobalAveragePool;
  t["GlobalMaxPool"] = GlobalMaxPool;
  t["ReduceMean"] = [](ImportContext& ctx) { return Reduce(ctx, kernels::ReduceKind::kMean); };
  t["ReduceMax"] = [](ImportContext& ctx) { return Reduce(ctx, kernels::ReduceKind::kMax); };
  t["ReduceMin"] = [](ImportContext& ctx) { return Reduce(ctx, kernels::ReduceKind::kMin); };
  t["ReduceSum"] = [](ImportContext& ctx) { return Reduce(ctx, kernels::ReduceKind::kSum); };
}

}  // namespace q46
