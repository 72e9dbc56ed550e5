// The float network and the (fake-)quantized network run side by side over all calibration samples, one node
// at a time, each value kept only while a later node still reads it. Reconstruction steps it forward layer by
// layer: a quantized convolution runs with whatever codes it has when the stepper reaches it, so each layer's
// input in the quantized network comes from the layers already decided ("corrected inputs") at the cost of two
// network passes in all, instead of a prefix run per layer. Holds every live value for every sample: callers
// check MemoryBytes first. Reads the graph; never changes it.
#pragma once

#include <map>
#include <vector>

#include "absl/status/status.h"
#include "compiler/ir.h"
#include "compiler/tensor.h"

namespace q46 {

class NetworkStepper {
 public:
  // Steps through nodes [0, end) of g on `samples` ([N, ...] for the graph's single input).
  NetworkStepper(const ir::Graph& g, const FloatTensor& samples, int end);

  // The most memory the live values of both networks take at once, in bytes.
  static double MemoryBytes(const ir::Graph& g, int64_t samples, int end);

  // Runs every node before `node` that has not run yet.
  absl::Status AdvanceTo(int node);
  // A live value, [N, ...]: in the float network, or in the quantized one.
  const FloatTensor& Float(ir::ValueId v) const { return float_.at(v); }
  const FloatTensor& Quantized(ir::ValueId v) const { return quant_.at(v); }

 private:
  absl::Status RunNode(const ir::Node& n, bool quantized, std::map<ir::ValueId, FloatTensor>* values);

  const ir::Graph& g_;
  int64_t samples_;
  int next_ = 0;
  std::map<ir::ValueId, int> readers_left_;  // readers among the nodes still to run
  std::map<ir::ValueId, FloatTensor> float_, quant_;
};

}  // namespace q46
