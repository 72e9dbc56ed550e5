// An execution context: the arena holding every activation of one run, the ops' scratch space, the per-tensor
// pointers, a oneDNN stream, a thread count. Created once per concurrent caller; Run allocates nothing.
#pragma once

#include <memory>
#include <vector>

#include "runtime/model.h"

namespace q46::rt {

class Context {
 public:
  explicit Context(const Model& model);

  Status SetInput(size_t index, const float* data, size_t count);
  // Runs every op; with `op_seconds`, also times each op (a vector of one entry per op, i.e. per node of
  // the model's plan(), overwritten).
  void Run(std::vector<double>* op_seconds = nullptr);
  // Threads each layer is split over (default 1; from OpenMP's pool, created once). A change prepares the ops
  // again (large float layers build primitives for the new count), so it may allocate; Run still does not.
  void set_threads(int threads);
  int threads() const { return threads_; }
  // Output `index` and its element count.
  const float* Output(size_t index, size_t* count) const;

 private:
  void PrepareOps(int threads);  // for runs on `threads`; sets threads_ when done

  const Model& model_;
  std::vector<unsigned char> arena_;  // over-allocated by 64 bytes; tensors start at a 64-byte boundary
  std::vector<unsigned char> scratch_;
  std::vector<void*> buffers_;
  std::vector<std::unique_ptr<PreparedOp>> prepared_;  // one per op
  int threads_ = 1;
  dnnl::stream stream_;
};

}  // namespace q46::rt
