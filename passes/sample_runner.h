// Runs a graph over calibration samples through the runtime, one model batch at a time: the calibration passes'
// way of observing values of the float or the (fake-)quantized network. It lowers with the caller's options and
// never changes the graph.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "compiler/ir.h"
#include "compiler/plan_writer.h"
#include "compiler/tensor.h"
#include "runtime/context.h"
#include "runtime/model.h"

namespace q46 {

class SampleRunner {
 public:
  // Fails when the samples do not fit the graph's single input ([N, ...] with the model's sample shape).
  static absl::StatusOr<std::unique_ptr<SampleRunner>> Create(const ir::Graph& g, const LowerOptions& options,
                                                              const FloatTensor& samples);

  // Runs the next batch; false once every sample has been run. A short last batch repeats its samples, but
  // count() and the outputs cover only the real ones.
  bool Next();
  int64_t first() const { return first_; }
  int64_t count() const { return count_; }
  // The graph's output i for the batch just run: count() samples of OutputSampleSize(i) floats each.
  const float* Output(size_t i) const;
  int64_t OutputSampleSize(size_t i) const { return output_sample_size_[i]; }

 private:
  SampleRunner(const FloatTensor& samples) : samples_(samples) {}
  const FloatTensor& samples_;
  std::unique_ptr<rt::Model> model_;
  std::unique_ptr<rt::Context> context_;
  std::vector<float> input_;
  std::vector<int64_t> output_sample_size_;
  int64_t batch_ = 1, per_sample_ = 0, first_ = 0, count_ = 0, next_ = 0;
};

}  // namespace q46
