// An execution context: the arena holding every activation of one run, the per-tensor pointers, a oneDNN
// stream. Created once per concurrent caller; Run allocates nothing.
#pragma once

#include <memory>
#include <vector>

#include "runtime/model.h"

namespace q46::rt {

class Context {
 public:
  explicit Context(const Model& model);

  Status SetInput(size_t index, const float* data, size_t count);
  void Run();
  // Output `index` and its element count.
  const float* Output(size_t index, size_t* count) const;

 private:
  const Model& model_;
  std::vector<unsigned char> arena_;  // over-allocated by 64 bytes; tensors start at a 64-byte boundary
  std::vector<void*> buffers_;
  dnnl::stream stream_;
};

}  // namespace q46::rt
