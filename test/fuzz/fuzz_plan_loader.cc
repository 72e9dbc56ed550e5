// libFuzzer target: the plan loader through the public C API. Each input is tried twice: as a plan file (header,
// CRC, size, protobuf, validation, op creation), and, when it parses as a plan message, as that message framed
// with a valid header, so that mutations reach validation and op creation instead of stopping at the CRC. A plan
// that loads is also run once on zero inputs when its buffers are small. Nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "q46/q46.h"
#include "runtime/plan_file.h"

namespace {

void LoadAndRun(const void* data, size_t size) {
  q46_model* model = nullptr;
  if (q46_model_load_memory(data, size, &model, nullptr) != Q46_OK) return;
  size_t elements = 0;
  std::vector<std::vector<float>> inputs(q46_model_num_inputs(model));
  for (size_t i = 0; i < inputs.size(); ++i) {
    int64_t dims[8];
    size_t n = 1;
    const size_t rank = q46_model_input_dims(model, i, dims, 8);
    for (size_t d = 0; d < rank && d < 8; ++d) n *= static_cast<size_t>(dims[d]);
    elements += n;
    if (elements <= (size_t{1} << 20)) inputs[i].resize(n);
  }
  q46_context* ctx = nullptr;
  if (elements <= (size_t{1} << 20) && q46_context_create(model, &ctx) == Q46_OK) {
    bool ok = true;
    for (size_t i = 0; i < inputs.size(); ++i)
      ok = ok && q46_context_set_input(ctx, i, inputs[i].data(), inputs[i].size()) == Q46_OK;
    if (ok) q46_context_run(ctx);
    q46_context_free(ctx);
  }
  q46_model_free(model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LoadAndRun(data, size);
  q46::plan::Plan plan;
  std::string framed;
  if (plan.ParseFromArray(data, static_cast<int>(size)) && q46::rt::SerializePlan(plan, &framed).ok())
    LoadAndRun(framed.data(), framed.size());
  return 0;
}
