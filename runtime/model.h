// A loaded plan: validated once, ops built and weights packed once, buffers planned once. Immutable after
// Load, so one Model serves any number of Contexts on any threads. The C API (c_api.cc) wraps this class.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan.pb.h"
#include "runtime/load_options.h"
#include "runtime/ops/op.h"
#include "runtime/status.h"

namespace q46::rt {

// Where a tensor lives while a context runs: at an offset in the context's arena, or in the model (constants).
struct TensorPlacement {
  size_t offset = 0;
  size_t bytes = 0;
  const void* constant = nullptr;
};

// The most activation memory (the arena) one context may need; a plan asking for more is refused at load.
inline constexpr size_t kMaxArenaBytes = size_t{16} << 30;

class Model {
 public:
  // `options` null: the defaults with the environment applied (LoadOptionsFromEnvironment).
  static Status Load(const void* data, size_t size, std::unique_ptr<Model>* model,
                     const LoadOptions* options = nullptr);
  static Status LoadFile(const std::string& path, std::unique_ptr<Model>* model, const LoadOptions* options = nullptr);
  // Builds from an already parsed plan (the compiler's in-process use).
  static Status FromPlan(plan::Plan plan, std::unique_ptr<Model>* model, const LoadOptions* options = nullptr);

  // The plan as loaded, after the load options' fusions: ops() holds one op per node of it.
  const plan::Plan& plan() const { return plan_; }
  const std::vector<std::unique_ptr<Op>>& ops() const { return ops_; }
  const std::vector<TensorPlacement>& placements() const { return placements_; }
  size_t arena_bytes() const { return arena_bytes_; }
  // The largest scratch space any op needs while it runs on `threads` threads.
  size_t scratch_bytes(int threads) const;

 private:
  Model() = default;
  plan::Plan plan_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<std::vector<float>> constants_;  // aligned float copies of constant tensors
  std::vector<TensorPlacement> placements_;
  size_t arena_bytes_ = 0;
};

// Structural checks of a plan before any op is built: limits, dtypes, indices, single assignment, order.
Status ValidatePlanStructure(const plan::Plan& plan);

// Lays out every non-constant tensor in one arena, reusing space between tensors whose lifetimes do not overlap.
std::vector<TensorPlacement> PlanMemory(const plan::Plan& plan, size_t* arena_bytes);

}  // namespace q46::rt
