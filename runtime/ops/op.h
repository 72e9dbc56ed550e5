// The runtime's op interface. An Op is built once per plan node at load time — validating the node against
// its tensors and packing its parameters — and then only runs. Building is where every check on user data
// happens; Run trusts what was built and allocates nothing.
#pragma once

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "plan.pb.h"
#include "runtime/status.h"

namespace q46::rt {

// What a running op sees: one data pointer per plan tensor, and this context's oneDNN stream.
struct RunState {
  void* const* buffers;
  dnnl::stream* stream;
};

class Op {
 public:
  virtual ~Op() = default;
  virtual void Run(const RunState& state) const = 0;
};

// Validates `node` of `plan` (arity, dtypes, shapes, parameters) and builds its Op.
Status CreateOp(const plan::Plan& plan, const plan::Node& node, std::unique_ptr<Op>* op);

}  // namespace q46::rt
