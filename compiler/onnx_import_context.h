// What an ONNX op handler sees while importing one node: typed access to its inputs and attributes, and the
// means to add IR nodes and bind the node's outputs. Handlers live in onnx_ops_*.cc, one file per op family.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "compiler/ir.h"
#include "onnx/onnx_pb.h"

namespace q46 {

// How errors name an ONNX node: its name, or "OpType_INDEX" when it has none.
std::string OnnxNodeName(const onnx::NodeProto& node, int index);
// "node 'name' (Conv, opset 13): what" -- the one format of every per-node import error.
absl::Status OnnxNodeError(const onnx::NodeProto& node, const std::string& name, int opset, const std::string& what);

class ImportContext {
 public:
  ImportContext(ir::Graph& graph, std::map<std::string, ir::ValueId>& names, const onnx::NodeProto& node,
                std::string node_name, int opset)
      : graph_(graph), names_(names), node_(node), node_name_(std::move(node_name)), opset_(opset) {}

  ir::Graph& graph() { return graph_; }
  int opset() const { return opset_; }
  const std::string& name() const { return node_name_; }
  const onnx::NodeProto& proto() const { return node_; }

  // "node 'name' (Conv, opset 13): what"
  absl::Status Error(const std::string& what) const;

  int num_inputs() const { return node_.input_size(); }
  bool HasInput(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }
  ir::ValueId Input(int i) const;  // HasInput(i) must hold (checked by the driver: every named input exists)
  const std::vector<int64_t>& InputDims(int i) const { return graph_.values[Input(i)].dims; }
  // The constant data of input i, or nullptr.
  const FloatTensor* ConstInput(int i) const;
  absl::Status RequireConstInput(int i, const char* what, const FloatTensor** out) const;

  bool HasAttr(const std::string& name) const;
  int64_t AttrInt(const std::string& name, int64_t def) const;
  float AttrFloat(const std::string& name, float def) const;
  std::string AttrString(const std::string& name, const std::string& def) const;
  std::vector<int64_t> AttrInts(const std::string& name, std::vector<int64_t> def = {}) const;
  const onnx::TensorProto* AttrTensor(const std::string& name) const;

  // Adds a node whose outputs are this ONNX node's outputs [0, dims.size()) with the given dims.
  void Emit(ir::Attrs attrs, std::vector<ir::ValueId> inputs, const std::vector<std::vector<int64_t>>& output_dims);
  // Adds a node, named after this one with "/i", whose only output is this ONNX node's output i (an op that
  // lowers to one node per output, such as Split).
  void EmitOutput(int i, ir::Attrs attrs, std::vector<ir::ValueId> inputs, std::vector<int64_t> dims);
  // Binds output i to a new constant.
  void EmitConstant(int i, FloatTensor t);
  // Binds output i to an existing value (Identity, Dropout, folded ops).
  void Alias(int i, ir::ValueId v);

 private:
  ir::Graph& graph_;
  std::map<std::string, ir::ValueId>& names_;
  const onnx::NodeProto& node_;
  std::string node_name_;
  int opset_;
};

using OpHandler = absl::Status (*)(ImportContext&);

// The handler for an op type of the default domain, or nullptr.
OpHandler FindOpHandler(const std::string& op_type);

// Converts an ONNX tensor (float, double, int32, int64, int8, uint8, bool; raw or typed data) to floats.
absl::Status TensorFromProto(const onnx::TensorProto& t, FloatTensor* out);

}  // namespace q46
