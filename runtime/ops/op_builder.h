// Helpers every op factory uses to check a node against its tensors, with messages that name the node.
// Only validation and conversion from the plan schema live here; no op-specific logic.
#pragma once

#include <string>
#include <vector>

#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/ops/op.h"
#include "runtime/shape.h"

namespace q46::rt {

class OpBuilder {
 public:
  OpBuilder(const plan::Plan& plan, const plan::Node& node, const char* op_name, LoadOptions options = {})
      : plan_(plan), node_(node), op_name_(op_name), options_(options) {}

  // "node 'conv1' (QuantConv): <what>"
  Status Fail(const std::string& what) const;

  Status ExpectArity(int min_inputs, int max_inputs, int outputs) const;
  const plan::Tensor& input(int i) const { return plan_.tensors(node_.inputs(i)); }
  const plan::Tensor& output(int i) const { return plan_.tensors(node_.outputs(i)); }
  int input_index(int i) const { return node_.inputs(i); }
  int output_index(int i) const { return node_.outputs(i); }
  int num_inputs() const { return node_.inputs_size(); }
  const plan::Node& node() const { return node_; }
  const LoadOptions& options() const { return options_; }

  Status ExpectDtype(const plan::Tensor& t, plan::DataType dtype) const;
  // Rank-4 tensors as NCHW; rank-2 [N, K] as [N, K, 1, 1].
  Status ToDims4(const plan::Tensor& t, kernels::Dims4* d) const;
  Status ExpectDims(const plan::Tensor& t, const std::vector<int64_t>& dims) const;
  Status ToWindow(const plan::Window& w, bool transposed, kernels::Window2d* win) const;
  Status ToActivation(const plan::Activation& a, kernels::FloatActivation* act) const;
  Status ExpectSameQuant(const plan::Tensor& a, const plan::Tensor& b) const;

 private:
  const plan::Plan& plan_;
  const plan::Node& node_;
  const char* op_name_;
  LoadOptions options_;
};

std::vector<int64_t> DimsOf(const plan::Tensor& t);
int64_t NumElements(const plan::Tensor& t);
std::string DimsToString(const std::vector<int64_t>& dims);

}  // namespace q46::rt
