// Index helpers shared by the reference kernels in this directory (and only by them): NCHW offsets, the taps of a
// sliding window, and an allocation-free walk over a numpy-broadcast index space. Not a public interface; it
// must not grow kernel logic of its own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels::ref_internal {

// Offset of element (n, c, h, w) in a dense NCHW tensor of shape s.
inline int64_t Offset(Dims4 s, int64_t n, int64_t c, int64_t h, int64_t w) {
  return ((n * s.c + c) * s.h + h) * s.w + w;
}

inline bool InRange(int64_t i, int64_t n) { return i >= 0 && i < n; }

// Calls f(ky, kx, iy, ix) for every tap of the window of output pixel (oy, ox), row-major over (ky, kx):
// (iy, ix) is the input position the tap reads, and may lie in the padding or beyond it.
template <typename F>
void ForEachTap(const Window2d& win, int64_t oy, int64_t ox, F&& f) {
  for (int64_t ky = 0; ky < win.kh; ++ky)
    for (int64_t kx = 0; kx < win.kw; ++kx)
      f(ky, kx, oy * win.sh - win.pad_t + ky * win.dh, ox * win.sw - win.pad_l + kx * win.dw);
}

// A shape, or the leading part of one, without owning it (so kernels can take batch dims without allocating).
struct DimsView {
  const int64_t* d;
  size_t rank;
  DimsView(const Dims& dims) : d(dims.data()), rank(dims.size()) {}  // NOLINT: implicit on purpose
  DimsView(const Dims& dims, size_t leading) : d(dims.data()), rank(leading) {}
  int64_t operator[](size_t i) const { return d[i]; }
};

// Element stride of `v`, right-aligned against a shape of rank `rank`, along that shape's axis `axis`;
// 0 where `v` broadcasts along it (a missing dimension or a dimension of 1).
inline int64_t BroadcastStride(DimsView v, size_t rank, size_t axis) {
  const size_t lead = rank - v.rank;
  if (axis < lead || v[axis - lead] == 1) return 0;
  int64_t stride = 1;
  for (size_t i = axis - lead + 1; i < v.rank; ++i) stride *= v[i];
  return stride;
}

template <size_t K, typename F>
void BroadcastWalkFrom(size_t axis, DimsView yd, const std::array<DimsView, K>& ins, int64_t y_off,
                       const std::array<int64_t, K>& offs, F& f) {
  if (axis == yd.rank) {
    f(y_off, offs);
    return;
  }
  std::array<int64_t, K> strides;
  for (size_t j = 0; j < K; ++j) strides[j] = BroadcastStride(ins[j], yd.rank, axis);
  for (int64_t i = 0; i < yd[axis]; ++i) {
    std::array<int64_t, K> next;
    for (size_t j = 0; j < K; ++j) next[j] = offs[j] + i * strides[j];
    BroadcastWalkFrom(axis + 1, yd, ins, y_off * yd[axis] + i, next, f);
  }
}

// Visits the row-major index space of `yd` (any rank; recursive, no allocation) and calls f(y_offset, offsets),
// where offsets[j] is the offset of the corresponding element of input j under numpy broadcasting: each
// ins[j] is right-aligned against yd and repeats along its missing dimensions and dimensions of 1.
template <size_t K, typename F>
void BroadcastWalk(DimsView yd, const std::array<DimsView, K>& ins, F&& f) {
  BroadcastWalkFrom(0, yd, ins, 0, std::array<int64_t, K>{}, f);
}

}  // namespace q46::kernels::ref_internal
