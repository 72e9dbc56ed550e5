// Shared pass helpers.
#include "passes/pass_util.h"

namespace q46 {

int SoleConsumer(const ir::Graph& g, ir::ValueId v) {
  if (g.IsGraphOutput(v)) return -1;
  const std::vector<int> readers = g.Consumers(v);
  return readers.size() == 1 ? readers[0] : -1;
}

int SoleProducerConv(const ir::Graph& g, ir::ValueId x) {
  const int p = g.Producer(x);
  if (p < 0 || !std::holds_alternative<ir::ConvAttrs>(g.nodes[p].attrs)) return -1;
  const auto& c = std::get<ir::ConvAttrs>(g.nodes[p].attrs);
  if (c.activation.kind != ir::FloatActivation::kNone || c.quant) return -1;
  return SoleConsumer(g, x) >= 0 ? p : -1;
}

void ScaleConvOutputChannels(ir::Graph& g, ir::Node& conv, const std::vector<float>& s, const std::vector<float>& t) {
  const auto& attrs = std::get<ir::ConvAttrs>(conv.attrs);
  // Weights are copied, not edited in place: a constant may be shared by several nodes.
  FloatTensor w = *g.values[conv.inputs[1]].constant;
  const int64_t out_c = static_cast<int64_t>(s.size());
  if (!attrs.transposed) {
    const int64_t per = w.size() / out_c;
    for (int64_t c = 0; c < out_c; ++c)
      for (int64_t k = 0; k < per; ++k) w.data[c * per + k] *= s[c];
  } else {
    // [C_in, C_out / groups, kh, kw]: output channel = group * (C_out / groups) + j.
    const int64_t in_c = w.dims[0], out_g = w.dims[1], k = w.dims[2] * w.dims[3];
    const int64_t in_per_group = in_c / attrs.groups;
    for (int64_t ic = 0; ic < in_c; ++ic)
      for (int64_t j = 0; j < out_g; ++j)
        for (int64_t e = 0; e < k; ++e) w.data[(ic * out_g + j) * k + e] *= s[(ic / in_per_group) * out_g + j];
  }
  FloatTensor b{{out_c}, std::vector<float>(out_c, 0.0f)};
  if (conv.inputs.size() > 2) b.data = g.values[conv.inputs[2]].constant->data;
  for (int64_t c = 0; c < out_c; ++c) b.data[c] = b.data[c] * s[c] + t[c];
  const std::string base = conv.name;
  conv.inputs.resize(2);
  conv.inputs[1] = g.AddConstant(base + ".weight", std::move(w));
  conv.inputs.push_back(g.AddConstant(base + ".bias", std::move(b)));
}

}  // namespace q46
