// The pass list, expanded from passes.def.
#include "passes/pass.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace q46 {

const std::vector<PassInfo>& AllPasses() {
  static const std::vector<PassInfo> passes = {
#define Q46_PASS(NAME, FN, DESCRIPTION) {NAME, FN, DESCRIPTION},
#include "passes/passes.def"
#undef Q46_PASS
  };
  return passes;
}

absl::Status RunPipeline(ir::Graph& graph, const CompileOptions& options, std::vector<PassResult>* results) {
  if (absl::Status st = CheckRangeOptions(options); !st.ok()) return st;
  for (const PassInfo& pass : AllPasses()) {
    PassContext ctx{options, {}};
    const auto start = std::chrono::steady_clock::now();
    absl::Status st = pass.run(graph, ctx);
    if (!st.ok()) return absl::Status(st.code(), absl::StrCat(pass.name, ": ", st.message()));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (results) results->push_back({pass.name, ctx.summary, took.count()});
  }
  return absl::OkStatus();
}

bool IsQuantizableLayer(const ir::Node& n) {
  const auto* c = ir::AttrsIf<ir::ConvAttrs>(n);
  return c && !c->transposed;
}

}  // namespace q46
