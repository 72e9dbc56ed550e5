// IR -> plan lowering (see plan_writer.h for the code / float decision).
#include "compiler/plan_writer.h"

#include <cstring>
#include <map>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace q46 {
namespace {

struct Codes {
  float scale;
  int32_t zero_point;
  int32_t levels;
  bool operator==(const Codes& o) const {
    return scale == o.scale && zero_point == o.zero_point && levels == o.levels;
  }
  bool operator<(const Codes& o) const {
    return std::tie(scale, zero_point, levels) < std::tie(o.scale, o.zero_point, o.levels);
  }
};

std::string Bytes(const void* data, size_t size) { return std::string(static_cast<const char*>(data), size); }

void SetWindow(const ir::Window2d& w, bool transposed, plan::Window* p) {
  for (int64_t v : {w.kh, w.kw}) p->add_kernel(v);
  for (int64_t v : {w.sh, w.sw}) p->add_stride(v);
  for (int64_t v : {w.dh, w.dw}) p->add_dilation(v);
  for (int64_t v : {w.pad_t, w.pad_l, w.pad_b, w.pad_r}) p->add_pads(v);
  if (transposed)
    for (int64_t v : {w.out_pad_h, w.out_pad_w}) p->add_output_padding(v);
}

void SetActivation(const ir::FloatActivation& a, plan::Activation* p) {
  p->set_kind(static_cast<plan::Activation::Kind>(a.kind));
  p->set_lo(a.lo);
  p->set_hi(a.hi);
  p->set_alpha(a.alpha);
  p->set_beta(a.beta);
}

class Lowering {
 public:
  Lowering(const ir::Graph& g, const LowerOptions& o) : g_(g), o_(o) {}

  absl::StatusOr<plan::Plan> Run() {
    plan_.set_producer(o_.producer);
    plan_.set_model_name(g_.name);
    ComputeWantedCodes();
    for (ir::ValueId v : g_.inputs) {
      float_[v] = NewTensor(g_.values[v].name, g_.values[v].dims, std::nullopt);
      plan_.add_inputs(float_[v]);
    }
    for (const ir::Node& n : g_.nodes)
      if (absl::Status st = LowerNode(n); !st.ok()) return st;
    for (ir::ValueId v : g_.outputs) plan_.add_outputs(FloatOf(v));
    for (ir::ValueId v : o_.extra_outputs) plan_.add_outputs(FloatOf(v));
    return std::move(plan_);
  }

 private:
  const ir::ConvQuant* QuantOf(const ir::Node& n) const {
    const auto* c = ir::AttrsIf<ir::ConvAttrs>(n);
    return c && c->quant && !o_.all_float && !o_.fake_quant ? &*c->quant : nullptr;
  }

  // The quantization a fake-quantized layer simulates in float, or null.
  const ir::ConvQuant* FakeQuantOf(const ir::Node& n) const {
    const auto* c = ir::AttrsIf<ir::ConvAttrs>(n);
    return c && c->quant && o_.fake_quant && !o_.all_float ? &*c->quant : nullptr;
  }

  // Ops whose output codes equal the ops applied to codes (same quantization in and out).
  static bool CommutesWithCodes(const ir::Node& n) {
    if (const auto* p = ir::AttrsIf<ir::PoolAttrs>(n)) return p->max;
    if (const auto* p = ir::AttrsIf<ir::PadAttrs>(n)) return p->value == 0.0f;
    return std::holds_alternative<ir::ReshapeAttrs>(n.attrs) || std::holds_alternative<ir::SliceAttrs>(n.attrs);
  }

  // A concatenation whose output travels as codes concatenates its inputs' codes (each quantized on its own where
  // it is a float): the same codes as quantizing the joined floats, with a quarter of the bytes moved.
  static bool IsConcat(const ir::Node& n) { return std::holds_alternative<ir::ConcatAttrs>(n.attrs); }

  // want_[v]: the codes every reader of v wants, if they all want the same.
  void ComputeWantedCodes() {
    for (int i = static_cast<int>(g_.nodes.size()) - 1; i >= 0; --i) {
      for (ir::ValueId v : g_.nodes[i].outputs) {
        if (g_.IsGraphOutput(v)) continue;
        std::optional<Codes> common;
        bool ok = true;
        for (int c : g_.Consumers(v)) {
          const ir::Node& reader = g_.nodes[c];
          std::optional<Codes> w;
          if (const ir::ConvQuant* q = QuantOf(reader); q && reader.inputs[0] == v)
            w = Codes{q->in_scale, q->in_zero_point, q->precision.nx};
          else if ((CommutesWithCodes(reader) || IsConcat(reader)) && want_.count(reader.outputs[0]))
            w = want_[reader.outputs[0]];
          if (!w || (common && !(*common == *w))) ok = false;
          common = w;
        }
        if (ok && common) want_[v] = *common;
      }
    }
    for (ir::ValueId v : o_.extra_outputs) want_.erase(v);
  }

  int NewTensor(const std::string& name, const std::vector<int64_t>& dims, std::optional<Codes> codes) {
    plan::Tensor* t = plan_.add_tensors();
    t->set_name(name);
    for (int64_t d : dims) t->add_dims(d);
    if (codes) {
      t->set_dtype(plan::UINT8_CODES);
      t->mutable_quant()->set_scale(codes->scale);
      t->mutable_quant()->set_zero_point(codes->zero_point);
      t->mutable_quant()->set_levels(codes->levels);
    } else {
      t->set_dtype(plan::FLOAT32);
    }
    return plan_.tensors_size() - 1;
  }

  plan::Node* NewNode(const ir::Node& n, std::vector<int> inputs, int output) {
    plan::Node* p = plan_.add_nodes();
    p->set_name(n.name);
    for (int i : inputs) p->add_inputs(i);
    p->add_outputs(output);
    return p;
  }

  // The plan tensor holding v as floats, adding a constant or a Dequantize when needed.
  int FloatOf(ir::ValueId v) {
    if (auto it = float_.find(v); it != float_.end()) return it->second;
    const ir::Value& val = g_.values[v];
    if (val.constant) {
      const int t = NewTensor(val.name, val.dims, std::nullopt);
      plan_.mutable_tensors(t)->set_data(Bytes(val.constant->data.data(), val.constant->data.size() * sizeof(float)));
      return float_[v] = t;
    }
    const auto& [codes, src] = codes_.at(v);
    const int t = NewTensor(val.name, val.dims, std::nullopt);
    plan::Node* p = plan_.add_nodes();
    p->set_name(val.name + "/dequantize");
    p->add_inputs(src);
    p->add_outputs(t);
    p->mutable_dequantize();
    return float_[v] = t;
  }

  // The plan tensor holding v as `codes`, adding a Quantize when needed.
  int CodesOf(ir::ValueId v, const Codes& codes) {
    if (auto it = codes_.find(v); it != codes_.end() && it->second.first == codes) return it->second.second;
    const auto key = std::make_pair(v, codes);
    if (auto it = quantized_.find(key); it != quantized_.end()) return it->second;
    const int src = FloatOf(v);
    const int t = NewTensor(absl::StrCat(g_.values[v].name, "/q", codes.levels), g_.values[v].dims, codes);
    plan::Node* p = plan_.add_nodes();
    p->set_name(g_.values[v].name + "/quantize");
    p->add_inputs(src);
    p->add_outputs(t);
    p->mutable_quantize();
    return quantized_[key] = t;
  }

  // The output tensor of a node: codes when wanted and `can_codes`, else float.
  int Output(ir::ValueId v, bool can_codes) {
    const ir::Value& val = g_.values[v];
    if (can_codes && want_.count(v)) {
      const int t = NewTensor(val.name, val.dims, want_[v]);
      codes_[v] = {want_[v], t};
      return t;
    }
    return float_[v] = NewTensor(val.name, val.dims, std::nullopt);
  }

  absl::Status LowerNode(const ir::Node& n) {
    const ir::ValueId out = n.outputs[0];
    if (const auto* c = ir::AttrsIf<ir::ConvAttrs>(n)) return LowerConv(n, *c);
    if (IsConcat(n) && want_.count(out)) {
      std::vector<int> inputs;
      for (ir::ValueId v : n.inputs) inputs.push_back(CodesOf(v, want_[out]));
      return FillSimpleOp(n, NewNode(n, inputs, Output(out, true)));
    }
    if (CommutesWithCodes(n) && codes_.count(n.inputs[0]) && want_.count(out) &&
        codes_[n.inputs[0]].first == want_[out]) {
      // Runs on codes: same op, code tensors in and out.
      plan::Node* p = NewNode(n, {codes_[n.inputs[0]].second}, Output(out, true));
      return FillSimpleOp(n, p);
    }
    std::vector<int> inputs;
    for (ir::ValueId v : n.inputs) inputs.push_back(FloatOf(v));
    return FillSimpleOp(n, NewNode(n, inputs, Output(out, false)));
  }

  absl::Status FillSimpleOp(const ir::Node& n, plan::Node* p) {
    if (const auto* a = ir::AttrsIf<ir::PoolAttrs>(n)) {
      plan::Pool* pool = p->mutable_pool();
      pool->set_kind(a->max ? plan::Pool::MAX : plan::Pool::AVERAGE);
      SetWindow(a->window, false, pool->mutable_window());
      pool->set_count_include_pad(a->count_include_pad);
    } else if (const auto* a = ir::AttrsIf<ir::BinaryAttrs>(n)) {
      p->mutable_binary()->set_kind(static_cast<plan::Binary::Kind>(a->kind));
      SetActivation(a->activation, p->mutable_binary()->mutable_activation());
    } else if (const auto* a = ir::AttrsIf<ir::UnaryAttrs>(n)) {
      SetActivation(a->activation, p->mutable_unary()->mutable_activation());
    } else if (const auto* a = ir::AttrsIf<ir::ConcatAttrs>(n)) {
      p->mutable_concat()->set_axis(a->axis);
    } else if (ir::AttrsIf<ir::ReshapeAttrs>(n)) {
      p->mutable_reshape();
    } else if (const auto* a = ir::AttrsIf<ir::PadAttrs>(n)) {
      for (int64_t v : a->pads) p->mutable_pad()->add_pads(v);
      p->mutable_pad()->set_value(a->value);
    } else if (const auto* a = ir::AttrsIf<ir::ResizeAttrs>(n)) {
      plan::Resize* r = p->mutable_resize();
      r->set_mode(static_cast<plan::Resize::Mode>(a->params.mode));
      r->set_coordinates(static_cast<plan::Resize::Coordinates>(a->params.coordinates));
      r->set_rounding(static_cast<plan::Resize::Rounding>(a->params.rounding));
      for (float s : a->params.scales) r->add_scales(s);
    } else if (const auto* a = ir::AttrsIf<ir::SoftmaxAttrs>(n)) {
      p->mutable_softmax()->set_axis(a->axis);
    } else if (ir::AttrsIf<ir::MatMulAttrs>(n)) {
      p->mutable_matmul();
    } else if (const auto* a = ir::AttrsIf<ir::TransposeAttrs>(n)) {
      for (int64_t v : a->perm) p->mutable_transpose()->add_perm(v);
    } else if (const auto* a = ir::AttrsIf<ir::SliceAttrs>(n)) {
      for (int64_t v : a->starts) p->mutable_slice()->add_starts(v);
      for (int64_t v : a->steps) p->mutable_slice()->add_steps(v);
    } else if (const auto* a = ir::AttrsIf<ir::ReduceAttrs>(n)) {
      p->mutable_reduce()->set_kind(static_cast<plan::Reduce::Kind>(a->kind));
      for (int64_t v : a->axes) p->mutable_reduce()->add_axes(v);
    } else {
      return absl::InternalError(absl::StrCat("node '", n.name, "' (", n.op_type, ") was not lowered by the passes"));
    }
    return absl::OkStatus();
  }

  void AddFloatConv(const ir::Node& n, const ir::ConvAttrs& c, int input, const std::vector<float>& weights,
                    const std::vector<float>* bias) {
    plan::Node* p = NewNode(n, {input}, Output(n.outputs[0], false));
    plan::FloatConv* fc = p->mutable_float_conv();
    SetWindow(c.window, c.transposed, fc->mutable_window());
    fc->set_groups(c.groups);
    fc->set_transposed(c.transposed);
    fc->set_weights(Bytes(weights.data(), weights.size() * sizeof(float)));
    if (bias) fc->set_bias(Bytes(bias->data(), bias->size() * sizeof(float)));
    SetActivation(c.activation, fc->mutable_activation());
  }

  // A quantized layer as a float convolution: input quantized and dequantized, weights and bias dequantized.
  absl::Status LowerFakeQuantConv(const ir::Node& n, const ir::ConvAttrs& c, const ir::ConvQuant& q) {
    const Codes codes{q.in_scale, q.in_zero_point, q.precision.nx};
    const int quantized = CodesOf(n.inputs[0], codes);
    const int input = NewTensor(g_.values[n.inputs[0]].name + "/fake_quant", g_.values[n.inputs[0]].dims, std::nullopt);
    plan::Node* dq = plan_.add_nodes();
    dq->set_name(g_.values[n.inputs[0]].name + "/fake_quant");
    dq->add_inputs(quantized);
    dq->add_outputs(input);
    dq->mutable_dequantize();
    const int64_t out_c = static_cast<int64_t>(q.bias.size()), per = static_cast<int64_t>(q.weight_codes.size()) / out_c;
    std::vector<float> weights(q.weight_codes.size()), bias(q.bias.size());
    for (int64_t oc = 0; oc < out_c; ++oc) {
      const float sw = q.weight_scales[q.per_channel ? oc : 0];
      for (int64_t k = 0; k < per; ++k) weights[oc * per + k] = static_cast<float>(q.weight_codes[oc * per + k]) * sw;
      bias[oc] = arith::DequantizeAccumulator(q.bias[oc], arith::AccumulatorScale(q.in_scale, sw));
    }
    AddFloatConv(n, c, input, weights, &bias);
    return absl::OkStatus();
  }

  absl::Status LowerConv(const ir::Node& n, const ir::ConvAttrs& c) {
    const ir::ValueId out = n.outputs[0];
    const FloatTensor& w = *g_.values[n.inputs[1]].constant;
    const FloatTensor* bias = n.inputs.size() > 2 ? &*g_.values[n.inputs[2]].constant : nullptr;
    if (const ir::ConvQuant* fq = FakeQuantOf(n)) return LowerFakeQuantConv(n, c, *fq);
    const ir::ConvQuant* q = QuantOf(n);
    if (!q) {
      AddFloatConv(n, c, FloatOf(n.inputs[0]), w.data, bias ? &bias->data : nullptr);
      return absl::OkStatus();
    }
    const Codes in_codes{q->in_scale, q->in_zero_point, q->precision.nx};
    const bool codes_out = c.activation.kind == ir::FloatActivation::kNone ||
                           c.activation.kind == ir::FloatActivation::kClip;
    const int y = Output(out, codes_out);
    plan::Node* p = NewNode(n, {CodesOf(n.inputs[0], in_codes)}, y);
    plan::QuantConv* qc = p->mutable_quant_conv();
    SetWindow(c.window, false, qc->mutable_window());
    qc->set_groups(c.groups);
    qc->set_weight_levels(q->precision.nw);
    qc->set_weight_codes(Bytes(q->weight_codes.data(), q->weight_codes.size()));
    for (float s : q->weight_scales) qc->add_weight_scales(s);
    for (int32_t b : q->bias) qc->add_bias(b);
    if (plan_.tensors(y).dtype() == plan::UINT8_CODES) {
      const plan::ActivationQuant& yq = plan_.tensors(y).quant();
      const arith::CodeRange r = c.activation.kind == ir::FloatActivation::kClip
                                     ? arith::ClampToCodes(c.activation.lo, c.activation.hi, yq.scale(),
                                                           yq.zero_point(), yq.levels())
                                     : arith::ActivationCodes(yq.levels());
      qc->set_out_lo(r.lo);
      qc->set_out_hi(r.hi);
    } else {
      SetActivation(c.activation, qc->mutable_activation());
    }
    return absl::OkStatus();
  }

  const ir::Graph& g_;
  const LowerOptions& o_;
  plan::Plan plan_;
  std::map<ir::ValueId, Codes> want_;
  std::map<ir::ValueId, int> float_;
  std::map<ir::ValueId, std::pair<Codes, int>> codes_;
  std::map<std::pair<ir::ValueId, Codes>, int> quantized_;
};

}  // namespace

absl::StatusOr<plan::Plan> LowerToPlan(const ir::Graph& g, const LowerOptions& options) {
  return Lowering(g, options).Run();
}

}  // namespace q46
