// The ONNX import driver: parse, bring the opset into range, check, infer shapes, then translate node by node
// through the op handlers (onnx_ops_*.cc), cross-checking every static shape against ONNX's inference.
#include "compiler/onnx_importer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "compiler/onnx_import_context.h"
#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"
#include "runtime/file_io.h"
#include "runtime/shape.h"

namespace q46 {
namespace {

constexpr int kMinOpset = 6;
constexpr int kNativeMinOpset = 13;  // older models are upgraded to this opset first
constexpr int kMaxOpset = 17;
// Limits checked before anything of that size is allocated: graph nodes, elements of one value, and the float
// bytes of every activation together (what the compiler and the runtime must hold).
constexpr int kMaxNodes = 1 << 16;
constexpr int64_t kMaxValueElements = int64_t{1} << 31;
constexpr int64_t kMaxActivationBytes = int64_t{16} << 30;

// Adds a value's bytes to the activation total; an error naming it when a limit is passed.
absl::Status CountActivation(const std::string& name, const std::vector<int64_t>& dims, int64_t* total_bytes) {
  const int64_t n = BoundedElementCount(dims, kMaxValueElements);
  if (n < 0)
    return absl::InvalidArgumentError(absl::StrCat("'", name, "' would have dims [", absl::StrJoin(dims, ", "),
                                                   "], over q46's limit of 2^31 elements per tensor"));
  *total_bytes += n * 4;
  if (*total_bytes > kMaxActivationBytes)
    return absl::InvalidArgumentError(absl::StrCat("the activations up to '", name, "' take more than ",
                                                   kMaxActivationBytes >> 30, " GiB, q46's limit"));
  return absl::OkStatus();
}

// An ONNX exception's text on one line: the checker puts the node it blames ("==> Context: ... Name: relu1
// OpType: Relu") on a line of its own, after the reason.
std::string OneLine(const std::string& s) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(s, '\n', absl::SkipWhitespace())) lines.emplace_back(line);
  return absl::StrJoin(lines, "; ");
}

// Whether q46 imports `op` in a model of `opset`: ops it has a handler for, and older ops that ONNX's opset
// converter replaces by one of those on the way to kNativeMinOpset.
bool Imports(const std::string& op, int opset) {
  static const std::map<std::string, std::string> replaced_by_conversion = {{"Upsample", "Resize"}};
  if (FindOpHandler(op)) return true;
  const auto it = replaced_by_conversion.find(op);
  return opset < kNativeMinOpset && it != replaced_by_conversion.end() && FindOpHandler(it->second);
}

// What ONNX's own converter and shape inference take for granted but its checker does not check (they crash on
// it): only ops q46 imports (so that ONNX infers no other op's shapes), every name defined once before it is
// read, every graph output defined, no subgraphs (q46 has no control flow), convolution weights of the input's
// rank, and positive strides, dilations and kernel sizes (ONNX divides by them). Checked first, so that malformed
// models get an error naming the node.
absl::Status CheckBeforeOnnx(const onnx::GraphProto& g, int opset) {
  std::set<std::string> defined;
  std::map<std::string, int> rank;  // where declared
  for (const auto& i : g.initializer()) defined.insert(i.name()), rank[i.name()] = i.dims_size();
  for (const auto& i : g.input()) {
    defined.insert(i.name());
    if (i.type().has_tensor_type() && i.type().tensor_type().has_shape())
      rank[i.name()] = i.type().tensor_type().shape().dim_size();
  }
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    const std::string name = OnnxNodeName(n, i);
    auto error = [&](const std::string& what) { return OnnxNodeError(n, name, opset, what); };
    auto unsupported = [&](const std::string& what) {
      return absl::UnimplementedError(error(what).message());
    };
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      return unsupported(absl::StrCat("domain '", n.domain(), "' is not supported"));
    if (!Imports(n.op_type(), opset))
      return unsupported(absl::StrCat("unsupported op; q46 imports ", absl::StrJoin(SupportedOnnxOps(), ", ")));
    for (const auto& a : n.attribute()) {
      if (a.has_g() || a.graphs_size() > 0) return unsupported("has a subgraph; q46 imports no control flow");
      if (a.name() == "strides" || a.name() == "dilations" || a.name() == "kernel_shape")
        for (int64_t v : a.ints())
          if (v <= 0) return error(absl::StrCat(a.name(), " must be positive, not ", v));
    }
    for (const auto& in : n.input())
      if (!in.empty() && !defined.count(in)) return error(absl::StrCat("reads '", in, "', which nothing defines before it"));
    if ((n.op_type() == "Conv" || n.op_type() == "ConvTranspose") && n.input_size() >= 2 && rank.count(n.input(0)) &&
        rank.count(n.input(1)) && (rank[n.input(0)] < 3 || rank[n.input(0)] != rank[n.input(1)]))
      return error(absl::StrCat("weights of rank ", rank[n.input(1)], " for an input of rank ", rank[n.input(0)]));
    for (const auto& out : n.output())
      if (!out.empty() && !defined.insert(out).second) return error(absl::StrCat("defines '", out, "' a second time"));
  }
  for (const auto& out : g.output())
    if (!defined.count(out.name()))
      return absl::InvalidArgumentError(absl::StrCat("graph output '", out.name(), "' is never computed"));
  return absl::OkStatus();
}

// Softmax before opset 13 flattens its input at `axis` (default 1). ONNX's converter to opset 13 clamps an axis
// out of [-rank, rank - 1] into range instead of refusing it (and reads it as a 32-bit int), so it is checked here
// first, on the ranks that shape inference found; where the rank is unknown, at least against the 32-bit range.
absl::Status CheckLegacySoftmaxAxes(const onnx::GraphProto& g, int opset) {
  std::map<std::string, int64_t> rank;
  const auto declare = [&](const onnx::ValueInfoProto& v) {
    if (v.type().has_tensor_type() && v.type().tensor_type().has_shape())
      rank[v.name()] = v.type().tensor_type().shape().dim_size();
  };
  for (const auto& v : g.input()) declare(v);
  for (const auto& v : g.value_info()) declare(v);
  for (const auto& v : g.output()) declare(v);
  for (const auto& i : g.initializer()) rank[i.name()] = i.dims_size();
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    if (n.op_type() != "Softmax" || n.input_size() < 1) continue;
    int64_t axis = 1;
    for (const auto& a : n.attribute())
      if (a.name() == "axis") axis = a.i();
    const auto error = [&](const std::string& what) { return OnnxNodeError(n, OnnxNodeName(n, i), opset, what); };
    if (!rank.count(n.input(0))) {
      if (axis < INT32_MIN || axis > INT32_MAX) return error(absl::StrCat("axis ", axis, " is out of range"));
      continue;
    }
    const int64_t r = rank[n.input(0)];
    if (axis < -r || axis >= r) return error(absl::StrCat("axis ", axis, " is out of range for an input of rank ", r));
  }
  return absl::OkStatus();
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
      if (i == 0 && options.batch && *options.batch != d.dim_value())
        return absl::InvalidArgumentError(absl::StrCat("graph input '", vi.name(), "' has a fixed batch of ",
                                                       d.dim_value(), ": --batch ", *options.batch,
                                                       " applies only to a symbolic batch dimension"));
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
  int64_t activation_bytes = 0;
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
    if (st.ok()) st = CountActivation(in.name(), v.dims, &activation_bytes);
    if (!st.ok()) return st;
    const ir::ValueId id = graph.AddValue(std::move(v));
    names[in.name()] = id;
    graph.inputs.push_back(id);
  }
  if (graph.inputs.empty()) return absl::InvalidArgumentError("the model has no non-constant input");
  if (g.node_size() > kMaxNodes)
    return absl::InvalidArgumentError(absl::StrCat("the graph has ", g.node_size(), " nodes, over q46's limit of ",
                                                   kMaxNodes));

  const auto inferred = InferredDims(g);
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& node = g.node(i);
    ImportContext ctx(graph, names, node, OnnxNodeName(node, i), opset);
    absl::Status st = FindOpHandler(node.op_type())(ctx);  // CheckBeforeOnnx saw every op and input
    if (!st.ok()) return st;
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      if (!names.count(out)) return ctx.Error(absl::StrCat("output '", out, "' is not supported"));
      const auto it = inferred.find(out);
      const auto& dims = graph.values[names[out]].dims;
      if (!graph.IsConstant(names[out]))
        if (absl::Status limit = CountActivation(out, dims, &activation_bytes); !limit.ok())
          return ctx.Error(std::string(limit.message()));
      if (!graph.IsConstant(names[out]) && std::find(dims.begin(), dims.end(), 0) != dims.end())
        return ctx.Error(absl::StrCat("output '", out, "' would be empty (dims [", absl::StrJoin(dims, ", "),
                                      "]); q46 tensors are not empty"));
      if (it != inferred.end() && it->second != dims)
        return ctx.Error(absl::StrCat("q46 computed dims [", absl::StrJoin(dims, ", "), "] for '", out,
                                      "' but ONNX shape inference says [", absl::StrJoin(it->second, ", "), "]"));
    }
  }
  for (const auto& out : g.output()) {
    const ir::ValueId id = names.at(out.name());  // CheckBeforeOnnx saw it defined, and every node output is bound
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
  if (absl::Status st = CheckBeforeOnnx(model.graph(), opset); !st.ok())
    return absl::Status(st.code(), absl::StrCat(name, ": ", st.message()));
  // Older models are converted first, and what goes wrong after that names the converted graph's opset and
  // perhaps nodes the converter made: said so.
  const int model_opset = opset;
  const std::string converted =
      model_opset < kNativeMinOpset
          ? absl::StrCat(" (the model is opset ", model_opset, ", converted to opset ", kNativeMinOpset, " by ONNX first)")
          : "";
  std::string stage = "ONNX rejected the model";
  try {
    onnx::checker::check_model(model);
    if (opset < kNativeMinOpset) {
      stage = "ONNX shape inference failed";
      onnx::shape_inference::InferShapes(model);  // some adapters (Softmax 12 -> 13) need shapes
      if (absl::Status st = CheckLegacySoftmaxAxes(model.graph(), opset); !st.ok())
        return absl::Status(st.code(), absl::StrCat(name, ": ", st.message()));
      stage = absl::StrCat("ONNX could not convert the model from opset ", model_opset, " to ", kNativeMinOpset);
      model = onnx::version_conversion::ConvertVersion(model, kNativeMinOpset);
      opset = kNativeMinOpset;
      // The converted graph is the one inferred and translated: it gets the same check.
      if (absl::Status st = CheckBeforeOnnx(model.graph(), opset); !st.ok())
        return absl::Status(st.code(), absl::StrCat(name, ": ", st.message(), converted));
    }
    stage = absl::StrCat("ONNX shape inference failed", converted);
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", stage, ": ", OneLine(e.what())));
  }
  absl::StatusOr<ir::Graph> graph = Translate(model, opset, options);
  if (!graph.ok())
    return absl::Status(graph.status().code(), absl::StrCat(name, ": ", graph.status().message(), converted));
  if (graph->name.empty()) graph->name = name;
  return graph;
}

absl::StatusOr<ir::Graph> ImportOnnxFile(const std::string& path, const ImportOptions& options) {
  std::string bytes;  // a regular file or a pipe, under the size limit: not /dev/zero or a folder
  if (rt::Status st = rt::ReadFileBytes(path, &bytes); !st.ok()) return absl::NotFoundError(st.message());
  return ImportOnnxBytes(bytes, path, options);
}

}  // namespace q46
