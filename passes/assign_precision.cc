//===- assign_precision.cc - Choose (N_x, N_w) per layer -------------------===//
//
// Every quantizable layer (non-transposed convolutions, fully connected layers among them) gets the global
// pair, except the first and the last, which stay float (the article: it helps accuracy and costs little).
// A per-layer map (--precision-map) overrides any layer, first and last included; naming a layer the model
// does not have is an error. With --float every layer stays float.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "passes/pass.h"

namespace q46 {

absl::Status AssignPrecision(ir::Graph& g, PassContext& ctx) {
  const CompileOptions& o = ctx.options;
  std::vector<ir::Node*> layers;
  for (ir::Node& n : g.nodes)
    if (IsQuantizableLayer(n)) layers.push_back(&n);
  std::vector<std::string> names;
  for (const ir::Node* n : layers) names.push_back(n->name);
  for (const auto& [name, precision] : o.precision_map) {
    if (std::find(names.begin(), names.end(), name) == names.end())
      return absl::InvalidArgumentError(absl::StrCat("--precision-map names layer '", name,
                                                     "', which the model does not have; its layers are: ",
                                                     absl::StrJoin(names, ", ")));
  }
  std::string why;
  if (!o.all_float && !arith::CheckPrecision(o.precision, &why)) return absl::InvalidArgumentError(why);
  int quantized = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    ir::Node& n = *layers[i];
    std::optional<arith::Precision> p;
    if (!o.all_float && i != 0 && i + 1 != layers.size()) p = o.precision;
    if (auto it = o.precision_map.find(n.name); it != o.precision_map.end() && !o.all_float) p = it->second;
    auto& conv = std::get<ir::ConvAttrs>(n.attrs);
    conv.quant.reset();
    if (!p) continue;
    if (!arith::CheckPrecision(*p, &why)) return absl::InvalidArgumentError(absl::StrCat("layer '", n.name, "': ", why));
    conv.quant.emplace();
    conv.quant->precision = *p;
    conv.quant->per_channel = !o.per_tensor_weights;
    ++quantized;
  }
  ctx.summary = absl::StrCat(quantized, " of ", layers.size(), " layers quantized");
  return absl::OkStatus();
}

}  // namespace q46
