//===- fold_constants.cc - Fold constant arithmetic into layers ------------===//
//
// Two rewrites, each matched cheaply and then applied:
//  * conv -> Mul / Div / Add / Sub by a constant that is a scalar or one value per output channel (e.g. the
//    CIFAR networks' "divide by 2" after conv0): folded into the convolution's weights and bias.
//  * Pad with zeros on the spatial axes -> convolution (or average pool counting padding): folded into the
//    layer's own padding, so the padded copy is never materialised.
// Both require the intermediate value to have no other reader.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace q46 {
namespace {

// Per-output-channel values of a constant that broadcasts onto conv output dims only along the channel axis.
bool PerChannel(const FloatTensor& c, const std::vector<int64_t>& out_dims, std::vector<float>* v) {
  const int64_t channels = out_dims[1];
  const size_t rank = out_dims.size();
  if (c.dims.size() > rank) return false;
  for (size_t i = 0; i < c.dims.size(); ++i) {
    const size_t axis = rank - c.dims.size() + i;
    if (c.dims[i] != 1 && axis != 1) return false;
  }
  if (c.size() == 1) {
    v->assign(channels, c.data[0]);
    return true;
  }
  if (c.size() != channels) return false;
  *v = c.data;
  return true;
}

bool FoldArithmetic(ir::Graph& g, ir::Node& n) {
  const auto* b = ir::AttrsIf<ir::BinaryAttrs>(n);
  if (!b || b->activation.kind != ir::FloatActivation::kNone || b->kind == kernels::BinaryKind::kPRelu) return false;
  for (int side = 0; side < 2; ++side) {
    const ir::ValueId x = n.inputs[side], k = n.inputs[1 - side];
    const bool commutes = b->kind == kernels::BinaryKind::kAdd || b->kind == kernels::BinaryKind::kMul;
    if (side == 1 && !commutes) break;  // constant - conv, constant / conv do not fold
    const int conv = g.IsConstant(k) ? SoleProducerConv(g, x) : -1;
    std::vector<float> v;
    if (conv < 0 || g.values[x].dims != g.values[n.outputs[0]].dims ||
        !PerChannel(*g.values[k].constant, g.values[x].dims, &v))
      continue;
    std::vector<float> s(v.size(), 1.0f), t(v.size(), 0.0f);
    for (size_t c = 0; c < v.size(); ++c) {
      switch (b->kind) {
        case kernels::BinaryKind::kMul: s[c] = v[c]; break;
        case kernels::BinaryKind::kDiv: s[c] = 1.0f / v[c]; break;
        case kernels::BinaryKind::kAdd: t[c] = v[c]; break;
        case kernels::BinaryKind::kSub: t[c] = -v[c]; break;
        case kernels::BinaryKind::kPRelu: break;  // not linear: declined above
      }
    }
    ScaleConvOutputChannels(g, g.nodes[conv], s, t);
    n.dead = true;
    g.ReplaceUses(n.outputs[0], x);
    return true;
  }
  return false;
}

bool FoldPad(ir::Graph& g, ir::Node& n) {
  const auto* p = ir::AttrsIf<ir::PadAttrs>(n);
  if (!p || p->value != 0.0f || p->pads.size() != 8) return false;
  for (int axis : {0, 1, 4, 5})
    if (p->pads[axis] != 0) return false;  // batch or channel padding
  const int reader = SoleConsumer(g, n.outputs[0]);
  if (reader < 0) return false;
  ir::Node& r = g.nodes[reader];
  ir::Window2d* w = nullptr;
  if (auto* c = ir::AttrsIf<ir::ConvAttrs>(r); c && !c->transposed && r.inputs[0] == n.outputs[0]) w = &c->window;
  if (auto* a = ir::AttrsIf<ir::PoolAttrs>(r); a && !a->max) {
    const bool own_pads = a->window.pad_t || a->window.pad_l || a->window.pad_b || a->window.pad_r;
    if (own_pads && !a->count_include_pad) return false;
    a->count_include_pad = true;  // the padded zeros were real elements
    w = &a->window;
  }
  if (!w) return false;
  w->pad_t += p->pads[2], w->pad_l += p->pads[3], w->pad_b += p->pads[6], w->pad_r += p->pads[7];
  r.inputs[0] = n.inputs[0];
  n.dead = true;
  return true;
}

}  // namespace

absl::Status FoldConstants(ir::Graph& g, PassContext& ctx) {
  int arithmetic = 0, pads = 0;
  for (ir::Node& n : g.nodes) {
    if (n.dead) continue;
    if (FoldArithmetic(g, n)) ++arithmetic;
    else if (FoldPad(g, n)) ++pads;
  }
  g.Compact();
  ctx.summary = absl::StrCat(arithmetic, " constant multiply/add folded into convolutions, ", pads, " zero pads folded");
  return absl::OkStatus();
}

}  // namespace q46
