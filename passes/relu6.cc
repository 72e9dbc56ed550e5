//===- relu6.cc - Replace ReLU by ReLU6 ------------------------------------===//
//
// The article's networks clamp every activation to [0, 6], which bounds activation ranges for quantization.
// With --relu6, every clamp of the form [0, +inf) (ReLU) becomes [0, 6]. Without the flag this pass is a no-op.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "absl/strings/str_cat.h"
#include "passes/pass.h"

namespace q46 {

absl::Status ReluToRelu6(ir::Graph& g, PassContext& ctx) {
  if (!ctx.options.relu6) {
    ctx.summary = "off";
    return absl::OkStatus();
  }
  int replaced = 0;
  for (ir::Node& n : g.nodes) {
    ir::FloatActivation* a = nullptr;
    if (auto* u = ir::AttrsIf<ir::UnaryAttrs>(n)) a = &u->activation;
    if (auto* c = ir::AttrsIf<ir::ConvAttrs>(n)) a = &c->activation;
    if (auto* b = ir::AttrsIf<ir::BinaryAttrs>(n)) a = &b->activation;
    if (a && a->kind == ir::FloatActivation::kClip && a->lo == 0.0f && std::isinf(a->hi) && a->hi > 0) {
      a->hi = 6.0f;
      ++replaced;
    }
  }
  ctx.summary = absl::StrCat(replaced, " ReLU replaced by ReLU6");
  return absl::OkStatus();
}

}  // namespace q46
