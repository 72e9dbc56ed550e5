// oneDNN float convolution / deconvolution wrapper: builds the primitive (with the fused activation as an eltwise
// post-op), reorders the weights once, and runs on caller-owned NCHW buffers. No kernel math of its own.
#include "runtime/kernels/onednn/conv_f32_onednn.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace q46::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

// An NCHW activation of shape s lying in an NCHW tensor of shape `within` (its strides; s itself by default).
memory::desc PlainActivation(Dims4 s, const Dims4* within) {
  const Dims4& t = within ? *within : s;
  return memory::desc({s.n, s.c, s.h, s.w}, memory::data_type::f32, memory::dims{t.c * t.h * t.w, t.h * t.w, t.w, 1});
}

// Shape checks oneDNN would otherwise report less clearly (or not at all, for a zero group count).
bool CheckShapes(Dims4 xs, const Window2d& win, int64_t groups, Dims4 ys, std::string* why) {
  auto fail = [&](const char* msg) {
    if (why) *why = msg;
    return false;
  };
  if (xs.n <= 0 || xs.c <= 0 || xs.h <= 0 || xs.w <= 0 || ys.n != xs.n || ys.c <= 0 || ys.h <= 0 || ys.w <= 0)
    return fail("empty or mismatched activation shape");
  if (groups <= 0 || xs.c % groups != 0 || ys.c % groups != 0) return fail("channels not divisible by groups");
  if (win.kh <= 0 || win.kw <= 0 || win.sh <= 0 || win.sw <= 0 || win.dh <= 0 || win.dw <= 0)
    return fail("non-positive kernel, stride or dilation");
  return true;
}

// Rounds `bytes` up to a whole number of 64-byte lines (the alignment the bound buffers get).
size_t Lines(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

// The fused activation as oneDNN post-ops. eltwise_clip and eltwise_clip_v2 compute the same forward value
// min(max(x, lo), hi) (they differ only in the backward pass at the bounds); oneDNN needs finite bounds.
// Plain ReLU (clip to [0, inf)) goes to eltwise_relu instead: same values (a negative input may give -0.0), and
// oneDNN 2.6's gemm convolution applies it vectorised while it runs clip several times slower.
dnnl::post_ops ActivationPostOps(const FloatActivation& act) {
  dnnl::post_ops ops;
  switch (act.kind) {
    case FloatActivation::kNone: break;
    case FloatActivation::kClip:
      if (act.lo == 0.0f && act.hi == INFINITY)
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      else
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, std::fmax(act.lo, -FLT_MAX),
                           std::fmin(act.hi, FLT_MAX));
      break;
    case FloatActivation::kTanh: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f); break;
    case FloatActivation::kSigmoid: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f); break;
    case FloatActivation::kLeakyRelu:  // HasPostOps declines these (the runtime's reference kernel runs them)
    case FloatActivation::kHardSigmoid:
    case FloatActivation::kHardSwish: break;
  }
  return ops;
}

// The activations ActivationPostOps expresses; a convolution with any other takes the reference kernel.
bool HasPostOps(const FloatActivation& act) {
  return act.kind == FloatActivation::kNone || act.kind == FloatActivation::kClip ||
         act.kind == FloatActivation::kTanh || act.kind == FloatActivation::kSigmoid;
}

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::unique_ptr<OnednnConvF32> OnednnConvF32::Create(Dims4 xs, const float* w, const float* bias, const Window2d& win,
                                                     int64_t groups, bool transposed, FloatActivation act, Dims4 ys,
                                                     std::string* why, const Dims4* x_within, const Dims4* y_within) {
  if (!CheckShapes(xs, win, groups, ys, why)) return nullptr;
  const auto inside = [](Dims4 band, const Dims4* within) {
    return !within || (band.n == within->n && band.c == within->c && band.h <= within->h && band.w == within->w);
  };
  if (!inside(xs, x_within) || !inside(ys, y_within)) {
    if (why) *why = "a band that is not rows of the tensor it lies in";
    return nullptr;
  }
  if (!HasPostOps(act)) {
    if (why) *why = "the fused activation has no oneDNN post-op here";
    return nullptr;
  }
  try {
    dnnl::engine& engine = CpuEngine();
    std::unique_ptr<OnednnConvF32> conv(new OnednnConvF32());
    conv->x_md_ = PlainActivation(xs, x_within);
    conv->y_md_ = PlainActivation(ys, y_within);
    // Activations in the layout oneDNN runs fastest (blocked for its direct kernels; plain NCHW would send most
    // layers to im2col + gemm), reordered from and to NCHW around the primitive when they differ.
    const memory::desc x_any({xs.n, xs.c, xs.h, xs.w}, memory::data_type::f32, tag::any);
    const memory::desc y_any({ys.n, ys.c, ys.h, ys.w}, memory::data_type::f32, tag::any);

    // Logical weight dims are [OC, IC, kh, kw] (grouped: [G, OC/G, IC/G, kh, kw]) for both primitives. The
    // user layout is ONNX's: OIHW for Conv, IOHW for ConvTranspose ([C_in, C_out/G, kh, kw] = giohw).
    const int64_t oc = ys.c, ic = xs.c;
    const bool grouped = groups > 1;
    const memory::dims w_dims =
        grouped ? memory::dims{groups, oc / groups, ic / groups, win.kh, win.kw} : memory::dims{oc, ic, win.kh, win.kw};
    const tag user_tag = transposed ? (grouped ? tag::giohw : tag::iohw) : (grouped ? tag::goihw : tag::oihw);
    const memory::desc w_any(w_dims, memory::data_type::f32, tag::any);
    const memory::desc b_md = bias ? memory::desc({oc}, memory::data_type::f32, tag::x) : memory::desc();

    // oneDNN counts dilation from 0 (= dense). For a deconvolution it checks
    // (y - kernel_extent + pad_l + pad_r) / stride + 1 == x in integer arithmetic, which output_padding < stride
    // satisfies with the model's pads; a larger output_padding (allowed by ONNX when below the dilation) is
    // expressed exactly by reducing the end padding.
    const memory::dims strides{win.sh, win.sw}, dilates{win.dh - 1, win.dw - 1};
    const memory::dims pad_l{win.pad_t, win.pad_l};
    memory::dims pad_r{win.pad_b, win.pad_r};
    if (transposed && (win.out_pad_h >= win.sh || win.out_pad_w >= win.sw))
      pad_r = {win.pad_b - win.out_pad_h, win.pad_r - win.out_pad_w};

    dnnl::primitive_attr attr;
    attr.set_post_ops(ActivationPostOps(act));
    // oneDNN's default (library-mode) scratchpad belongs to the thread that created the primitive, so runs from
    // other threads would share it; in user mode each binding brings its own.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    memory::desc w_md;
    if (transposed) {
      const dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::deconvolution_direct, x_any, w_any, b_md, y_any,
                                                   strides, dilates, pad_l, pad_r);
      const dnnl::deconvolution_forward::primitive_desc pd(desc, attr, engine);
      w_md = pd.weights_desc();
      conv->scratchpad_md_ = pd.scratchpad_desc();
      conv->impl_ = pd.impl_info_str();
      conv->x_run_md_ = pd.src_desc(), conv->y_run_md_ = pd.dst_desc();
      conv->primitive_ = dnnl::deconvolution_forward(pd);
    } else {
      const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::convolution_direct, x_any, w_any, b_md, y_any,
                                                 strides, dilates, pad_l, pad_r);
      const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
      w_md = pd.weights_desc();
      conv->scratchpad_md_ = pd.scratchpad_desc();
      conv->impl_ = pd.impl_info_str();
      conv->x_run_md_ = pd.src_desc(), conv->y_run_md_ = pd.dst_desc();
      conv->primitive_ = dnnl::convolution_forward(pd);
    }

    // The activation reorders run from every context's thread, so they too must not use the library scratchpad;
    // oneDNN's f32 layout reorders need none, and one that did would go to the reference kernel.
    dnnl::primitive_attr reorder_attr;
    reorder_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto activation_reorder = [&](const memory::desc& from, const memory::desc& to) {
      const dnnl::reorder::primitive_desc pd(engine, from, engine, to, reorder_attr);
      if (pd.scratchpad_desc().get_size() != 0) throw std::runtime_error("an activation reorder needs a scratchpad");
      return dnnl::reorder(pd);
    };
    if (conv->x_run_md_ != conv->x_md_) conv->x_reorder_ = activation_reorder(conv->x_md_, conv->x_run_md_);
    if (conv->y_run_md_ != conv->y_md_) conv->y_reorder_ = activation_reorder(conv->y_run_md_, conv->y_md_);
    memory user_w({w_dims, memory::data_type::f32, user_tag}, engine, const_cast<float*>(w));
    conv->weights_ = memory(w_md, engine);
    dnnl::stream stream(engine);
    dnnl::reorder(user_w, conv->weights_).execute(stream, user_w, conv->weights_);
    stream.wait();
    if (bias) {
      conv->bias_ = memory(b_md, engine);
      std::memcpy(conv->bias_.get_data_handle(), bias, static_cast<size_t>(oc) * sizeof(float));
    }
    return conv;
  } catch (const dnnl::error& e) {
    if (why) *why = std::string("oneDNN: ") + e.what();
  } catch (const std::exception& e) {
    if (why) *why = e.what();
  }
  return nullptr;
}

bool OnednnConvF32::ThreadCountInvariant() const {
  return impl_.rfind("jit", 0) == 0 && impl_.find("gemm") == std::string::npos;
}

size_t OnednnConvF32::scratch_bytes() const {
  return 64 + Lines(x_reorder_ ? x_run_md_.get_size() : 0) + Lines(y_reorder_ ? y_run_md_.get_size() : 0) +
         Lines(scratchpad_md_.get_size());
}

OnednnConvF32::Bound OnednnConvF32::Bind(const float* x, float* y, void* scratch) const {
  const dnnl::engine& engine = CpuEngine();
  auto* free_space = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(scratch) + 63) / 64 * 64);
  const auto take = [&](size_t bytes) {
    unsigned char* p = free_space;
    free_space += Lines(bytes);
    return p;
  };
  Bound b;
  b.memories_.reserve(5);
  const auto add = [&](const memory::desc& md, void* data) { return b.memories_.emplace_back(md, engine, data).get(); };
  dnnl_memory_t x_user = add(x_md_, const_cast<float*>(x)), y_user = add(y_md_, y);
  dnnl_memory_t x_run = x_reorder_ ? add(x_run_md_, take(x_run_md_.get_size())) : x_user;
  dnnl_memory_t y_run = y_reorder_ ? add(y_run_md_, take(y_run_md_.get_size())) : y_user;
  if (x_reorder_) b.steps_.push_back({&x_reorder_, {{DNNL_ARG_FROM, x_user}, {DNNL_ARG_TO, x_run}}});
  Bound::Step conv{&primitive_, {{DNNL_ARG_SRC, x_run}, {DNNL_ARG_WEIGHTS, weights_.get()}, {DNNL_ARG_DST, y_run}}};
  if (bias_) conv.args.push_back({DNNL_ARG_BIAS, bias_.get()});
  if (const size_t bytes = scratchpad_md_.get_size())
    conv.args.push_back({DNNL_ARG_SCRATCHPAD, add(scratchpad_md_, take(bytes))});
  b.steps_.push_back(std::move(conv));
  if (y_reorder_) b.steps_.push_back({&y_reorder_, {{DNNL_ARG_FROM, y_run}, {DNNL_ARG_TO, y_user}}});
  return b;
}

void OnednnConvF32::Bound::Run(dnnl::stream& stream) const {
  for (const Step& step : steps_)
    dnnl::error::wrap_c_api(dnnl_primitive_execute(step.primitive->get(), stream.get(),
                                                   static_cast<int>(step.args.size()), step.args.data()),
                            "could not execute a primitive");
  stream.wait();
}

}  // namespace q46::kernels
