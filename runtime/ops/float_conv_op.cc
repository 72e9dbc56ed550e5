// FloatConv op: oneDNN's float convolution and transposed convolution (one primitive per layer, or fixed bands of
// output rows for implementations whose bits depend on the thread count), falling back to the reference kernel.
// Weights are reordered here, once. Quantized convolutions are in quant_conv_op.cc.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <exception>

#include "runtime/dispatch_log.h"
#include "runtime/kernels/onednn/conv_f32_onednn.h"
#include "runtime/kernels/parallel_for.h"
#include "runtime/ops/conv_shape.h"
#include "runtime/ops/op_factories.h"
#include "runtime/thread_count_scope.h"

namespace q46::rt {
namespace {

using kernels::Dims4;
using kernels::FloatActivation;
using kernels::Window2d;

// Float work worth a thread of its own (a float MAC costs ~0.03 ns here, so ~0.1 ms): below it a layer stays on one
// thread, and a band of BandedFloatConv has at least this much.
constexpr int64_t kMacsPerThread = int64_t{1} << 22;

class RefFloatConv final : public Op {
 public:
  std::string implementation() const override { return "ref"; }
  RefFloatConv(const OpBuilder& b, ConvShape s, bool transposed, std::vector<float> w, std::vector<float> bias,
               FloatActivation act)
      : x_(b.input_index(0)), y_(b.output_index(0)), s_(s), transposed_(transposed), w_(std::move(w)),
        bias_(std::move(bias)), act_(act) {}
  void Run(const RunState& st) const override {
    const auto* x = static_cast<const float*>(st.buffers[x_]);
    auto* y = static_cast<float*>(st.buffers[y_]);
    const float* bias = bias_.empty() ? nullptr : bias_.data();
    if (transposed_)
      kernels::ConvTransposeF32Ref(x, s_.xs, w_.data(), bias, s_.win, s_.groups, act_, y, s_.ys);
    else
      kernels::ConvF32Ref(x, s_.xs, w_.data(), bias, s_.win, s_.groups, act_, y, s_.ys);
  }

 private:
  int x_, y_;
  ConvShape s_;
  bool transposed_;
  std::vector<float> w_, bias_;
  FloatActivation act_;
};

// What it takes to build a float convolution's oneDNN primitive again (for a context with more threads, or for a
// band of its rows).
struct FloatConvRecipe {
  ConvShape s;
  bool transposed;
  std::vector<float> w, bias;
  FloatActivation act;
  std::unique_ptr<kernels::OnednnConvF32> Create(std::string* why) const { return CreateBand(s.xs, s.win, s.ys, why); }
  // The layer on rows of x and y only: band_xs / band_ys and the window's padding describe them; x and y keep the
  // whole tensors' strides.
  std::unique_ptr<kernels::OnednnConvF32> CreateBand(Dims4 band_xs, const Window2d& band_win, Dims4 band_ys,
                                                     std::string* why) const {
    return kernels::OnednnConvF32::Create(band_xs, w.data(), bias.empty() ? nullptr : bias.data(), band_win, s.groups,
                                          transposed, act, band_ys, why, &s.xs, &s.ys);
  }
  int64_t Macs() const { return s.weight_count * (transposed ? s.xs.n * s.xs.h * s.xs.w : s.ys.n * s.ys.h * s.ys.w); }
};

// oneDNN's float convolution. The model's primitive is built for one thread and shared by every context. A
// context running on several threads builds its own primitive for that count when the layer has enough work
// for each thread, and keeps it only if it is the shared one's implementation and one whose results do not
// depend on the thread count (OnednnConvF32::ThreadCountInvariant: the direct JIT convolutions). Brgemm- and
// gemm-based ones run as BandedFloatConv where they can (see there); the rest stay on one thread.
class OnednnFloatConv final : public Op {
 public:
  std::string implementation() const override { return "onednn"; }
  OnednnFloatConv(const OpBuilder& b, std::unique_ptr<kernels::OnednnConvF32> conv, FloatConvRecipe recipe)
      : x_(b.input_index(0)), y_(b.output_index(0)), conv_(std::move(conv)), recipe_(std::move(recipe)) {
    // Only a thread-count-invariant implementation with work for two threads is ever rebuilt; else no copy.
    rebuildable_ = conv_->ThreadCountInvariant() && recipe_.Macs() >= 2 * kMacsPerThread;
    if (!rebuildable_) recipe_.w = {}, recipe_.bias = {};
  }
  size_t scratch_bytes() const override { return conv_->scratch_bytes(); }
  std::unique_ptr<PreparedOp> Prepare(const RunState& st) const override {
    const auto* x = static_cast<const float*>(st.buffers[x_]);
    auto* y = static_cast<float*>(st.buffers[y_]);
    auto binding = std::make_unique<Binding>();
    if (rebuildable_ && st.threads > 1 && recipe_.Macs() / st.threads >= kMacsPerThread) {
      ThreadCountScope scope(st.threads);
      std::string why;
      binding->own = recipe_.Create(&why);
      if (binding->own && binding->own->Implementation() != conv_->Implementation()) binding->own.reset();
    }
    if (binding->own) {
      binding->threads = st.threads;
      binding->own_scratch.resize(binding->own->scratch_bytes());
      binding->bound = binding->own->Bind(x, y, binding->own_scratch.data());
    } else {
      binding->bound = conv_->Bind(x, y, st.scratch);
    }
    return binding;
  }
  void Run(const RunState& st) const override {
    const auto& binding = *static_cast<const Binding*>(st.prepared);
    if (binding.threads == 1) return binding.bound.Run(*st.stream);
    ThreadCountScope scope(binding.threads);
    binding.bound.Run(*st.stream);
  }

 private:
  struct Binding final : PreparedOp {
    std::unique_ptr<kernels::OnednnConvF32> own;  // this context's primitive, when it has one
    std::vector<unsigned char> own_scratch;
    int threads = 1;
    kernels::OnednnConvF32::Bound bound;
  };

  int x_, y_;
  std::unique_ptr<kernels::OnednnConvF32> conv_;
  FloatConvRecipe recipe_;
  bool rebuildable_;
};

// A float convolution whose oneDNN implementation computes bits that depend on its thread count (brgemm- and
// gemm-based; see OnednnFloatConv) but has work for several threads, such as an image network's stem: fixed bands
// of output rows, each a one-thread primitive on its rows of x and y, run one band per thread at a time. The bands
// follow from the layer's shape alone (chosen at load, the same for every context), so every thread count computes
// the same bits, and so does the compiler's simulation, on one thread. Bands of one shape share a primitive (the
// first and last differ by their padding). Transposed convolutions, layers under two bands' work, and layers whose
// weights copied once per band shape would pass kMaxWeightBytes are not banded.
class BandedFloatConv final : public Op {
 public:
  struct Band {
    int64_t x_offset, y_offset;  // elements from the tensors' starts to the band's first rows
    size_t conv;                 // its primitive in convs_
  };
  // Output rows per band: as many as give kMacsPerThread MACs (the last band may have fewer), at most kMaxBands.
  static constexpr int64_t kMaxBands = 8;
  // Each band shape reorders its own copy of the weights: layers whose copies would pass this stay whole.
  static constexpr int64_t kMaxWeightBytes = int64_t{4} << 20;

  // The banded layer, or nullptr where it has fewer than two bands' work or oneDNN declines a band.
  static std::unique_ptr<Op> Create(const OpBuilder& b, const FloatConvRecipe& r) {
    const ConvShape& s = r.s;
    const Window2d& win = s.win;
    const int64_t want = std::min({r.Macs() / kMacsPerThread, kMaxBands, s.ys.h});
    if (r.transposed || want < 2) return nullptr;
    const int64_t rows = (s.ys.h + want - 1) / want, extent = (win.kh - 1) * win.dh + 1;
    std::vector<std::unique_ptr<kernels::OnednnConvF32>> convs;
    std::vector<std::array<int64_t, 4>> shapes;  // per conv: input rows, top and bottom padding, output rows
    std::vector<Band> bands;
    ThreadCountScope one_thread(1);
    for (int64_t oy0 = 0; oy0 < s.ys.h; oy0 += rows) {
      const int64_t oy1 = std::min(s.ys.h, oy0 + rows);
      const int64_t top = oy0 * win.sh - win.pad_t, bottom = (oy1 - 1) * win.sh - win.pad_t + extent;
      const int64_t iy0 = std::max<int64_t>(0, top), iy1 = std::min(s.xs.h, bottom);
      if (iy1 <= iy0) return nullptr;  // a band of padding only
      const std::array<int64_t, 4> shape{iy1 - iy0, iy0 - top, bottom - iy1, oy1 - oy0};
      size_t conv = std::find(shapes.begin(), shapes.end(), shape) - shapes.begin();
      if (conv == shapes.size()) {
        if (static_cast<int64_t>(convs.size() + 1) * s.weight_count * int64_t{sizeof(float)} > kMaxWeightBytes)
          return nullptr;
        Window2d band_win = win;
        band_win.pad_t = shape[1], band_win.pad_b = shape[2];
        std::string why;
        auto c = r.CreateBand({s.xs.n, s.xs.c, shape[0], s.xs.w}, band_win, {s.ys.n, s.ys.c, shape[3], s.ys.w}, &why);
        if (!c) return nullptr;
        convs.push_back(std::move(c));
        shapes.push_back(shape);
      }
      bands.push_back({iy0 * s.xs.w, oy0 * s.ys.w, conv});
    }
    return std::unique_ptr<Op>(new BandedFloatConv(b, std::move(convs), std::move(bands), rows));
  }

  std::string implementation() const override {
    return "onednn " + convs_[0]->Implementation() + ", " + std::to_string(bands_.size()) + " bands of " +
           std::to_string(rows_) + " rows";
  }
  // Every band its own slice of the scratch and its own stream: bands run at once on different threads.
  size_t scratch_bytes() const override {
    size_t bytes = 0;
    for (const Band& band : bands_) bytes += convs_[band.conv]->scratch_bytes();
    return bytes;
  }
  std::unique_ptr<PreparedOp> Prepare(const RunState& st) const override {
    auto binding = std::make_unique<Binding>();
    const auto* x = static_cast<const float*>(st.buffers[x_]);
    auto* y = static_cast<float*>(st.buffers[y_]);
    unsigned char* scratch = st.scratch;
    for (const Band& band : bands_) {
      const kernels::OnednnConvF32& conv = *convs_[band.conv];
      binding->bound.push_back(conv.Bind(x + band.x_offset, y + band.y_offset, scratch));
      binding->streams.emplace_back(kernels::CpuEngine());
      scratch += conv.scratch_bytes();
    }
    return binding;
  }
  void Run(const RunState& st) const override {
    auto& binding = *static_cast<const Binding*>(st.prepared);
    // oneDNN reports failures by throwing, and an exception must not leave an OpenMP region: the first one is
    // kept and thrown again after the loop (q46_context_run turns it into a status).
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    kernels::ParallelFor(static_cast<int64_t>(bands_.size()), st.threads, [&](int64_t i) {
      try {
        binding.bound[i].Run(binding.streams[i]);
      } catch (...) {
        if (!failed.exchange(true)) failure = std::current_exception();
      }
    });
    if (failure) std::rethrow_exception(failure);
  }

 private:
  BandedFloatConv(const OpBuilder& b, std::vector<std::unique_ptr<kernels::OnednnConvF32>> convs,
                  std::vector<Band> bands, int64_t rows)
      : x_(b.input_index(0)), y_(b.output_index(0)), convs_(std::move(convs)), bands_(std::move(bands)),
        rows_(rows) {}

  struct Binding final : PreparedOp {
    std::vector<kernels::OnednnConvF32::Bound> bound;
    mutable std::vector<dnnl::stream> streams;
  };

  int x_, y_;
  std::vector<std::unique_ptr<kernels::OnednnConvF32>> convs_;
  std::vector<Band> bands_;
  int64_t rows_;
};

std::vector<float> FloatsFromBytes(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace

Status CreateFloatConvOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  const plan::FloatConv& p = b.node().float_conv();
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  ConvShape s;
  Q46_RETURN_IF_ERROR(CheckConvShape(b, p.window(), p.groups(), p.transposed(), &s));
  if (p.weights().size() != static_cast<size_t>(s.weight_count) * sizeof(float))
    return b.Fail("weights hold " + std::to_string(p.weights().size()) + " bytes, expected " +
                  std::to_string(s.weight_count * sizeof(float)));
  if (!p.bias().empty() && p.bias().size() != static_cast<size_t>(s.ys.c) * sizeof(float))
    return b.Fail("bias holds " + std::to_string(p.bias().size()) + " bytes, expected " +
                  std::to_string(s.ys.c * sizeof(float)));
  FloatActivation act;
  Q46_RETURN_IF_ERROR(b.ToActivation(p.activation(), &act));
  std::vector<float> w = FloatsFromBytes(p.weights()), bias = FloatsFromBytes(p.bias());

  // Implementations in order of preference; the first that accepts wins, `ref` always does.
  std::string why;
  FloatConvRecipe recipe{s, p.transposed(), std::move(w), std::move(bias), act};
  if (auto onednn = recipe.Create(&why)) {
    if (!onednn->ThreadCountInvariant())
      if (auto banded = BandedFloatConv::Create(b, recipe)) {
        LogDispatch(b.node().name(), "float_conv", "onednn", banded->implementation());
        *op = std::move(banded);
        return Status();
      }
    LogDispatch(b.node().name(), "float_conv", "onednn",
                onednn->Implementation() + (onednn->ThreadCountInvariant() ? ", may split over threads" : ""));
    *op = std::make_unique<OnednnFloatConv>(b, std::move(onednn), std::move(recipe));
    return Status();
  }
  LogDispatch(b.node().name(), "float_conv", "ref", "onednn declined: " + why);
  *op = std::make_unique<RefFloatConv>(b, s, p.transposed(), std::move(recipe.w), std::move(recipe.bias), act);
  return Status();
}

}  // namespace q46::rt
