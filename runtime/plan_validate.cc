// Structural validation of a plan: everything that does not depend on what an op computes. Per-op checks
// (shapes, parameters, code ranges) are done by the op factories in runtime/ops/.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "runtime/arith.h"
#include "runtime/model.h"
#include "runtime/shape.h"

namespace q46::rt {
namespace {

constexpr int kMaxRank = 8;
constexpr int64_t kMaxElements = int64_t{1} << 31;  // per tensor
constexpr int kMaxTensors = 1 << 14;  // far beyond any CNN; memory planning is quadratic in it

Status CheckTensor(const plan::Tensor& t, int index) {
  const std::string what = "tensor " + std::to_string(index) + " '" + t.name() + "'";
  if (t.dims_size() > kMaxRank) return Status::Error(what + " has rank " + std::to_string(t.dims_size()));
  for (int64_t d : t.dims())
    if (d < 1) return Status::Error(what + " has dimension " + std::to_string(d));
  const int64_t n = BoundedElementCount(t.dims(), kMaxElements);
  if (n < 0) return Status::Error(what + " has more than 2^31 elements");
  switch (t.dtype()) {
    case plan::FLOAT32:
      if (t.has_quant()) return Status::Error(what + " is float but carries quantization parameters");
      if (!t.data().empty() && t.data().size() != static_cast<size_t>(n) * sizeof(float))
        return Status::Error(what + " holds " + std::to_string(t.data().size()) + " bytes of data, expected " +
                             std::to_string(n * sizeof(float)));
      break;
    case plan::UINT8_CODES: {
      if (!t.data().empty()) return Status::Error(what + ": code tensors cannot be constants");
      const plan::ActivationQuant& q = t.quant();
      if (!arith::ValidActivationLevels(q.levels()))
        return Status::Error(what + " has " + std::to_string(q.levels()) + " levels (odd 3..255, 16 or 256 allowed)");
      if (!(q.scale() > 0) || !std::isfinite(q.scale()))
        return Status::Error(what + " has scale " + std::to_string(q.scale()));
      if (q.zero_point() < 0 || q.zero_point() >= q.levels())
        return Status::Error(what + " has zero point " + std::to_string(q.zero_point()) + " outside its codes");
      break;
    }
    default: return Status::Error(what + " has unknown dtype " + std::to_string(t.dtype()));
  }
  return Status();
}

}  // namespace

Status ValidatePlanStructure(const plan::Plan& plan) {
  const int nt = plan.tensors_size();
  if (nt > kMaxTensors || plan.nodes_size() > kMaxTensors) return Status::Error("plan has too many tensors or nodes");
  for (int i = 0; i < nt; ++i) Q46_RETURN_IF_ERROR(CheckTensor(plan.tensors(i), i));
  // 0 = undefined, 1 = available (constant, input, or produced so far).
  std::vector<char> available(nt, 0);
  for (int i = 0; i < nt; ++i) available[i] = !plan.tensors(i).data().empty();
  if (plan.inputs_size() == 0 || plan.outputs_size() == 0) return Status::Error("plan has no inputs or no outputs");
  for (int idx : plan.inputs()) {
    if (idx < 0 || idx >= nt) return Status::Error("graph input index " + std::to_string(idx) + " out of range");
    const plan::Tensor& t = plan.tensors(idx);
    if (available[idx]) return Status::Error("graph input '" + t.name() + "' is listed twice or is a constant");
    if (t.dtype() != plan::FLOAT32) return Status::Error("graph input '" + t.name() + "' is not float32");
    available[idx] = 1;
  }
  for (const plan::Node& node : plan.nodes()) {
    for (int idx : node.inputs()) {
      if (idx < 0 || idx >= nt)
        return Status::Error("node '" + node.name() + "' reads tensor index " + std::to_string(idx) + ", out of range");
      if (!available[idx])
        return Status::Error("node '" + node.name() + "' reads '" + plan.tensors(idx).name() +
                             "' before anything writes it");
    }
    for (int idx : node.outputs()) {
      if (idx < 0 || idx >= nt)
        return Status::Error("node '" + node.name() + "' writes tensor index " + std::to_string(idx) + ", out of range");
      if (available[idx])
        return Status::Error("node '" + node.name() + "' writes '" + plan.tensors(idx).name() +
                             "', which is already defined");
      available[idx] = 1;
    }
  }
  for (int idx : plan.outputs()) {
    if (idx < 0 || idx >= nt) return Status::Error("graph output index " + std::to_string(idx) + " out of range");
    const plan::Tensor& t = plan.tensors(idx);
    if (!available[idx] || !t.data().empty()) return Status::Error("graph output '" + t.name() + "' is never computed");
    if (t.dtype() != plan::FLOAT32) return Status::Error("graph output '" + t.name() + "' is not float32");
  }
  return Status();
}

}  // namespace q46::rt
