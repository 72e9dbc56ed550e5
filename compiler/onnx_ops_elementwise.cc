// ONNX handlers for elementwise ops: activations (Relu, Clip, Tanh, Sigmoid, LeakyRelu, HardSigmoid,
// HardSwish), arithmetic with numpy broadcasting (Add, Sub, Mul, Div, and PRelu), Softmax, and the
// pass-throughs Identity and Dropout. Ops on constants are folded here.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "compiler/onnx_ops_util.h"

namespace q46 {
namespace {

using kernels::FloatActivation;

absl::Status EmitActivation(ImportContext& ctx, FloatActivation act) {
  if (const FloatTensor* c = ctx.ConstInput(0)) {
    FloatTensor y{c->dims, std::vector<float>(c->data.size())};
    kernels::UnaryF32Ref(c->data.data(), c->size(), act, y.data.data());
    ctx.EmitConstant(0, std::move(y));
    return absl::OkStatus();
  }
  ctx.Emit(ir::UnaryAttrs{act}, {ctx.Input(0)}, {ctx.InputDims(0)});
  return absl::OkStatus();
}

absl::Status Relu(ImportContext& ctx) { return EmitActivation(ctx, {FloatActivation::kClip, 0.0f, INFINITY}); }
absl::Status Tanh(ImportContext& ctx) { return EmitActivation(ctx, {FloatActivation::kTanh}); }
absl::Status Sigmoid(ImportContext& ctx) { return EmitActivation(ctx, {FloatActivation::kSigmoid}); }

absl::Status LeakyRelu(ImportContext& ctx) {
  FloatActivation act{FloatActivation::kLeakyRelu};
  act.alpha = ctx.AttrFloat("alpha", 0.01f);
  return EmitActivation(ctx, act);
}

absl::Status HardSigmoid(ImportContext& ctx) {
  FloatActivation act{FloatActivation::kHardSigmoid};
  act.alpha = ctx.AttrFloat("alpha", 0.2f);
  act.beta = ctx.AttrFloat("beta", 0.5f);
  return EmitActivation(ctx, act);
}

// HardSwish (opset 14) has no attributes: alpha = 1/6, beta = 1/2.
absl::Status HardSwish(ImportContext& ctx) {
  FloatActivation act{FloatActivation::kHardSwish};
  act.alpha = 1.0f / 6.0f;
  act.beta = 0.5f;
  return EmitActivation(ctx, act);
}

absl::Status Clip(ImportContext& ctx) {
  FloatActivation act{FloatActivation::kClip, -INFINITY, INFINITY};
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.HasInput(i)) continue;
    const FloatTensor* bound;
    if (absl::Status st = ctx.RequireConstInput(i, "a Clip bound", &bound); !st.ok()) return st;
    if (bound->size() != 1) return ctx.Error("Clip bounds must be scalars");
    (i == 1 ? act.lo : act.hi) = bound->data[0];
  }
  if (act.lo > act.hi) return ctx.Error("Clip min is above max");
  return EmitActivation(ctx, act);
}

absl::Status Binary(ImportContext& ctx, kernels::BinaryKind kind) {
  std::vector<int64_t> y;
  if (!BroadcastDims(ctx.InputDims(0), ctx.InputDims(1), &y))
    return ctx.Error("the operands do not broadcast");
  const FloatTensor* a = ctx.ConstInput(0);
  const FloatTensor* b = ctx.ConstInput(1);
  if (a && b) {
    FloatTensor out{y, std::vector<float>(FloatTensor::NumElements(y))};
    kernels::BinaryF32Ref(kind, a->data.data(), a->dims, b->data.data(), b->dims, {}, out.data.data(), y);
    ctx.EmitConstant(0, std::move(out));
    return absl::OkStatus();
  }
  ctx.Emit(ir::BinaryAttrs{kind, {}}, {ctx.Input(0), ctx.Input(1)}, {y});
  return absl::OkStatus();
}

absl::Status Add(ImportContext& ctx) { return Binary(ctx, kernels::BinaryKind::kAdd); }
absl::Status Sub(ImportContext& ctx) { return Binary(ctx, kernels::BinaryKind::kSub); }
absl::Status Mul(ImportContext& ctx) { return Binary(ctx, kernels::BinaryKind::kMul); }
absl::Status Div(ImportContext& ctx) { return Binary(ctx, kernels::BinaryKind::kDiv); }

// PRelu's slope broadcasts to the input's shape only (unidirectionally).
absl::Status PRelu(ImportContext& ctx) {
  std::vector<int64_t> y;
  if (!BroadcastDims(ctx.InputDims(0), ctx.InputDims(1), &y) || y != ctx.InputDims(0))
    return ctx.Error("the slope does not broadcast to the input's shape");
  return Binary(ctx, kernels::BinaryKind::kPRelu);
}

absl::Status Softmax(ImportContext& ctx) {
  const int64_t rank = static_cast<int64_t>(ctx.InputDims(0).size());
  int64_t axis = ctx.AttrInt("axis", -1);
  if (axis < -rank || axis >= rank) return ctx.Error(absl::StrCat("axis ", axis, " is out of range"));
  if (axis < 0) axis += rank;
  ctx.Emit(ir::SoftmaxAttrs{axis}, {ctx.Input(0)}, {ctx.InputDims(0)});
  return absl::OkStatus();
}

absl::Status PassThrough(ImportContext& ctx) {
  if (ctx.proto().output_size() > 1 && !ctx.proto().output(1).empty())
    return ctx.Error("the mask output is not supported");
  ctx.Alias(0, ctx.Input(0));
  return absl::OkStatus();
}

// Dropout is the identity in inference mode. Opset 12+ has the mode as input 2 (training_mode, default false)
// and the ratio as input 1 (default 0.5): training mode with a nonzero ratio drops values at random.
absl::Status Dropout(ImportContext& ctx) {
  if (ctx.HasInput(2)) {
    const FloatTensor* training;
    if (absl::Status st = ctx.RequireConstInput(2, "training_mode", &training); !st.ok()) return st;
    float ratio = 0.5f;
    if (ctx.HasInput(1)) {
      const FloatTensor* r;
      if (absl::Status st = ctx.RequireConstInput(1, "ratio", &r); !st.ok()) return st;
      if (r->size() != 1) return ctx.Error("ratio must be a scalar");
      ratio = r->data[0];
    }
    if (training->size() != 1) return ctx.Error("training_mode must be a scalar");
    if (training->data[0] != 0 && ratio != 0)
      return ctx.Error("training-mode Dropout is not supported (export the model in eval mode)");
  }
  return PassThrough(ctx);
}

}  // namespace

void RegisterElementwiseOps(OpTable& t) {
  t["Relu"] = Relu;
  t["Clip"] = Clip;
  t["Tanh"] = Tanh;
  t["Sigmoid"] = Sigmoid;
  t["LeakyRelu"] = LeakyRelu;
  t["HardSigmoid"] = HardSigmoid;
  t["HardSwish"] = HardSwish;
  t["Add"] = Add;
  t["Sub"] = Sub;
  t["Mul"] = Mul;
  t["Div"] = Div;
  t["PRelu"] = PRelu;
  t["Softmax"] = Softmax;
  t["Identity"] = PassThrough;
  t["Dropout"] = Dropout;
}

}  // namespace q46
