// ONNX handlers for the layers with weights: Conv, ConvTranspose, Gemm, MatMul, BatchNormalization.
// Gemm and MatMul by a constant matrix become 1x1 convolutions on a rank-2 input, so one quantized path serves
// convolutional and fully connected layers.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compiler/onnx_import_context.h"
#include "compiler/onnx_ops_util.h"

namespace q46 {
namespace {

// Strides, dilations and explicit pads of a 2-D window (auto_pad resolved by the caller). Strides and
// dilations are positive: the importer checks that before ONNX's shape inference divides by them.
absl::Status ReadWindow(ImportContext& ctx, int64_t kh, int64_t kw, ir::Window2d* w) {
  const auto strides = ctx.AttrInts("strides", {1, 1});
  const auto dilations = ctx.AttrInts("dilations", {1, 1});
  const auto pads = ctx.AttrInts("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
    return ctx.Error("only 2-D windows are supported (strides, dilations and pads of length 2, 2, 4)");
  for (int64_t v : pads) if (v < 0) return ctx.Error("pads must be non-negative");
  w->kh = kh, w->kw = kw;
  w->sh = strides[0], w->sw = strides[1];
  w->dh = dilations[0], w->dw = dilations[1];
  w->pad_t = pads[0], w->pad_l = pads[1], w->pad_b = pads[2], w->pad_r = pads[3];
  return absl::OkStatus();
}

absl::Status ConvLike(ImportContext& ctx, bool transposed) {
  if (ctx.InputDims(0).size() != 4) return ctx.Error("only 2-D convolutions on NCHW inputs are supported");
  const FloatTensor* w;
  if (absl::Status st = ctx.RequireConstInput(1, "the weight", &w); !st.ok()) return st;
  if (w->dims.size() != 4) return ctx.Error("the weight must be 4-D");
  const auto& x = ctx.InputDims(0);
  const int64_t groups = ctx.AttrInt("group", 1);
  if (groups < 1 || x[1] % groups) return ctx.Error(absl::StrCat("group ", groups, " does not divide ", x[1], " channels"));
  const int64_t kh = w->dims[2], kw = w->dims[3];
  const auto kernel = ctx.AttrInts("kernel_shape", {kh, kw});
  if (kernel != std::vector<int64_t>{kh, kw}) return ctx.Error("kernel_shape disagrees with the weight");
  ir::ConvAttrs a;
  a.groups = groups;
  a.transposed = transposed;
  if (absl::Status st = ReadWindow(ctx, kh, kw, &a.window); !st.ok()) return st;
  ir::Window2d& win = a.window;
  const std::string auto_pad = ctx.AttrString("auto_pad", "NOTSET");
  const int64_t out_c = transposed ? w->dims[1] * groups : w->dims[0];
  if ((transposed ? w->dims[0] : w->dims[1] * groups) != x[1])
    return ctx.Error(absl::StrCat("the weight [", absl::StrJoin(w->dims, ", "), "] does not fit ", x[1],
                                  " input channels with group ", groups));
  int64_t oh, ow;
  if (!transposed) {
    if (absl::Status st = ResolveAutoPad(ctx, auto_pad, x[2], x[3], &win); !st.ok()) return st;
    oh = WindowOutputSize(x[2], win.kh, win.sh, win.dh, win.pad_t, win.pad_b);
    ow = WindowOutputSize(x[3], win.kw, win.sw, win.dw, win.pad_l, win.pad_r);
  } else {
    const auto out_pad = ctx.AttrInts("output_padding", {0, 0});
    if (out_pad.size() != 2) return ctx.Error("output_padding must have 2 values");
    win.out_pad_h = out_pad[0], win.out_pad_w = out_pad[1];
    const int64_t full_h = win.sh * (x[2] - 1) + win.out_pad_h + (win.kh - 1) * win.dh + 1;
    const int64_t full_w = win.sw * (x[3] - 1) + win.out_pad_w + (win.kw - 1) * win.dw + 1;
    std::vector<int64_t> target = ctx.AttrInts("output_shape");
    if (target.empty() && (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER"))
      target = {x[2] * win.sh, x[3] * win.sw};
    if (target.size() > 2) target.erase(target.begin(), target.end() - 2);
    if (!target.empty()) {
      if (target.size() != 2) return ctx.Error("output_shape must have 2 spatial values");
      int64_t th = full_h - target[0], tw = full_w - target[1];
      // ONNX: a negative total padding (output_shape beyond the full output) extends the output at the end,
      // as output_padding does (ONNX's reference and onnxruntime agree).
      if (th < 0) win.out_pad_h -= th, th = 0;
      if (tw < 0) win.out_pad_w -= tw, tw = 0;
      const bool upper = auto_pad != "SAME_LOWER";
      win.pad_t = upper ? th / 2 : th - th / 2, win.pad_b = th - win.pad_t;
      win.pad_l = upper ? tw / 2 : tw - tw / 2, win.pad_r = tw - win.pad_l;
    } else if (auto_pad == "VALID") {
      win.pad_t = win.pad_b = win.pad_l = win.pad_r = 0;
    }
    oh = full_h + (win.out_pad_h - out_pad[0]) - win.pad_t - win.pad_b;
    ow = full_w + (win.out_pad_w - out_pad[1]) - win.pad_l - win.pad_r;
  }
  if (oh < 1 || ow < 1) return ctx.Error("the window does not fit the input");
  std::vector<ir::ValueId> inputs = {ctx.Input(0), ctx.Input(1)};
  if (ctx.HasInput(2)) {
    const FloatTensor* b;
    if (absl::Status st = ctx.RequireConstInput(2, "the bias", &b); !st.ok()) return st;
    if (b->size() != out_c) return ctx.Error("the bias does not have one value per output channel");
    inputs.push_back(ctx.Input(2));
  }
  ctx.Emit(std::move(a), std::move(inputs), {{x[0], out_c, oh, ow}});
  return absl::OkStatus();
}

absl::Status Conv(ImportContext& ctx) { return ConvLike(ctx, false); }
absl::Status ConvTranspose(ImportContext& ctx) { return ConvLike(ctx, true); }

// A fully connected layer y = x W^T + b on x [N, K], as a 1x1 convolution with weights [M, K, 1, 1].
void EmitDense(ImportContext& ctx, ir::ValueId x, FloatTensor weight_mk, std::optional<FloatTensor> bias) {
  const int64_t n = ctx.graph().values[x].dims[0], m = weight_mk.dims[0];
  weight_mk.dims = {weight_mk.dims[0], weight_mk.dims[1], 1, 1};
  std::vector<ir::ValueId> inputs = {x, ctx.graph().AddConstant(ctx.name() + ".weight", std::move(weight_mk))};
  if (bias) inputs.push_back(ctx.graph().AddConstant(ctx.name() + ".bias", std::move(*bias)));
  ctx.Emit(ir::ConvAttrs{}, std::move(inputs), {{n, m}});
}

absl::Status Gemm(ImportContext& ctx) {
  if (ctx.AttrInt("transA", 0) != 0) return ctx.Error("transA = 1 is not supported");
  const auto& a = ctx.InputDims(0);
  const FloatTensor* b;
  if (absl::Status st = ctx.RequireConstInput(1, "B", &b); !st.ok()) return st;
  if (a.size() != 2 || b->dims.size() != 2) return ctx.Error("A and B must be matrices");
  const bool trans_b = ctx.AttrInt("transB", 0) != 0;
  const int64_t k = a[1], m = trans_b ? b->dims[0] : b->dims[1];
  if ((trans_b ? b->dims[1] : b->dims[0]) != k) return ctx.Error("A and B do not multiply");
  const float alpha = ctx.AttrFloat("alpha", 1.0f), beta = ctx.AttrFloat("beta", 1.0f);
  FloatTensor w{{m, k}, std::vector<float>(m * k)};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j) w.data[i * k + j] = alpha * (trans_b ? b->data[i * k + j] : b->data[j * m + i]);
  std::optional<FloatTensor> bias;
  if (ctx.HasInput(2)) {
    const FloatTensor* c;
    if (absl::Status st = ctx.RequireConstInput(2, "C", &c); !st.ok()) return st;
    const bool per_output = c->size() == m && (c->dims.size() == 1 || (c->dims.size() == 2 && c->dims[0] == 1));
    if (!per_output && c->size() != 1)
      return ctx.Error("C must be a scalar or have one value per output (shape [M] or [1, M])");
    bias = FloatTensor{{m}, std::vector<float>(m)};
    for (int64_t i = 0; i < m; ++i) bias->data[i] = beta * c->data[per_output ? i : 0];
  }
  EmitDense(ctx, ctx.Input(0), std::move(w), std::move(bias));
  return absl::OkStatus();
}

absl::Status MatMul(ImportContext& ctx) {
  const auto& a = ctx.InputDims(0);
  const auto& b = ctx.InputDims(1);
  const FloatTensor* bc = ctx.ConstInput(1);
  if (bc && a.size() == 2 && b.size() == 2 && !ctx.ConstInput(0)) {
    if (a[1] != b[0]) return ctx.Error("A and B do not multiply");
    const int64_t k = b[0], m = b[1];
    FloatTensor w{{m, k}, std::vector<float>(m * k)};
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < k; ++j) w.data[i * k + j] = bc->data[j * m + i];
    EmitDense(ctx, ctx.Input(0), std::move(w), std::nullopt);
    return absl::OkStatus();
  }
  std::vector<int64_t> y;
  if (!MatMulOutputDims(a, b, &y)) return ctx.Error("the operands do not multiply");
  ctx.Emit(ir::MatMulAttrs{}, {ctx.Input(0), ctx.Input(1)}, {y});
  return absl::OkStatus();
}

absl::Status BatchNormalization(ImportContext& ctx) {
  if (ctx.AttrInt("training_mode", 0) != 0 || ctx.proto().output_size() > 1)
    return ctx.Error("training-mode BatchNormalization is not supported (export the model in eval mode)");
  const int64_t c = ctx.InputDims(0).size() >= 2 ? ctx.InputDims(0)[1] : -1;
  for (int i = 1; i <= 4; ++i) {
    const FloatTensor* t;
    if (absl::Status st = ctx.RequireConstInput(i, "scale, bias, mean and variance", &t); !st.ok()) return st;
    if (t->size() != c) return ctx.Error("scale, bias, mean and variance need one value per channel");
  }
  ctx.Emit(ir::BatchNormAttrs{ctx.AttrFloat("epsilon", 1e-5f)},
           {ctx.Input(0), ctx.Input(1), ctx.Input(2), ctx.Input(3), ctx.Input(4)}, {ctx.InputDims(0)});
  return absl::OkStatus();
}

}  // namespace

void RegisterConvOps(OpTable& t) {
  t["Conv"] = Conv;
  t["ConvTranspose"] = ConvTranspose;
  t["Gemm"] = Gemm;
  t["MatMul"] = MatMul;
  t["BatchNormalization"] = BatchNormalization;
}

}  // namespace q46
