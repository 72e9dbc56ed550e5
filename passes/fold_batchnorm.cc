//===- fold_batchnorm.cc - Fold inference BatchNormalization --------------===//
//
// y = (x - mean) / sqrt(var + eps) * gamma + beta is a per-channel affine map s * x + t. When x is the only
// use of a convolution's output, the map is folded into the convolution: W[oc] *= s[oc], b = b * s + t.
// Otherwise (BatchNorm after a pool, an add, an input) it becomes Mul and Add by per-channel constants, which
// later passes or the float runtime handle.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "absl/strings/str_cat.h"
#include "passes/pass.h"
#include "passes/pass_util.h"

namespace q46 {
namespace {

// The affine map (s, t) of a BatchNorm node.
void BatchNormAffine(const ir::Graph& g, const ir::Node& bn, std::vector<float>* s, std::vector<float>* t) {
  const float eps = std::get<ir::BatchNormAttrs>(bn.attrs).epsilon;
  const auto& gamma = g.values[bn.inputs[1]].constant->data;
  const auto& beta = g.values[bn.inputs[2]].constant->data;
  const auto& mean = g.values[bn.inputs[3]].constant->data;
  const auto& var = g.values[bn.inputs[4]].constant->data;
  s->resize(gamma.size());
  t->resize(gamma.size());
  for (size_t c = 0; c < gamma.size(); ++c) {
    (*s)[c] = static_cast<float>(gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps));
    (*t)[c] = beta[c] - mean[c] * (*s)[c];
  }
}

}  // namespace

absl::Status FoldBatchNorm(ir::Graph& g, PassContext& ctx) {
  int folded = 0, affine = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& bn = g.nodes[i];
    if (bn.dead || !std::holds_alternative<ir::BatchNormAttrs>(bn.attrs)) continue;
    std::vector<float> s, t;
    BatchNormAffine(g, bn, &s, &t);
    const ir::ValueId x = bn.inputs[0], y = bn.outputs[0];
    if (const int conv = SoleProducerConv(g, x); conv >= 0) {
      ScaleConvOutputChannels(g, g.nodes[conv], s, t);
      bn.dead = true;
      g.ReplaceUses(y, x);
      ++folded;
      continue;
    }
    // y = x * s + t with s, t shaped to broadcast over [N, C, ...].
    std::vector<int64_t> cdims = {static_cast<int64_t>(s.size())};
    for (size_t k = 2; k < g.values[x].dims.size(); ++k) cdims.push_back(1);
    const ir::ValueId sv = g.AddConstant(bn.name + ".scale", {cdims, s});
    const ir::ValueId tv = g.AddConstant(bn.name + ".shift", {cdims, t});
    const ir::ValueId mid = g.AddValue({bn.name + ".scaled", g.values[x].dims, std::nullopt, std::nullopt});
    ir::Node mul{bn.name + "/mul", bn.op_type, {x, sv}, {mid}, ir::BinaryAttrs{kernels::BinaryKind::kMul, {}}};
    bn.attrs = ir::BinaryAttrs{kernels::BinaryKind::kAdd, {}};
    bn.inputs = {mid, tv};
    g.nodes.insert(g.nodes.begin() + static_cast<long>(i), std::move(mul));
    ++i;
    ++affine;
  }
  g.Compact();
  ctx.summary = absl::StrCat(folded, " folded into convolutions, ", affine, " lowered to per-channel affine");
  return absl::OkStatus();
}

}  // namespace q46
