// See conv_shape.h.
#include "runtime/ops/conv_shape.h"

#include "runtime/shape.h"

namespace q46::rt {

using kernels::Window2d;

Status CheckConvShape(const OpBuilder& b, const plan::Window& window, int64_t groups, bool transposed,
                      ConvShape* s) {
  Q46_RETURN_IF_ERROR(b.ToDims4(b.input(0), &s->xs));
  Q46_RETURN_IF_ERROR(b.ToDims4(b.output(0), &s->ys));
  Q46_RETURN_IF_ERROR(b.ToWindow(window, transposed, &s->win));
  const Window2d& w = s->win;
  if (b.input(0).dims_size() != b.output(0).dims_size()) return b.Fail("input and output ranks differ");
  if (b.input(0).dims_size() == 2 && (w.kh != 1 || w.kw != 1)) return b.Fail("a rank-2 input needs a 1x1 kernel");
  s->groups = groups;
  if (groups < 1 || s->xs.c % groups || s->ys.c % groups)
    return b.Fail("groups " + std::to_string(groups) + " do not divide the channels " + std::to_string(s->xs.c) +
                  " -> " + std::to_string(s->ys.c));
  int64_t oh, ow;
  if (transposed) {
    oh = TransposedWindowOutputSize(s->xs.h, w.kh, w.sh, w.dh, w.pad_t, w.pad_b, w.out_pad_h);
    ow = TransposedWindowOutputSize(s->xs.w, w.kw, w.sw, w.dw, w.pad_l, w.pad_r, w.out_pad_w);
  } else {
    oh = WindowOutputSize(s->xs.h, w.kh, w.sh, w.dh, w.pad_t, w.pad_b);
    ow = WindowOutputSize(s->xs.w, w.kw, w.sw, w.dw, w.pad_l, w.pad_r);
  }
  if (s->ys.n != s->xs.n || s->ys.h != oh || s->ys.w != ow)
    return b.Fail("output dims " + DimsToString(DimsOf(b.output(0))) + " do not follow from input " +
                  DimsToString(DimsOf(b.input(0))) + " and the window (expected N=" + std::to_string(s->xs.n) +
                  ", H=" + std::to_string(oh) + ", W=" + std::to_string(ow) + ")");
  s->weight_count = (transposed ? s->xs.c * (s->ys.c / groups) : s->ys.c * (s->xs.c / groups)) * w.kh * w.kw;
  return Status();
}

ConvShape FlattenWholeInputKernel(const ConvShape& s) {
  const Window2d& w = s.win;
  if (s.groups != 1 || w.kh != s.xs.h || w.kw != s.xs.w || w.dh != 1 || w.dw != 1 || w.pad_t != 0 || w.pad_l != 0 ||
      w.pad_b != 0 || w.pad_r != 0 || (w.kh == 1 && w.kw == 1))
    return s;
  ConvShape flat = s;
  flat.xs = {s.xs.n, s.xs.c * s.xs.h * s.xs.w, 1, 1};
  flat.win = Window2d{};
  return flat;
}

}  // namespace q46::rt
