// QuantConv op: integer codes in, int32 accumulation, requantized codes or dequantized floats out, to which a second
// input (a residual, the loader's fusion of a following Add: runtime/fuse_into_convolutions.h) may be added before the
// activation, and which a second output may take quantized (the fusion of a following Quantize). Implementations
// in order: the depthwise kernel (depthwise layers, any ISA but ref), the packed SIMD microkernels (qconv/), the
// reference. Weights are packed here, once. Float convolutions are in float_conv_op.cc.
#include <limits>

#include "runtime/arith.h"
#include "runtime/dispatch_log.h"
#include "runtime/kernels/align.h"
#include "runtime/kernels/fast/fast_kernels.h"
#include "runtime/kernels/parallel_for.h"
#include "runtime/kernels/qconv/qconv.h"
#include "runtime/ops/conv_shape.h"
#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

using kernels::FloatActivation;

// A residual input: y = activation(y + residual) over elements [first, last), as the Add it replaces computes it.
struct ResidualInput {
  int tensor = -1;  // -1: none
  FloatActivation activation;
  void AddTo(const RunState& st, int y, int64_t first, int64_t last) const {
    auto* out = static_cast<float*>(st.buffers[y]) + first;
    kernels::BinaryFlat(kernels::BinaryKind::kAdd, out, static_cast<const float*>(st.buffers[tensor]) + first,
                        last - first, activation, out);
  }
};

// A float output's quantized copy (a second output, the loader's fusion of a following Quantize), as QuantizeOp
// writes it: elements [first, last).
struct QuantizedCopy {
  int tensor = -1;  // -1: none
  float scale = 1;
  int32_t zero_point = 0, lo = 0, hi = 0;
  void From(const RunState& st, int y, int64_t first, int64_t last) const {
    kernels::QuantizeRow(static_cast<const float*>(st.buffers[y]) + first, last - first, scale, zero_point, lo, hi,
                         static_cast<uint8_t*>(st.buffers[tensor]) + first);
  }
};

// What a fused convolution's implementation() adds to its kernel's name.
std::string FusedSuffix(bool residual, bool quantized) {
  return std::string(residual ? "+add" : "") + (quantized ? "+quantize" : "");
}

// A quantized convolution as the plan gives it (OIHW weight codes, unpacked) with its output stage: what the
// reference and the depthwise implementations run from. With a residual the stage has no activation (`residual`
// applies it after the addition); with a quantized copy, `quantized` writes it after both.
struct UnpackedQuantConv {
  ConvShape s;
  std::vector<int8_t> w;
  uint8_t pad_code;
  kernels::qconv::OutputStage stage;
  ResidualInput residual;
  QuantizedCopy quantized;
  UnpackedQuantConv(const OpBuilder& b, ConvShape shape, std::vector<int8_t> weights, uint8_t pad,
                    kernels::qconv::OutputStage output_stage)
      : s(shape), w(std::move(weights)), pad_code(pad), stage(std::move(output_stage)) {
    if (stage.codes_too)
      quantized = {b.output_index(1), stage.code_scale, stage.code_zero_point, stage.code_lo, stage.code_hi};
    stage.codes_too = false;
    if (stage.residual) residual = {b.input_index(1), stage.activation}, stage.activation = FloatActivation();
    stage.residual = false;
  }
  // After the convolution wrote y's elements [first, last): the residual, then the quantized copy.
  void Finish(const RunState& st, int y, int64_t first, int64_t last) const {
    if (residual.tensor >= 0) residual.AddTo(st, y, first, last);
    if (quantized.tensor >= 0) quantized.From(st, y, first, last);
  }
};

// Integer convolution through the reference kernel; the output stage requantizes or dequantizes.
class RefQuantConv final : public Op {
 public:
  std::string implementation() const override {
    return "ref" + FusedSuffix(c_.residual.tensor >= 0, c_.quantized.tensor >= 0);
  }
  RefQuantConv(const OpBuilder& b, UnpackedQuantConv c)
      : x_(b.input_index(0)), y_(b.output_index(0)), c_(std::move(c)) {}

  void Run(const RunState& st) const override {
    const auto* x = static_cast<const uint8_t*>(st.buffers[x_]);
    const kernels::qconv::OutputStage& stage = c_.stage;
    const auto run = [&](auto&& out) {
      kernels::ConvQuantRef(x, c_.s.xs, c_.w.data(), stage.bias.data(), c_.s.win, c_.s.groups, c_.pad_code, c_.s.ys,
                            out);
    };
    if (stage.codes_out) {
      auto* y = static_cast<uint8_t*>(st.buffers[y_]);
      const arith::CodeRange clamp{stage.lo, stage.hi};
      run([&](int64_t i, int64_t c, int32_t acc) {
        y[i] = static_cast<uint8_t>(arith::Requantize(acc, stage.scale[c], stage.zero_point, clamp));
      });
    } else {
      auto* y = static_cast<float*>(st.buffers[y_]);
      run([&](int64_t i, int64_t c, int32_t acc) {
        y[i] = kernels::Activate(arith::DequantizeAccumulator(acc, stage.scale[c]), stage.activation);
      });
      c_.Finish(st, y_, 0, c_.s.ys.n * c_.s.ys.c * c_.s.ys.h * c_.s.ys.w);
    }
  }

 private:
  int x_, y_;
  UnpackedQuantConv c_;
};

// Depthwise integer convolution (fast_kernels.h), planes split over threads; each thread its own working set in the
// context's scratch (sized for its thread count).
class DepthwiseQuantConv final : public Op {
 public:
  std::string implementation() const override {
    return "depthwise" + FusedSuffix(c_.residual.tensor >= 0, c_.quantized.tensor >= 0);
  }
  DepthwiseQuantConv(const OpBuilder& b, UnpackedQuantConv c, bool int16_sums)
      : x_(b.input_index(0)), y_(b.output_index(0)), c_(std::move(c)), int16_sums_(int16_sums),
        thread_bytes_((kernels::DepthwiseScratchBytes(c_.s.xs, c_.s.ys, c_.s.win) + kernels::kCacheLine - 1) /
                      kernels::kCacheLine * kernels::kCacheLine) {}
  size_t scratch_bytes(int threads) const override {
    return thread_bytes_ * static_cast<size_t>(std::max(threads, 1)) + kernels::kCacheLine - 1;  // AlignUp
  }
  void Run(const RunState& st) const override {
    const auto* x = static_cast<const uint8_t*>(st.buffers[x_]);
    uint8_t* scratch = kernels::AlignUp(st.scratch);
    const ConvShape& s = c_.s;
    // Planes of at least ~256 K MACs per thread (a fork and join costs microseconds).
    const int64_t plane_macs = s.ys.h * s.ys.w * s.win.kh * s.win.kw;
    kernels::ParallelParts(s.xs.n * s.xs.c, (int64_t{1} << 18) / std::max<int64_t>(plane_macs, 1), st.threads,
                           [&](int64_t part, int64_t first, int64_t last) {
                             kernels::DepthwiseConvQuant(x, s.xs, c_.w.data(), s.win, c_.pad_code, c_.stage,
                                                         int16_sums_, st.buffers[y_], s.ys, first, last,
                                                         scratch + static_cast<size_t>(part) * thread_bytes_);
                             const int64_t plane = s.ys.h * s.ys.w;  // planes [first, last) are NCHW's
                             c_.Finish(st, y_, first * plane, last * plane);
                           });
  }

 private:
  int x_, y_;
  UnpackedQuantConv c_;
  bool int16_sums_;
  size_t thread_bytes_;
};

// Integer convolution through a SIMD microkernel (runtime/kernels/qconv/), weights packed at load.
class FastQuantConv final : public Op {
 public:
  FastQuantConv(const OpBuilder& b, kernels::qconv::PackedConv conv, uint8_t pad_code)
      : x_(b.input_index(0)), y_(b.output_index(0)), residual_(b.num_inputs() == 2 ? b.input_index(1) : -1),
        quantized_(b.node().outputs_size() == 2 ? b.output_index(1) : -1), conv_(std::move(conv)),
        pad_code_(pad_code) {}
  void Run(const RunState& st) const override {
    conv_.Run(static_cast<const uint8_t*>(st.buffers[x_]), pad_code_, st.buffers[y_], st.scratch, st.threads,
              residual_ >= 0 ? static_cast<const float*>(st.buffers[residual_]) : nullptr,
              quantized_ >= 0 ? static_cast<uint8_t*>(st.buffers[quantized_]) : nullptr);
  }
  size_t scratch_bytes(int threads) const override { return conv_.scratch_bytes(threads); }
  std::string implementation() const override {
    return conv_.name() + FusedSuffix(residual_ >= 0, quantized_ >= 0);
  }

 private:
  int x_, y_, residual_, quantized_;
  kernels::qconv::PackedConv conv_;
  uint8_t pad_code_;
};

}  // namespace

Status CreateQuantConvOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  const plan::QuantConv& p = b.node().quant_conv();
  const bool residual = b.num_inputs() == 2, quantized = b.node().outputs_size() == 2;
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 2, quantized ? 2 : 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::UINT8_CODES));
  ConvShape s;
  Q46_RETURN_IF_ERROR(CheckConvShape(b, p.window(), p.groups(), /*transposed=*/false, &s));
  const plan::ActivationQuant& xq = b.input(0).quant();
  std::string why;
  if (!arith::CheckPrecision({xq.levels(), p.weight_levels()}, &why)) return b.Fail(why);
  if (p.weight_codes().size() != static_cast<size_t>(s.weight_count))
    return b.Fail("weight codes hold " + std::to_string(p.weight_codes().size()) + " bytes, expected " +
                  std::to_string(s.weight_count));
  const int64_t oc = s.ys.c, per_channel = s.weight_count / oc;
  if (p.weight_scales_size() != 1 && p.weight_scales_size() != oc)
    return b.Fail("has " + std::to_string(p.weight_scales_size()) + " weight scales, expected 1 or " +
                  std::to_string(oc));
  for (float sw : p.weight_scales())
    if (!(sw > 0 && std::isfinite(sw))) return b.Fail("weight scale " + std::to_string(sw) + " is not positive");
  if (p.bias_size() != oc) return b.Fail("has " + std::to_string(p.bias_size()) + " biases, expected " +
                                          std::to_string(oc));

  // Pack: copy codes (checking their range) and fold the zero-point term into the bias.
  const arith::CodeRange wr = arith::WeightCodes(p.weight_levels());
  std::vector<int8_t> w(p.weight_codes().begin(), p.weight_codes().end());
  std::vector<int32_t> bias(oc);
  const int64_t max_code = xq.levels() - 1;
  int64_t max_products = 0;  // the largest max code * sum |weights| of any channel: the bound of its sums
  for (int64_t c = 0; c < oc; ++c) {
    int64_t sum = 0, abs_sum = 0;
    for (int64_t k = 0; k < per_channel; ++k) {
      const int8_t v = w[c * per_channel + k];
      if (v < wr.lo || v > wr.hi)
        return b.Fail("weight code " + std::to_string(v) + " in output channel " + std::to_string(c) +
                      " is outside [" + std::to_string(wr.lo) + ", " + std::to_string(wr.hi) + "]");
      sum += v;
      abs_sum += std::abs(v);
    }
    max_products = std::max(max_products, max_code * abs_sum);
    const int64_t folded = int64_t{p.bias(c)} - int64_t{xq.zero_point()} * sum;
    // Every partial sum must fit int32: |bias| + |acc| bounded by the worst case of the codes.
    if (std::abs(folded) + max_code * abs_sum > std::numeric_limits<int32_t>::max())
      return b.Fail("output channel " + std::to_string(c) + " can overflow the int32 accumulator");
    bias[c] = static_cast<int32_t>(folded);
  }

  const auto scale_of = [&](int64_t c) { return p.weight_scales(p.weight_scales_size() == 1 ? 0 : c); };
  kernels::qconv::OutputStage stage;
  stage.bias = std::move(bias);
  const plan::Tensor& y = b.output(0);
  Q46_RETURN_IF_ERROR(b.ToActivation(p.activation(), &stage.activation));
  stage.codes_out = y.dtype() == plan::UINT8_CODES;
  if (residual) {
    if (stage.codes_out) return b.Fail("a residual input needs a float output");
    Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(1), plan::FLOAT32));
    Q46_RETURN_IF_ERROR(b.ExpectDims(b.input(1), DimsOf(y)));
    stage.residual = true;
  }
  if (quantized) {
    if (stage.codes_out) return b.Fail("a quantized copy of the output needs a float output");
    const plan::Tensor& q = b.output(1);
    Q46_RETURN_IF_ERROR(b.ExpectDtype(q, plan::UINT8_CODES));
    Q46_RETURN_IF_ERROR(b.ExpectDims(q, DimsOf(y)));
    const arith::CodeRange range = arith::ActivationCodes(q.quant().levels());
    stage.codes_too = true;
    stage.code_scale = q.quant().scale(), stage.code_zero_point = q.quant().zero_point();
    stage.code_lo = range.lo, stage.code_hi = range.hi;
  }
  if (stage.codes_out) {
    const plan::ActivationQuant& yq = y.quant();
    const arith::CodeRange full = arith::ActivationCodes(yq.levels());
    if (p.out_lo() < full.lo || p.out_hi() > full.hi || p.out_lo() > p.out_hi())
      return b.Fail("output clamp [" + std::to_string(p.out_lo()) + ", " + std::to_string(p.out_hi()) +
                    "] is outside the output's codes");
    if (p.activation().kind() != plan::Activation::NONE)
      return b.Fail("a float activation on a code output (clamps on codes are out_lo / out_hi)");
    for (int64_t c = 0; c < oc; ++c) stage.scale.push_back(arith::RequantMultiplier(xq.scale(), scale_of(c), yq.scale()));
    stage.zero_point = yq.zero_point(), stage.lo = p.out_lo(), stage.hi = p.out_hi();
  } else {
    Q46_RETURN_IF_ERROR(b.ExpectDtype(y, plan::FLOAT32));
    for (int64_t c = 0; c < oc; ++c) stage.scale.push_back(arith::AccumulatorScale(xq.scale(), scale_of(c)));
  }
  for (float m : stage.scale)
    if (!std::isfinite(m) || m <= 0) return b.Fail("output scale " + std::to_string(m) + " is not finite and positive");
  const uint8_t pad_code = static_cast<uint8_t>(xq.zero_point());

  // Implementations in order of preference, up to the load options' ISA; the reference kernel always accepts.
  // Depthwise layers first: the packed microkernels waste three of every four lanes on them.
  if (s.groups == s.xs.c && s.ys.c == s.xs.c && b.options().max_isa != kernels::qconv::Isa::kRef) {
    LogDispatch(b.node().name(), "quant_conv", "depthwise", "");
    *op = std::make_unique<DepthwiseQuantConv>(b, UnpackedQuantConv(b, s, std::move(w), pad_code, std::move(stage)),
                                               max_products <= std::numeric_limits<int16_t>::max());
    return Status();
  }
  std::string declined;
  const ConvShape packed = FlattenWholeInputKernel(s);
  const kernels::qconv::Geometry geometry = kernels::qconv::MakeGeometry(packed.xs, packed.ys, packed.win, s.groups);
  const int32_t max_weight = std::max(-wr.lo, wr.hi);
  for (const kernels::qconv::Microkernel* k : kernels::qconv::Microkernels()) {
    if (!kernels::qconv::IsaWithin(k->isa, b.options().max_isa)) continue;
    kernels::qconv::PackedConv conv;
    std::string why;
    if (kernels::qconv::PackedConv::Create(*k, geometry, w.data(), static_cast<int32_t>(max_code), max_weight, stage,
                                           &conv, &why)) {
      LogDispatch(b.node().name(), "quant_conv", k->name, declined);
      *op = std::make_unique<FastQuantConv>(b, std::move(conv), pad_code);
      return Status();
    }
    declined += (declined.empty() ? "" : "; ") + why;
  }
  LogDispatch(b.node().name(), "quant_conv", "ref",
              declined.empty() ? std::string("no SIMD kernel up to ISA ") +
                                     kernels::qconv::IsaName(b.options().max_isa)
                               : declined);
  *op = std::make_unique<RefQuantConv>(b, UnpackedQuantConv(b, s, std::move(w), pad_code, std::move(stage)));
  return Status();
}

}  // namespace q46::rt
