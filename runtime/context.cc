// Execution context: arena set-up once, then runs that touch only preallocated memory.
#include "runtime/context.h"

#include <chrono>
#include <cstring>

#include "runtime/kernels/align.h"
#include "runtime/kernels/onednn/conv_f32_onednn.h"
#include "runtime/thread_count_scope.h"

namespace q46::rt {

Context::Context(const Model& model)
    : model_(model), arena_(model.arena_bytes() + 64), stream_(kernels::CpuEngine()) {
  const auto& placements = model.placements();
  unsigned char* aligned = kernels::AlignUp(arena_.data());
  buffers_.resize(placements.size());
  for (size_t i = 0; i < placements.size(); ++i)
    buffers_[i] = placements[i].constant ? const_cast<void*>(placements[i].constant) : aligned + placements[i].offset;
  PrepareOps(1);
}

void Context::PrepareOps(int threads) {
  // Scratch sized for this thread count (the integer convolutions take a copy of their input per thread), and
  // the ops bound to it.
  std::vector<unsigned char> scratch(model_.scratch_bytes(threads));
  const RunState state{buffers_.data(), &stream_, scratch.data(), threads, nullptr};
  std::vector<std::unique_ptr<PreparedOp>> prepared;
  for (const auto& op : model_.ops()) prepared.push_back(op->Prepare(state));
  // Only once every op is prepared: a throw above leaves the context as it was.
  prepared_.swap(prepared);
  scratch_.swap(scratch);
  threads_ = threads;
}

void Context::set_threads(int threads) {
  threads = threads < 1 ? 1 : threads;
  if (threads != threads_) PrepareOps(threads);
}

Status Context::SetInput(size_t index, const float* data, size_t count) {
  const plan::Plan& plan = model_.plan();
  if (index >= static_cast<size_t>(plan.inputs_size()))
    return Status::Error("input index " + std::to_string(index) + " out of range (the model has " +
                         std::to_string(plan.inputs_size()) + ")");
  const int t = plan.inputs(static_cast<int>(index));
  const size_t expected = model_.placements()[t].bytes / sizeof(float);
  if (count != expected)
    return Status::Error("input '" + plan.tensors(t).name() + "' takes " + std::to_string(expected) +
                         " values, got " + std::to_string(count));
  std::memcpy(buffers_[t], data, count * sizeof(float));
  return Status();
}

void Context::Run(std::vector<double>* op_seconds) {
  ThreadCountScope one_thread(1);
  RunState state{buffers_.data(), &stream_, scratch_.data(), threads_, nullptr};
  const auto& ops = model_.ops();
  if (!op_seconds) {
    for (size_t i = 0; i < ops.size(); ++i) {
      state.prepared = prepared_[i].get();
      ops[i]->Run(state);
    }
    stream_.wait();
    return;
  }
  op_seconds->resize(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    state.prepared = prepared_[i].get();
    ops[i]->Run(state);
    stream_.wait();
    (*op_seconds)[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
}

const float* Context::Output(size_t index, size_t* count) const {
  const int t = model_.plan().outputs(static_cast<int>(index));
  *count = model_.placements()[t].bytes / sizeof(float);
  return static_cast<const float*>(buffers_[t]);
}

}  // namespace q46::rt
