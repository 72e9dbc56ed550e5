// Pool op: max pool on floats or on codes (max commutes with quantization), average pool on floats.
#include <algorithm>

#include "runtime/kernels/fast/fast_kernels.h"
#include "runtime/kernels/parallel_for.h"
#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

using kernels::Dims4;
using kernels::Window2d;

// Planes are independent: pool(x, xs, y, ys) over ranges of them, each a smaller NCHW tensor {1, planes, h, w}, on
// up to st.threads threads, none with fewer than `grain` planes.
template <typename T, class Pool>
void OverPlanes(const RunState& st, int x_index, Dims4 xs, int y_index, Dims4 ys, int64_t grain, const Pool& pool) {
  const int64_t planes = ys.n * ys.c, in_plane = xs.h * xs.w, out_plane = ys.h * ys.w;
  kernels::ParallelRanges(planes, std::max<int64_t>(1, grain), st.threads, [&](int64_t begin, int64_t end) {
    pool(static_cast<const T*>(st.buffers[x_index]) + begin * in_plane, Dims4{1, end - begin, xs.h, xs.w},
         static_cast<T*>(st.buffers[y_index]) + begin * out_plane, Dims4{1, end - begin, ys.h, ys.w});
  });
}

template <typename T>
class MaxPool final : public Op {
 public:
  MaxPool(const OpBuilder& b, Dims4 xs, Dims4 ys, Window2d win)
      : x_(b.input_index(0)), y_(b.output_index(0)), xs_(xs), ys_(ys), win_(win),
        two_by_two_(kernels::AcceptsMaxPool2x2(xs, win, ys)), columns_(kernels::MakeMaxPoolColumns(xs, win, ys)) {}
  void Run(const RunState& st) const override {
    constexpr int64_t kGrain = 1 << 15;  // outputs a thread, at least
    OverPlanes<T>(st, x_, xs_, y_, ys_, kGrain / (ys_.h * ys_.w), [&](const T* x, Dims4 xs, T* y, Dims4 ys) {
      if (two_by_two_)
        kernels::MaxPool2x2(x, xs, y, ys);
      else
        kernels::MaxPool(x, xs, win_, columns_, y, ys);
    });
  }
  std::string implementation() const override { return two_by_two_ ? "2x2" : "rows"; }

 private:
  int x_, y_;
  Dims4 xs_, ys_;
  Window2d win_;
  bool two_by_two_;
  kernels::MaxPoolColumns columns_;  // the same for every range of planes
};

class AvgPool final : public Op {
 public:
  AvgPool(const OpBuilder& b, Dims4 xs, Dims4 ys, Window2d win, bool count_include_pad)
      : x_(b.input_index(0)), y_(b.output_index(0)), xs_(xs), ys_(ys), win_(win), include_pad_(count_include_pad) {}
  void Run(const RunState& st) const override {
    // Window inputs a thread, at least: the reference kernel takes about a nanosecond each (ResNet-18's global
    // average, 25k of them, 30 us on one thread of a Zen 4).
    constexpr int64_t kGrain = 1 << 13;
    OverPlanes<float>(st, x_, xs_, y_, ys_, kGrain / (ys_.h * ys_.w * win_.kh * win_.kw),
                      [&](const float* x, Dims4 xs, float* y, Dims4 ys) {
      kernels::AvgPoolF32Ref(x, xs, win_, include_pad_, y, ys);
    });
  }

 private:
  int x_, y_;
  Dims4 xs_, ys_;
  Window2d win_;
  bool include_pad_;
};

}  // namespace

Status CreatePoolOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  const plan::Pool& p = b.node().pool();
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Dims4 xs, ys;
  Window2d win;
  if (b.input(0).dims_size() != 4) return b.Fail("pools take NCHW tensors");
  Q46_RETURN_IF_ERROR(b.ToDims4(b.input(0), &xs));
  Q46_RETURN_IF_ERROR(b.ToDims4(b.output(0), &ys));
  Q46_RETURN_IF_ERROR(b.ToWindow(p.window(), false, &win));
  if (win.pad_t >= win.kh || win.pad_b >= win.kh || win.pad_l >= win.kw || win.pad_r >= win.kw)
    return b.Fail("pads must be smaller than the kernel");
  // Floor or ceil mode: accept either output length, as long as every window starts inside the padded input.
  const auto fits = [](int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
    const int64_t floor_out = WindowOutputSize(in, k, s, d, pb, pe);
    return floor_out > 0 && (out == floor_out || (out == floor_out + 1 && (out - 1) * s < in + pb + pe));
  };
  if (ys.n != xs.n || ys.c != xs.c || !fits(xs.h, ys.h, win.kh, win.sh, win.dh, win.pad_t, win.pad_b) ||
      !fits(xs.w, ys.w, win.kw, win.sw, win.dw, win.pad_l, win.pad_r))
    return b.Fail("output dims " + DimsToString(DimsOf(b.output(0))) + " do not follow from input " +
                  DimsToString(DimsOf(b.input(0))) + " and the window");
  if (p.kind() == plan::Pool::MAX) {
    Q46_RETURN_IF_ERROR(b.ExpectSameQuant(b.input(0), b.output(0)));
    if (b.input(0).dtype() == plan::UINT8_CODES)
      *op = std::make_unique<MaxPool<uint8_t>>(b, xs, ys, win);
    else
      *op = std::make_unique<MaxPool<float>>(b, xs, ys, win);
    return Status();
  }
  if (p.kind() != plan::Pool::AVERAGE) return b.Fail("unknown pool kind " + std::to_string(p.kind()));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  *op = std::make_unique<AvgPool>(b, xs, ys, win, p.count_include_pad());
  return Status();
}

}  // namespace q46::rt
