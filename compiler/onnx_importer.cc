// The ONNX import driver: parse, bring the opset into range, check, infer shapes, then translate node by node
// through the op handlers (onnx_ops_*.cc), cross-checking every static shape against ONNX's inference.
#include "compiler/onnx_importer.h"

#include <algorithm>
#include <cmath>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compiler/onnx_import_context.h"
#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"

namespace q46 {
namespace {

constexpr int kMinOpset = 6;
constexpr int kNativeMinOpset = 13;  // older models are upgraded to this opset first
constexpr int kMaxOpset = 17;

std::string FirstLine(const std::string& s) {
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

int DefaultOpset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") return static_cast<int>(o.version());
  return -1;
}

// Static dims of a value_info / graph input, or an error naming the symbolic dimension.
absl::Status StaticDims(const onnx::ValueInfoProto& vi, const ImportOptions& options, std::vector<int64_t>* dims) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
    return absl::InvalidArgumentError(absl::StrCat("graph input '", vi.name(), "' has no tensor shape"));
  const auto elem = vi.type().tensor_type().elem_type();
  if (elem != onnx::TensorProto::FLOAT)
    return absl::UnimplementedError(absl::StrCat("graph input '", vi.name(), "' is not float32"));
  dims->clear();
  const auto& shape = vi.type().tensor_type().shape();
  for (int i = 0; i < shape.dim_size(); ++i) {
    const auto& d = shape.dim(i);
    if (d.has_dim_value() && d.dim_value() > 0) {
      dims->push_back(d.dim_value());
    } else if (i == 0 && options.batch) {
      dims->push_back(*options.batch);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "graph input '", vi.name(), "' has a symbolic or zero dimension ", i, " ('", d.dim_param(), "')",
          i == 0 ? "; fix the batch size with --batch N" : "; export the model with a fixed input shape"));
    }
  }
  return absl::OkStatus();
}

// Dims that ONNX shape inference found for each value, when fully static.
std::map<std::string, std::vector<int64_t>> InferredDims(const onnx::GraphProto& g) {
  std::map<std::string, std::vector<int64_t>> out;
  auto add = [&](const onnx::ValueInfoProto& vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
    std::vector<int64_t> dims;
    for (const auto& d : vi.type().tensor_type().shape().dim()) {
      if (!d.has_dim_value()) return;
      dims.push_back(d.dim_value());
    }
    out[vi.name()] = dims;
  };
  for (const auto& vi : g.value_info()) add(vi);
  for (const auto& vi : g.output()) add(vi);
  return out;
}

absl::StatusOr<ir::Graph> Translate(const onnx::ModelProto& model, int opset, const ImportOptions& options) {
  const onnx::GraphProto& g = model.graph();
  ir::Graph graph;
  graph.name = g.name();
  std::map<std::string, ir::ValueId> names;
  for (const auto& init : g.initializer()) {
    FloatTensor t;
    absl::Status st = TensorFromProto(init, &t);
    if (!st.ok()) return absl::Status(st.code(), absl::StrCat("initializer: ", st.message()));
    if (std::any_of(t.data.begin(), t.data.end(), [](float v) { return std::isnan(v); }))
      return absl::InvalidArgumentError(absl::StrCat("initializer '", init.name(), "' contains NaN"));
    names[init.name()] = graph.AddConstant(init.name(), std::move(t));
  }
  for (const auto& in : g.input()) {
    if (names.count(in.name())) continue;  // an initializer also listed as an input (IR < 4): a constant
    ir::Value v;
    v.name = in.name();
    absl::Status st = StaticDims(in, options, &v.dims);
    if (!st.ok()) return st;
    const ir::ValueId id = graph.AddValue(std::move(v));
    names[in.name()] = id;
    graph.inputs.push_back(id);
  }
  if (graph.inputs.empty()) return absl::InvalidArgumentError("the model has no non-constant input");

  const auto inferred = InferredDims(g);
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& node = g.node(i);
    const std::string node_name = node.name().empty() ? absl::StrCat(node.op_type(), "_", i) : node.name();
    ImportContext ctx(graph, names, node, node_name, opset);
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      return ctx.Error(absl::StrCat("domain '", node.domain(), "' is not supported"));
    for (const auto& in : node.input())
      if (!in.empty() && !names.count(in)) return ctx.Error(absl::StrCat("input '", in, "' is not defined before it"));
    const OpHandler handler = FindOpHandler(node.op_type());
    if (!handler)
      return ctx.Error(absl::StrCat("unsupported op; q46 imports ", absl::StrJoin(SupportedOnnxOps(), ", ")));
    absl::Status st = handler(ctx);
    if (!st.ok()) return st;
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      if (!names.count(out)) return ctx.Error(absl::StrCat("output '", out, "' is not supported"));
      const auto it = inferred.find(out);
      const auto& dims = graph.values[names[out]].dims;
      if (!graph.IsConstant(names[out]) && std::find(dims.begin(), dims.end(), 0) != dims.end())
        return ctx.Error(absl::StrCat("output '", out, "' would be empty (dims [", absl::StrJoin(dims, ", "),
                                      "]); q46 tensors are not empty"));
      if (it != inferred.end() && it->second != dims)
        return ctx.Error(absl::StrCat("q46 computed dims [", absl::StrJoin(dims, ", "), "] for '", out,
                                      "' but ONNX shape inference says [", absl::StrJoin(it->second, ", "), "]"));
    }
  }
  for (const auto& out : g.output()) {
    if (!names.count(out.name())) return absl::InvalidArgumentError(absl::StrCat("graph output '", out.name(), "' is never computed"));
    ir::ValueId id = names[out.name()];
    if (graph.IsConstant(id)) return absl::UnimplementedError(absl::StrCat("graph output '", out.name(), "' is a constant"));
    graph.outputs.push_back(id);
    graph.values[id].name = out.name();
  }
  return graph;
}

}  // namespace

absl::StatusOr<ir::Graph> ImportOnnxBytes(const std::string& bytes, const std::string& name,
                                          const ImportOptions& options) {
  onnx::ModelProto model;
  if (bytes.size() > (size_t{2} << 30) || !model.ParseFromString(bytes))
    return absl::InvalidArgumentError(absl::StrCat(name, ": not an ONNX model (truncated or corrupt protobuf)"));
  if (!model.has_graph() || model.graph().node_size() == 0)
    return absl::InvalidArgumentError(absl::StrCat(name, ": the ONNX model has no graph nodes"));
  int opset = DefaultOpset(model);
  if (opset < kMinOpset || opset > kMaxOpset)
    return absl::UnimplementedError(absl::StrCat(name, ": ONNX opset ", opset, " is not supported (q46 imports opsets ",
                                                 kMinOpset, " to ", kMaxOpset, ")"));
  try {
    onnx::checker::check_model(model);
    if (opset < kNativeMinOpset) {
      onnx::shape_inference::InferShapes(model);  // some adapters (Softmax 12 -> 13) need shapes
      model = onnx::version_conversion::ConvertVersion(model, kNativeMinOpset);
      opset = kNativeMinOpset;
    }
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ONNX rejected the model: ", FirstLine(e.what())));
  }
  absl::StatusOr<ir::Graph> graph = Translate(model, opset, options);
  if (!graph.ok()) return absl::Status(graph.status().code(), absl::StrCat(name, ": ", graph.status().message()));
  if (graph->name.empty()) graph->name = name;
  return graph;
}

absl::StatusOr<ir::Graph> ImportOnnxFile(const std::string& path, const ImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ImportOnnxBytes(ss.str(), path, options);
}

}  // namespace q46
