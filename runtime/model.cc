// Model loading: parse, validate structure, build every op (which validates it), plan memory.
#include "runtime/model.h"

#include <algorithm>
#include <cstring>

#include "runtime/fuse_into_convolutions.h"
#include "runtime/plan_file.h"
#include "runtime/thread_count_scope.h"

namespace q46::rt {

Status Model::Load(const void* data, size_t size, std::unique_ptr<Model>* model, const LoadOptions* options) {
  plan::Plan plan;
  Q46_RETURN_IF_ERROR(ParsePlanBytes(data, size, &plan));
  return FromPlan(std::move(plan), model, options);
}

Status Model::LoadFile(const std::string& path, std::unique_ptr<Model>* model, const LoadOptions* options) {
  std::string bytes;
  Q46_RETURN_IF_ERROR(ReadFileBytes(path, &bytes));
  Status st = Load(bytes.data(), bytes.size(), model, options);
  if (!st.ok()) return Status::Error(path + ": " + st.message());
  return st;
}

Status Model::FromPlan(plan::Plan plan, std::unique_ptr<Model>* model, const LoadOptions* options) {
  LoadOptions from_environment;
  if (!options) {
    Q46_RETURN_IF_ERROR(LoadOptionsFromEnvironment(&from_environment));
    options = &from_environment;
  }
  Q46_RETURN_IF_ERROR(ValidatePlanStructure(plan));
  ThreadCountScope one_thread(1);
  std::unique_ptr<Model> m(new Model());
  m->plan_ = std::move(plan);
  if (options->fuse_into_convolutions) FuseIntoConvolutions(&m->plan_);
  // Activation memory is known before any op packs weights or sizes scratch: refuse absurd plans here.
  m->placements_ = PlanMemory(m->plan_, &m->arena_bytes_);
  if (m->arena_bytes_ > kMaxArenaBytes)
    return Status::Error("the plan needs " + std::to_string(m->arena_bytes_ >> 20) + " MiB of activation memory per " +
                         "context, over the runtime's limit of " + std::to_string(kMaxArenaBytes >> 30) + " GiB");
  for (const plan::Node& node : m->plan_.nodes()) {
    std::unique_ptr<Op> op;
    Q46_RETURN_IF_ERROR(CreateOp(m->plan_, node, *options, &op));
    m->ops_.push_back(std::move(op));
  }
  for (int i = 0; i < m->plan_.tensors_size(); ++i) {
    const std::string& data = m->plan_.tensors(i).data();
    if (data.empty()) continue;
    std::vector<float> values(data.size() / sizeof(float));
    std::memcpy(values.data(), data.data(), data.size());
    m->constants_.push_back(std::move(values));
    m->placements_[i].constant = m->constants_.back().data();
  }
  *model = std::move(m);
  return Status();
}

size_t Model::scratch_bytes(int threads) const {
  size_t bytes = 0;
  for (const auto& op : ops_) bytes = std::max(bytes, op->scratch_bytes(threads));
  return bytes;
}

}  // namespace q46::rt
