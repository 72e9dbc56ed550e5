//===- quantize_weights.cc - Quantize weights and biases -------------------===//
//
// For each quantized layer: the input's activation scale and zero point from its calibrated range and N_x;
// weight scales as max |W| / h_w per output channel (or per tensor), or (--weight-clip mse) the shrunk scale with
// the least squared error; weight codes and the int32 bias at scale
// s_x * s_w, all through runtime/arith.h, the one definition the runtime also uses.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "absl/strings/str_cat.h"
#include "passes/clip_search.h"
#include "passes/pass.h"

namespace q46 {

absl::Status QuantizeWeights(ir::Graph& g, PassContext& ctx) {
  int layers = 0;
  size_t codes = 0;
  for (ir::Node& n : g.nodes) {
    auto* c = ir::AttrsIf<ir::ConvAttrs>(n);
    if (!c || !c->quant) continue;
    ir::ConvQuant& q = *c->quant;
    const ir::Value& x = g.values[n.inputs[0]];
    if (!x.range) return absl::InternalError(absl::StrCat("layer '", n.name, "' has no calibrated input range"));
    const arith::ActivationParams ap = arith::ActivationParamsForRange(x.range->lo, x.range->hi, q.precision.nx);
    q.in_scale = ap.scale;
    q.in_zero_point = ap.zero_point;

    const FloatTensor& w = *g.values[n.inputs[1]].constant;
    const int64_t out_c = w.dims[0], per = w.size() / out_c;
    const int32_t divisor = arith::WeightScaleDivisor(q.precision.nw);
    std::vector<float> absmax(q.per_channel ? out_c : 1, 0.0f);
    for (int64_t oc = 0; oc < out_c; ++oc)
      for (int64_t k = 0; k < per; ++k) {
        float& m = absmax[q.per_channel ? oc : 0];
        m = std::max(m, std::fabs(w.data[oc * per + k]));
      }
    q.weight_scales.clear();
    const bool mse = ctx.options.weight_clip == "mse";
    for (size_t i = 0; i < absmax.size(); ++i) {
      const size_t count = static_cast<size_t>(q.per_channel ? per : w.size());
      if (mse) q.weight_scales.push_back(MseWeightScale(w.data.data() + i * count, count, q.precision.nw));
      else q.weight_scales.push_back(absmax[i] > 0 ? absmax[i] / static_cast<float>(divisor) : 1.0f);
    }
    q.weight_codes.resize(w.data.size());
    q.bias.assign(out_c, 0);
    for (int64_t oc = 0; oc < out_c; ++oc) {
      const float sw = q.weight_scales[q.per_channel ? oc : 0];
      for (int64_t k = 0; k < per; ++k)
        q.weight_codes[oc * per + k] = static_cast<int8_t>(arith::QuantizeWeight(w.data[oc * per + k], sw, q.precision.nw));
      if (n.inputs.size() > 2)
        q.bias[oc] = arith::QuantizeBias(g.values[n.inputs[2]].constant->data[oc], arith::AccumulatorScale(q.in_scale, sw));
    }
    ++layers;
    codes += q.weight_codes.size();
  }
  ctx.summary = absl::StrCat(layers, " layers, ", codes, " weight codes");
  return absl::OkStatus();
}

}  // namespace q46
