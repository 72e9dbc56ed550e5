// IR -> ONNX QDQ model (see onnx_qdq_exporter.h). One Emit* function per IR op; quantization helpers below them.
#include "compiler/onnx_qdq_exporter.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "onnx/checker.h"
#include "onnx/defs/attr_proto_util.h"

namespace q46 {
namespace {

constexpr int kOpset = 13;  // per-axis QuantizeLinear / DequantizeLinear, Resize / Pad / Clip with tensor inputs

class QdqExport {
 public:
  QdqExport(const ir::Graph& g, const std::string& producer) : g_(g) {
    model_.set_ir_version(7);
    model_.set_producer_name(producer);
    model_.add_opset_import()->set_version(kOpset);
    graph_ = model_.mutable_graph();
    graph_->set_name(g.name.empty() ? "q46" : g.name);
  }

  absl::StatusOr<onnx::ModelProto> Run() {
    for (ir::ValueId v : g_.inputs) AddValueInfo(graph_->add_input(), v);
    for (const ir::Node& n : g_.nodes)
      if (absl::Status st = EmitNode(n); !st.ok()) return st;
    for (ir::ValueId v : g_.outputs) AddValueInfo(graph_->add_output(), v);
    try {
      onnx::checker::check_model(model_);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("the exported QDQ model fails ONNX's checker: ", e.what()));
    }
    return std::move(model_);
  }

 private:
  // ---- names --------------------------------------------------------------------------------------------------
  std::string Unique(const std::string& base) {
    std::string name = base.empty() ? "t" : base;
    for (int i = 1; !used_.insert(name).second; ++i) name = absl::StrCat(base, "_", i);
    return name;
  }
  const std::string& NameOf(ir::ValueId v) {
    auto it = names_.find(v);
    if (it == names_.end()) it = names_.emplace(v, Unique(g_.values[v].name)).first;
    return it->second;
  }
  // The name of a value a node reads; a constant becomes an initializer on its first read.
  std::string Use(ir::ValueId v) {
    const bool first = !names_.count(v);
    const std::string name = NameOf(v);
    if (first && g_.IsConstant(v)) {
      const FloatTensor& c = *g_.values[v].constant;
      onnx::TensorProto* t = graph_->add_initializer();
      t->set_name(name);
      SetData(t, onnx::TensorProto::FLOAT, c.dims, c.data);
    }
    return name;
  }

  // ---- graph building -----------------------------------------------------------------------------------------
  void AddValueInfo(onnx::ValueInfoProto* vi, ir::ValueId v) {
    vi->set_name(NameOf(v));
    auto* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : g_.values[v].dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  }

  onnx::NodeProto* AddNode(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                           std::vector<std::string> outputs) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(Unique(name));
    for (auto& i : inputs) n->add_input(std::move(i));
    for (auto& o : outputs) n->add_output(std::move(o));
    return n;
  }

  // Node attributes, built by ONNX's own MakeAttribute (one name per type: integer literals fit several).
  static void SetInts(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    *n->add_attribute() = onnx::MakeAttribute(name, v);
  }
  static void SetInt(onnx::NodeProto* n, const std::string& name, int64_t v) {
    *n->add_attribute() = onnx::MakeAttribute(name, v);
  }
  static void SetFloat(onnx::NodeProto* n, const std::string& name, float v) {
    *n->add_attribute() = onnx::MakeAttribute(name, v);
  }
  static void SetString(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    *n->add_attribute() = onnx::MakeAttribute(name, v);
  }

  // An initializer of element type `type` (FLOAT, INT64, INT32, INT8 or UINT8) from values, as little-endian
  // raw data of that type.
  template <typename T>
  std::string Initializer(const std::string& base, int type, const std::vector<int64_t>& dims,
                          const std::vector<T>& values) {
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(Unique(base));
    SetData(t, type, dims, values);
    return t->name();
  }
  template <typename T>
  static void SetData(onnx::TensorProto* t, int type, const std::vector<int64_t>& dims, const std::vector<T>& values) {
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    std::string* raw = t->mutable_raw_data();
    for (T v : values) {
      if (type == onnx::TensorProto::INT8 || type == onnx::TensorProto::UINT8)
        raw->push_back(static_cast<char>(v));
      else
        raw->append(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  std::string FloatScalar(const std::string& base, float v) {
    return Initializer<float>(base, onnx::TensorProto::FLOAT, {}, {v});
  }

  // ---- activations and code ranges ----------------------------------------------------------------------------
  // Writes `out` = act(in) (the ONNX op of that name; Relu or Clip for a clamp; Identity when there is none).
  void EmitActivation(const ir::FloatActivation& a, const std::string& base, const std::string& in,
                      const std::string& out) {
    switch (a.kind) {
      case ir::FloatActivation::kNone: AddNode("Identity", base, {in}, {out}); return;
      case ir::FloatActivation::kTanh: AddNode("Tanh", base, {in}, {out}); return;
      case ir::FloatActivation::kSigmoid: AddNode("Sigmoid", base, {in}, {out}); return;
      case ir::FloatActivation::kClip: EmitClip(a.lo, a.hi, base, in, out); return;
      case ir::FloatActivation::kLeakyRelu: SetFloat(AddNode("LeakyRelu", base, {in}, {out}), "alpha", a.alpha); return;
      case ir::FloatActivation::kHardSigmoid: EmitHardSigmoid(a, base, in, out); return;
      case ir::FloatActivation::kHardSwish: {  // HardSwish is opset 14: x * HardSigmoid(x)
        const std::string gate = Unique(out + ".gate");
        EmitHardSigmoid(a, base + ".gate", in, gate);
        AddNode("Mul", base, {in, gate}, {out});
        return;
      }
    }
  }
  void EmitHardSigmoid(const ir::FloatActivation& a, const std::string& base, const std::string& in,
                       const std::string& out) {
    onnx::NodeProto* n = AddNode("HardSigmoid", base, {in}, {out});
    SetFloat(n, "alpha", a.alpha);
    SetFloat(n, "beta", a.beta);
  }
  void EmitClip(float lo, float hi, const std::string& base, const std::string& in, const std::string& out) {
    if (lo == 0.0f && std::isinf(hi) && hi > 0) {
      AddNode("Relu", base, {in}, {out});
      return;
    }
    const std::string min = std::isfinite(lo) ? FloatScalar(base + ".min", lo) : "";
    const std::string max = std::isfinite(hi) ? FloatScalar(base + ".max", hi) : "";
    AddNode("Clip", base, {in, min, max}, {out});
  }

  // The float value that q46's quantization of `v` reproduces: Clip to the code range (when it is narrower than
  // uint8's), QuantizeLinear, DequantizeLinear. Clamping before rounding equals clamping the codes (arith.h,
  // ClampToCodes). One chain per value and quantization, shared by every layer reading it.
  std::string FakeQuantized(ir::ValueId v, const ir::ConvQuant& q) {
    const auto key = std::make_tuple(v, q.in_scale, q.in_zero_point, q.precision.nx);
    if (auto it = fake_quantized_.find(key); it != fake_quantized_.end()) return it->second;
    const std::string base = NameOf(v);
    std::string x = base;
    const arith::CodeRange codes = arith::ActivationCodes(q.precision.nx);
    if (codes.hi < 255) {
      x = Unique(base + ".clamped");
      EmitClip(arith::Dequantize(codes.lo, q.in_scale, q.in_zero_point),
               arith::Dequantize(codes.hi, q.in_scale, q.in_zero_point), base + ".clamp", base, x);
    }
    const std::string scale = FloatScalar(base + ".scale", q.in_scale);
    const std::string zero = Initializer<int32_t>(base + ".zero_point", onnx::TensorProto::UINT8, {}, {q.in_zero_point});
    const std::string codes_name = Unique(base + ".codes");
    AddNode("QuantizeLinear", base + ".quantize", {x, scale, zero}, {codes_name});
    const std::string out = Unique(base + ".dequantized");
    AddNode("DequantizeLinear", base + ".dequantize", {codes_name, scale, zero}, {out});
    return fake_quantized_[key] = out;
  }

  // DequantizeLinear of integer codes with one scale per slice along axis 0 (or one scale for all).
  template <typename T>
  std::string Dequantized(const std::string& base, int type, const std::vector<int64_t>& dims,
                          const std::vector<T>& codes, const std::vector<float>& scales) {
    const std::string c = Initializer(base + ".codes", type, dims, codes);
    const bool per_axis = scales.size() > 1;
    const std::vector<int64_t> scale_dims = per_axis ? std::vector<int64_t>{static_cast<int64_t>(scales.size())}
                                                     : std::vector<int64_t>{};
    const std::string s = Initializer(base + ".scale", onnx::TensorProto::FLOAT, scale_dims, scales);
    const std::string z = Initializer(base + ".zero_point", type, scale_dims, std::vector<int32_t>(scales.size(), 0));
    const std::string out = Unique(base + ".dequantized");
    onnx::NodeProto* n = AddNode("DequantizeLinear", base + ".dequantize", {c, s, z}, {out});
    if (per_axis) SetInt(n, "axis", 0);
    return out;
  }

  // ---- ops ----------------------------------------------------------------------------------------------------
  absl::Status EmitNode(const ir::Node& n) {
    const std::string out = NameOf(n.outputs[0]);
    if (const auto* c = ir::AttrsIf<ir::ConvAttrs>(n)) return EmitConv(n, *c, out);
    std::vector<std::string> in;
    for (ir::ValueId v : n.inputs) in.push_back(Use(v));
    if (const auto* b = ir::AttrsIf<ir::BatchNormAttrs>(n)) {
      SetFloat(AddNode("BatchNormalization", n.name, in, {out}), "epsilon", b->epsilon);
    } else if (const auto* p = ir::AttrsIf<ir::PoolAttrs>(n)) {
      return EmitPool(n, *p, in[0], out);
    } else if (const auto* b = ir::AttrsIf<ir::BinaryAttrs>(n)) {
      static const char* const kOps[] = {"Add", "Sub", "Mul", "Div", "PRelu"};
      const std::string raw = Unique(out + ".raw");
      AddNode(kOps[static_cast<int>(b->kind)], n.name, in, {raw});
      EmitActivation(b->activation, n.name + ".activation", raw, out);
    } else if (const auto* u = ir::AttrsIf<ir::UnaryAttrs>(n)) {
      EmitActivation(u->activation, n.name, in[0], out);
    } else if (const auto* c = ir::AttrsIf<ir::ConcatAttrs>(n)) {
      SetInt(AddNode("Concat", n.name, in, {out}), "axis", c->axis);
    } else if (ir::AttrsIf<ir::ReshapeAttrs>(n)) {
      const std::vector<int64_t>& dims = g_.values[n.outputs[0]].dims;
      const std::string shape =
          Initializer(out + ".shape", onnx::TensorProto::INT64, {static_cast<int64_t>(dims.size())}, dims);
      AddNode("Reshape", n.name, {in[0], shape}, {out});
    } else if (const auto* p = ir::AttrsIf<ir::PadAttrs>(n)) {
      const std::string pads =
          Initializer(out + ".pads", onnx::TensorProto::INT64, {static_cast<int64_t>(p->pads.size())}, p->pads);
      AddNode("Pad", n.name, {in[0], pads, FloatScalar(out + ".value", p->value)}, {out});
    } else if (const auto* r = ir::AttrsIf<ir::ResizeAttrs>(n)) {
      EmitResize(n, r->params, in[0], out);
    } else if (const auto* s = ir::AttrsIf<ir::SoftmaxAttrs>(n)) {
      SetInt(AddNode("Softmax", n.name, in, {out}), "axis", s->axis);
    } else if (ir::AttrsIf<ir::MatMulAttrs>(n)) {
      AddNode("MatMul", n.name, in, {out});
    } else if (const auto* t = ir::AttrsIf<ir::TransposeAttrs>(n)) {
      SetInts(AddNode("Transpose", n.name, in, {out}), "perm", t->perm);
    } else if (const auto* s = ir::AttrsIf<ir::SliceAttrs>(n)) {
      EmitSlice(*s, g_.values[n.outputs[0]].dims, n.name, in[0], out);
    } else if (const auto* r = ir::AttrsIf<ir::ReduceAttrs>(n)) {
      EmitReduce(*r, g_.values[n.inputs[0]].dims.size() == g_.values[n.outputs[0]].dims.size(), n.name, in[0], out);
    } else {
      return absl::UnimplementedError(absl::StrCat("--emit-onnx-qdq: node '", n.name, "' (", n.op_type,
                                                   ") has no QDQ export"));
    }
    return absl::OkStatus();
  }

  // ends = starts + count * steps; a backward walk to the first element ends before it, which ONNX spells as any
  // end below -size (clamped to -1), not -1 (the last element).
  void EmitSlice(const ir::SliceAttrs& s, const std::vector<int64_t>& counts, const std::string& name,
                 const std::string& in, const std::string& out) {
    const int64_t n = static_cast<int64_t>(counts.size());
    std::vector<int64_t> ends, axes;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t end = s.starts[i] + counts[i] * s.steps[i];
      ends.push_back(end < 0 ? std::numeric_limits<int64_t>::min() : end);
      axes.push_back(i);
    }
    auto ints = [&](const std::string& what, const std::vector<int64_t>& v) {
      return Initializer(out + "." + what, onnx::TensorProto::INT64, {n}, v);
    };
    AddNode("Slice", name, {in, ints("starts", s.starts), ints("ends", ends), ints("axes", axes),
                            ints("steps", s.steps)}, {out});
  }

  // ReduceSum takes its axes as an input from opset 13; the others as an attribute until opset 18.
  void EmitReduce(const ir::ReduceAttrs& r, bool keepdims, const std::string& name, const std::string& in,
                  const std::string& out) {
    static const char* const kOps[] = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum"};
    onnx::NodeProto* node;
    if (r.kind == kernels::ReduceKind::kSum) {
      const std::string axes =
          Initializer(out + ".axes", onnx::TensorProto::INT64, {static_cast<int64_t>(r.axes.size())}, r.axes);
      node = AddNode(kOps[static_cast<int>(r.kind)], name, {in, axes}, {out});
    } else {
      node = AddNode(kOps[static_cast<int>(r.kind)], name, {in}, {out});
      SetInts(node, "axes", r.axes);
    }
    SetInt(node, "keepdims", keepdims ? 1 : 0);
  }

  // Conv / ConvTranspose (Gemm for a fully connected layer on a matrix), then its activation.
  absl::Status EmitConv(const ir::Node& n, const ir::ConvAttrs& c, const std::string& out) {
    const ir::Value& w = g_.values[n.inputs[1]];
    const bool dense = g_.values[n.inputs[0]].dims.size() == 2;
    std::vector<int64_t> w_dims = w.constant->dims;
    if (dense) w_dims.resize(2);  // [M, K, 1, 1] -> [M, K]
    std::vector<std::string> in;
    if (c.quant) {
      if (c.transposed) return absl::UnimplementedError("--emit-onnx-qdq: quantized ConvTranspose '" + n.name + "'");
      const ir::ConvQuant& q = *c.quant;
      in.push_back(FakeQuantized(n.inputs[0], q));
      in.push_back(Dequantized(n.name + ".weight", onnx::TensorProto::INT8, w_dims,
                               std::vector<int32_t>(q.weight_codes.begin(), q.weight_codes.end()), q.weight_scales));
      std::vector<float> bias_scales;
      for (float s : q.weight_scales) bias_scales.push_back(arith::AccumulatorScale(q.in_scale, s));
      in.push_back(Dequantized(n.name + ".bias", onnx::TensorProto::INT32, {static_cast<int64_t>(q.bias.size())},
                               q.bias, bias_scales));
    } else {
      for (size_t i = 0; i < n.inputs.size(); ++i)
        in.push_back(dense && i == 1 ? Initializer(n.name + ".weight", onnx::TensorProto::FLOAT, w_dims,
                                                   w.constant->data)
                                     : Use(n.inputs[i]));
    }
    const std::string raw = c.activation.kind == ir::FloatActivation::kNone ? out : Unique(out + ".raw");
    if (dense) {
      SetInt(AddNode("Gemm", n.name, in, {raw}), "transB", 1);
    } else {
      onnx::NodeProto* p = AddNode(c.transposed ? "ConvTranspose" : "Conv", n.name, in, {raw});
      const ir::Window2d& win = c.window;
      SetInts(p, "kernel_shape", {win.kh, win.kw});
      SetInts(p, "strides", {win.sh, win.sw});
      SetInts(p, "dilations", {win.dh, win.dw});
      SetInts(p, "pads", {win.pad_t, win.pad_l, win.pad_b, win.pad_r});
      SetInt(p, "group", c.groups);
      if (c.transposed) SetInts(p, "output_padding", {win.out_pad_h, win.out_pad_w});
    }
    if (raw != out) EmitActivation(c.activation, n.name + ".activation", raw, out);
    return absl::OkStatus();
  }

  absl::Status EmitPool(const ir::Node& n, const ir::PoolAttrs& p, const std::string& in, const std::string& out) {
    const ir::Window2d& w = p.window;
    if (!p.max && (w.dh != 1 || w.dw != 1))
      return absl::UnimplementedError("--emit-onnx-qdq: dilated AveragePool '" + n.name + "' (needs opset 19)");
    onnx::NodeProto* o = AddNode(p.max ? "MaxPool" : "AveragePool", n.name, {in}, {out});
    SetInts(o, "kernel_shape", {w.kh, w.kw});
    SetInts(o, "strides", {w.sh, w.sw});
    SetInts(o, "pads", {w.pad_t, w.pad_l, w.pad_b, w.pad_r});
    if (p.max) SetInts(o, "dilations", {w.dh, w.dw});
    if (!p.max) SetInt(o, "count_include_pad", p.count_include_pad);
    // The IR keeps the output size; ceil_mode reproduces it where floor division would give one less.
    const std::vector<int64_t>& x = g_.values[n.inputs[0]].dims;
    const std::vector<int64_t>& y = g_.values[n.outputs[0]].dims;
    const auto floor_size = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t pads) {
      return (in + pads - d * (k - 1) - 1) / s + 1;
    };
    if (floor_size(x[2], w.kh, w.sh, w.dh, w.pad_t + w.pad_b) != y[2] ||
        floor_size(x[3], w.kw, w.sw, w.dw, w.pad_l + w.pad_r) != y[3])
      SetInt(o, "ceil_mode", 1);
    return absl::OkStatus();
  }

  void EmitResize(const ir::Node& n, const kernels::ResizeParams& r, const std::string& in, const std::string& out) {
    static const char* const kCoordinates[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"};
    static const char* const kRounding[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const std::string scales = Initializer(out + ".scales", onnx::TensorProto::FLOAT,
                                           {static_cast<int64_t>(r.scales.size())}, r.scales);
    onnx::NodeProto* o = AddNode("Resize", n.name, {in, "", scales}, {out});
    SetString(o, "mode", r.mode == kernels::ResizeParams::kNearest ? "nearest" : "linear");
    SetString(o, "coordinate_transformation_mode", kCoordinates[r.coordinates]);
    SetString(o, "nearest_mode", kRounding[r.rounding]);
  }

  const ir::Graph& g_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
  std::set<std::string> used_;
  std::map<ir::ValueId, std::string> names_;
  std::map<std::tuple<ir::ValueId, float, int32_t, int32_t>, std::string> fake_quantized_;
};

}  // namespace

absl::StatusOr<onnx::ModelProto> ExportOnnxQdq(const ir::Graph& g, const std::string& producer) {
  return QdqExport(g, producer).Run();
}

}  // namespace q46
