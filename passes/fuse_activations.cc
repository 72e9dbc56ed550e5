//===- fuse_activations.cc - Fuse activations into producing layers -------===//
//
// An activation whose input is the sole use of an elementwise op's output is fused into that op; a clamp
// (ReLU, ReLU6, HardTanh, Clip), tanh or sigmoid also into a convolution. LeakyRelu, HardSigmoid and HardSwish
// stay standalone after a convolution: the float convolution's oneDNN primitive takes only the first kinds as
// post-ops, and a fused one would fall back to the reference kernel. Two clamps in a row intersect. On quantized
// layers a fused clamp becomes the code range of the requantized output, so ReLU6 costs nothing at run time.
// First, the activations a convolution can take are hoisted above max pools and reshapes (they are
// non-decreasing, so act(maxpool(x)) == maxpool(act(x))): the article's networks apply ReLU6 after the pool, and
// hoisting lets it reach the convolution, so the pool then runs on codes. The other kinds stay where they are:
// hoisted, they would run on the larger tensor before the pool and gain nothing.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace q46 {
namespace {

bool ConvCanTake(const ir::FloatActivation& a) {
  using A = ir::FloatActivation;
  return a.kind == A::kClip || a.kind == A::kTanh || a.kind == A::kSigmoid;
}

ir::FloatActivation* ActivationSlot(ir::Node& n, const ir::FloatActivation& next) {
  if (auto* c = ir::AttrsIf<ir::ConvAttrs>(n)) return ConvCanTake(next) ? &c->activation : nullptr;
  if (auto* b = ir::AttrsIf<ir::BinaryAttrs>(n)) return &b->activation;
  if (auto* u = ir::AttrsIf<ir::UnaryAttrs>(n)) return &u->activation;
  return nullptr;
}

// Combines `next` after `slot`; false if the pair cannot be expressed as one activation.
bool Combine(ir::FloatActivation* slot, const ir::FloatActivation& next) {
  if (slot->kind == ir::FloatActivation::kNone) {
    *slot = next;
    return true;
  }
  if (slot->kind == ir::FloatActivation::kClip && next.kind == ir::FloatActivation::kClip) {
    slot->lo = std::min(std::max(slot->lo, next.lo), next.hi);
    slot->hi = std::max(std::min(slot->hi, next.hi), next.lo);
    return true;
  }
  return false;
}

// u = act(p(x)) with p a max pool or reshape read only by u: becomes p(act(x)). Returns true if rewritten.
bool HoistAboveCommuting(ir::Graph& g, int u_index) {
  ir::Node& u = g.nodes[u_index];
  const int p_index = g.Producer(u.inputs[0]);
  if (p_index < 0 || SoleConsumer(g, u.inputs[0]) < 0 || !ConvCanTake(ir::AttrsIf<ir::UnaryAttrs>(u)->activation))
    return false;
  const ir::Node& p = g.nodes[p_index];
  const auto* pool = ir::AttrsIf<ir::PoolAttrs>(p);
  if (!(pool && pool->max) && !std::holds_alternative<ir::ReshapeAttrs>(p.attrs)) return false;
  const ir::ValueId x = p.inputs[0], y = p.outputs[0], z = u.outputs[0];
  const ir::ValueId act_out = g.AddValue({g.values[x].name + "/act", g.values[x].dims, std::nullopt, std::nullopt});
  ir::Node act = g.nodes[u_index], moved = g.nodes[p_index];
  act.inputs = {x};
  act.outputs = {act_out};
  moved.inputs = {act_out};
  moved.outputs = {z};
  g.values[z].dims = g.values[y].dims;
  g.nodes[p_index] = std::move(act);
  g.nodes[u_index] = std::move(moved);
  return true;
}

}  // namespace

absl::Status FuseActivations(ir::Graph& g, PassContext& ctx) {
  int hoisted = 0, fused = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i)
      if (ir::AttrsIf<ir::UnaryAttrs>(g.nodes[i]) && HoistAboveCommuting(g, i)) changed = true, ++hoisted;
  }
  for (ir::Node& n : g.nodes) {
    const auto* u = ir::AttrsIf<ir::UnaryAttrs>(n);
    if (n.dead || !u) continue;
    const int p = g.Producer(n.inputs[0]);
    if (p < 0 || SoleConsumer(g, n.inputs[0]) < 0) continue;
    ir::Node& producer = g.nodes[p];
    ir::FloatActivation* slot = ActivationSlot(producer, u->activation);
    if (!slot || !Combine(slot, u->activation)) continue;
    n.dead = true;
    g.ReplaceUses(n.outputs[0], n.inputs[0]);
    ++fused;
  }
  g.Compact();
  ctx.summary = absl::StrCat(hoisted, " activations hoisted above pools / reshapes, ", fused, " fused");
  return absl::OkStatus();
}

}  // namespace q46
