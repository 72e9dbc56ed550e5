// FloatConv op: oneDNN's float convolution and transposed convolution (one primitive per layer, or fixed bands of
// output rows for implementations whose bits depend on the thread count; a transposed convolution whose kernel is
// its stride as a 1x1 convolution and a scatter), falling back to the reference kernel. Weights are reordered
// here, once. Quantized convolutions are in quant_conv_op.cc.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <exception>

#include "runtime/dispatch_log.h"
#include "runtime/kernels/align.h"
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

// A oneDNN convolution op that can also run on buffers other than its node's (TapPlanesTransposedConv runs one
// into its scratch): Prepare binds the node's tensors, PrepareOn any others of the same shapes.
class OnednnConvOp : public Op {
 public:
  OnednnConvOp(int x, int y) : x_(x), y_(y) {}
  std::unique_ptr<PreparedOp> Prepare(const RunState& st) const final {
    return PrepareOn(st, static_cast<const float*>(st.buffers[x_]), static_cast<float*>(st.buffers[y_]));
  }
  virtual std::unique_ptr<PreparedOp> PrepareOn(const RunState& st, const float* x, float* y) const = 0;

 private:
  int x_, y_;
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
class OnednnFloatConv final : public OnednnConvOp {
 public:
  std::string implementation() const override { return "onednn"; }
  OnednnFloatConv(const OpBuilder& b, std::unique_ptr<kernels::OnednnConvF32> conv, FloatConvRecipe recipe)
      : OnednnConvOp(b.input_index(0), b.output_index(0)), conv_(std::move(conv)), recipe_(std::move(recipe)) {
    // Only a thread-count-invariant implementation with work for two threads is ever rebuilt; else no copy.
    rebuildable_ = conv_->ThreadCountInvariant() && recipe_.Macs() >= 2 * kMacsPerThread;
    if (!rebuildable_) recipe_.w = {}, recipe_.bias = {};
  }
  size_t scratch_bytes(int) const override { return conv_->scratch_bytes(); }
  std::unique_ptr<PreparedOp> PrepareOn(const RunState& st, const float* x, float* y) const override {
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
class BandedFloatConv final : public OnednnConvOp {
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
  static std::unique_ptr<OnednnConvOp> Create(const OpBuilder& b, const FloatConvRecipe& r) {
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
    return std::unique_ptr<OnednnConvOp>(new BandedFloatConv(b, std::move(convs), std::move(bands), rows));
  }

  std::string implementation() const override {
    return "onednn " + convs_[0]->Implementation() + ", " + std::to_string(bands_.size()) + " bands of " +
           std::to_string(rows_) + " rows";
  }
  // Every band its own slice of the scratch and its own stream: bands run at once on different threads.
  size_t scratch_bytes(int) const override {
    size_t bytes = 0;
    for (const Band& band : bands_) bytes += convs_[band.conv]->scratch_bytes();
    return bytes;
  }
  std::unique_ptr<PreparedOp> PrepareOn(const RunState& st, const float* x, float* y) const override {
    auto binding = std::make_unique<Binding>();
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
      : OnednnConvOp(b.input_index(0), b.output_index(0)), convs_(std::move(convs)), bands_(std::move(bands)),
        rows_(rows) {}

  struct Binding final : PreparedOp {
    std::vector<kernels::OnednnConvF32::Bound> bound;
    mutable std::vector<dnnl::stream> streams;
  };

  std::vector<std::unique_ptr<kernels::OnednnConvF32>> convs_;
  std::vector<Band> bands_;
  int64_t rows_;
};

// oneDNN's float convolution for `recipe`: fixed bands where its implementation's bits depend on the thread count
// and the layer has the work, else one primitive; nullptr (and why) where oneDNN declines. *detail says which.
std::unique_ptr<OnednnConvOp> CreateOnednnConvOp(const OpBuilder& b, FloatConvRecipe recipe, std::string* why,
                                                 std::string* detail) {
  auto onednn = recipe.Create(why);
  if (!onednn) return nullptr;
  if (!onednn->ThreadCountInvariant())
    if (auto banded = BandedFloatConv::Create(b, recipe)) {
      *detail = banded->implementation();
      return banded;
    }
  *detail = onednn->Implementation() + (onednn->ThreadCountInvariant() ? ", may split over threads" : "");
  return std::make_unique<OnednnFloatConv>(b, std::move(onednn), std::move(recipe));
}

// A transposed convolution whose kernel is its stride, without padding, dilation or output padding (upsampling
// such as the U-Net's 2x2 stride 2): each output pixel takes exactly one kernel tap, so the layer is a 1x1
// convolution to one plane of every output channel per tap, then a scatter of each tap's planes to its phase of
// the output. oneDNN's direct deconvolution ran the U-Net's at 4-10 MACs a cycle, the 1x1 form at 6-13 with the
// scatter (Zen 4 peaks at 16 float MACs). The 1x1 convolution is an ordinary oneDNN one (banded where its bits
// depend on the thread count) and applies the activation; the scatter only moves floats, so every thread count
// computes the same bits.
class TapPlanesTransposedConv final : public Op {
 public:
  static bool Accepts(const ConvShape& s) {
    const Window2d& w = s.win;
    return w.kh == w.sh && w.kw == w.sw && w.kh * w.kw > 1 && w.dh == 1 && w.dw == 1 && w.pad_t == 0 &&
           w.pad_l == 0 && w.pad_b == 0 && w.pad_r == 0 && w.out_pad_h == 0 && w.out_pad_w == 0;
  }
  static std::unique_ptr<Op> Create(const OpBuilder& b, const FloatConvRecipe& r, std::string* why,
                                    std::string* detail) {
    auto planes = CreateOnednnConvOp(b, TapPlanes(r), why, detail);
    if (!planes) return nullptr;
    return std::unique_ptr<Op>(new TapPlanesTransposedConv(b, r.s, std::move(planes), *detail));
  }

  std::string implementation() const override { return "onednn 1x1 to tap planes, " + detail_; }
  size_t scratch_bytes(int threads) const override {
    return PlanesBytes() + kAlign + planes_->scratch_bytes(threads);
  }
  // The scratch holds the planes (64-byte aligned), then the 1x1 convolution's own scratch, bound here.
  std::unique_ptr<PreparedOp> Prepare(const RunState& st) const override {
    auto binding = std::make_unique<Binding>();
    binding->planes = Planes(st.scratch);
    binding->y = static_cast<float*>(st.buffers[y_]);
    RunState inner = st;
    inner.scratch = st.scratch + PlanesBytes() + kAlign;
    binding->inner = planes_->PrepareOn(inner, static_cast<const float*>(st.buffers[x_]), binding->planes);
    return binding;
  }
  void Run(const RunState& st) const override {
    const auto& binding = *static_cast<const Binding*>(st.prepared);
    RunState inner = st;
    inner.prepared = binding.inner.get();  // bound to the planes and its scratch in Prepare
    planes_->Run(inner);
    Scatter(binding.planes, binding.y, st.threads);
  }

 private:
  static constexpr size_t kAlign = 64;
  struct Binding final : PreparedOp {
    std::unique_ptr<PreparedOp> inner;
    float* planes;
    float* y;
  };

  TapPlanesTransposedConv(const OpBuilder& b, const ConvShape& s, std::unique_ptr<OnednnConvOp> planes,
                          std::string detail)
      : x_(b.input_index(0)), y_(b.output_index(0)), s_(s), planes_(std::move(planes)), detail_(std::move(detail)) {}

  // The 1x1 convolution: output channel (g, tap, c) = (g * taps + tap) * cout_g + c, c within the group, reading
  // the transposed weights [input channel][c][ky][kx].
  static FloatConvRecipe TapPlanes(const FloatConvRecipe& r) {
    const ConvShape& s = r.s;
    const int64_t taps = s.win.kh * s.win.kw, cin_g = s.xs.c / s.groups, cout_g = s.ys.c / s.groups;
    FloatConvRecipe t{s, false, std::vector<float>(r.w.size()), {}, r.act};
    t.s.ys = {s.xs.n, s.ys.c * taps, s.xs.h, s.xs.w};
    t.s.win = Window2d();
    for (int64_t g = 0; g < s.groups; ++g)
      for (int64_t tap = 0; tap < taps; ++tap)
        for (int64_t c = 0; c < cout_g; ++c) {
          const int64_t out = (g * taps + tap) * cout_g + c;
          for (int64_t i = 0; i < cin_g; ++i)
            t.w[static_cast<size_t>(out * cin_g + i)] = r.w[static_cast<size_t>(((g * cin_g + i) * cout_g + c) * taps + tap)];
          if (!r.bias.empty()) t.bias.push_back(r.bias[static_cast<size_t>(g * cout_g + c)]);
        }
    return t;
  }
  size_t PlanesBytes() const { return static_cast<size_t>(s_.ys.size()) * sizeof(float); }
  static float* Planes(unsigned char* scratch) { return reinterpret_cast<float*>(kernels::AlignUp(scratch, kAlign)); }
  // y[n][g * cout_g + c][i * kh + ky][j * kw + kx] = planes[n][(g * taps + ky * kw + kx) * cout_g + c][i][j].
  void Scatter(const float* planes, float* y, int threads) const {
    const Dims4 &xs = s_.xs, &ys = s_.ys;
    const int64_t kh = s_.win.kh, kw = s_.win.kw, taps = kh * kw, cout_g = ys.c / s_.groups, plane = xs.h * xs.w;
    kernels::ParallelFor(ys.n * ys.c, threads, [&](int64_t item) {
      const int64_t n = item / ys.c, ch = item % ys.c, g = ch / cout_g, c = ch % cout_g;
      const float* tap0 = planes + ((n * s_.groups + g) * taps * cout_g + c) * plane;
      float* out = y + item * ys.h * ys.w;
      for (int64_t i = 0; i < xs.h; ++i)
        for (int64_t ky = 0; ky < kh; ++ky) {
          float* row = out + (i * kh + ky) * ys.w;
          const auto src = [&](int64_t kx) { return tap0 + (ky * kw + kx) * cout_g * plane + i * xs.w; };
          if (kw == 2) {  // the common case, as a loop the compiler vectorises (an interleave of two rows)
            const float *even = src(0), *odd = src(1);
            for (int64_t j = 0; j < xs.w; ++j) row[2 * j] = even[j], row[2 * j + 1] = odd[j];
            continue;
          }
          for (int64_t kx = 0; kx < kw; ++kx) {
            const float* from = src(kx);
            for (int64_t j = 0; j < xs.w; ++j) row[j * kw + kx] = from[j];
          }
        }
    });
  }

  int x_, y_;
  ConvShape s_;
  std::unique_ptr<OnednnConvOp> planes_;
  std::string detail_;  // the 1x1 convolution's implementation
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
  std::string why, detail;
  FloatConvRecipe recipe{s, p.transposed(), std::move(w), std::move(bias), act};
  if (recipe.transposed && TapPlanesTransposedConv::Accepts(s))
    if ((*op = TapPlanesTransposedConv::Create(b, recipe, &why, &detail))) {
      LogDispatch(b.node().name(), "float_conv", "onednn 1x1 to tap planes", detail);
      return Status();
    }
  if ((*op = CreateOnednnConvOp(b, recipe, &why, &detail))) {
    LogDispatch(b.node().name(), "float_conv", "onednn", detail);
    return Status();
  }
  LogDispatch(b.node().name(), "float_conv", "ref", "onednn declined: " + why);
  *op = std::make_unique<RefFloatConv>(b, s, p.transposed(), std::move(recipe.w), std::move(recipe.bias), act);
  return Status();
}

}  // namespace q46::rt
