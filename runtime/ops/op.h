// The runtime's op interface. An Op is built once per plan node at load time — validating the node against
// its tensors and packing its parameters — may prepare itself per context (again when the context's thread
// count changes), and then only runs. Building is where every check on user data happens; Run trusts what was
// built and allocates nothing.
#pragma once

#include <memory>
#include <string>
#include <oneapi/dnnl/dnnl.hpp>

#include "plan.pb.h"
#include "runtime/load_options.h"
#include "runtime/status.h"

namespace q46::rt {

// What an op keeps per context (see Op::Prepare).
class PreparedOp {
 public:
  virtual ~PreparedOp() = default;
};

// What a running op sees: one data pointer per plan tensor, this context's oneDNN stream, scratch space of the
// size the op asked for (shared by all ops of the context, any alignment), how many threads it may use, and
// what its Prepare returned for this context (null for none).
struct RunState {
  void* const* buffers;
  dnnl::stream* stream;
  unsigned char* scratch;
  int threads;
  const PreparedOp* prepared;
};

class Op {
 public:
  virtual ~Op() = default;
  virtual void Run(const RunState& state) const = 0;
  // Scratch a run on `threads` threads needs (RunState::scratch).
  virtual size_t scratch_bytes(int /*threads*/) const { return 0; }
  // Called when a context is created, before any Run, and again when its thread count changes (state.threads is
  // the count its runs will get). A context's buffers never move and its scratch moves only with a new thread
  // count, when every op is prepared again, so an op can bind itself to them here (state.prepared is null) and
  // leave Run nothing to set up. Run always gets this context's latest result in state.prepared.
  virtual std::unique_ptr<PreparedOp> Prepare(const RunState&) const { return nullptr; }
  // The kernel that runs this op, for reports (q46bench); "" when there is only one.
  virtual std::string implementation() const { return ""; }
};

// Validates `node` of `plan` (arity, dtypes, shapes, parameters) and builds its Op for the options' kernels.
Status CreateOp(const plan::Plan& plan, const plan::Node& node, const LoadOptions& options, std::unique_ptr<Op>* op);

}  // namespace q46::rt
