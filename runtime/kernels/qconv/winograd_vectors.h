// The winograd input transforms (winograd.h) on whole vectors of tiles, written once over a byte-vector type V and
// compiled by each translation unit that instantiates it, for its own instruction set: winograd.cc for SSE2 (4
// tiles a vector, which also finishes each row) and for bytes one at a time (Transform4 alone, where there is no
// SSE2), qconv_avx2.cc (8) and qconv_vnni.cc (16, then 8 on its V::Half), which do a row's whole vectors and
// leave the rest to winograd.cc. No intrinsics here. Everything is in an unnamed namespace: each includer gets its
// own copy, so no copy compiled for one instruction set can stand in for another's at link time.
//
// V has kBytes, I (its vector), Load(p) and Store(p, v) (unaligned), Set1I8(b), AddI8 and SubI8 (modulo 256), and
// EvenI32 and OddI32 (the even and the odd 32-bit elements of two vectors side by side, in order); optionally
// Half, a vector type of half its width with the same members (WinogradInputOn).
#pragma once

#include <cstdint>
#include <type_traits>

#include "runtime/kernels/qconv/winograd.h"

namespace q46::kernels::qconv {
namespace {

// B d of four values, or vectors of them (columns of a row, or row transforms down the rows), `offset` added to
// the differences: v = (d0 - d2, d1 + d2, d2 - d1, d1 - d3) + (offset, 0, offset, offset), with add and sub
// modulo 256.
template <class V, class Add, class Sub>
void Transform4(V d0, V d1, V d2, V d3, V offset, Add add, Sub sub, V v[4]) {
  v[0] = sub(add(d0, offset), d2);
  v[1] = add(d1, d2);
  v[2] = sub(add(d2, offset), d1);
  v[3] = sub(add(d1, offset), d3);
}

template <class V>
struct WinogradVectors {
  using I = typename V::I;
  static constexpr int64_t kTiles = V::kBytes / 4;  // a quad of each tile's transform

  static I Add(I a, I b) { return V::AddI8(a, b); }
  static I Sub(I a, I b) { return V::SubI8(a, b); }
  static I Quads(const uint8_t* row, int64_t quad) { return V::Load(row + 4 * quad); }

  // Tiles t .. t + kTiles - 1 of a row whose quads from `quad` load(quad) gives: the even and odd quads of columns
  // 2t .. 2t + 2 kTiles - 1 and of 2t + 2 .. 2t + 2 kTiles + 1 are their d0, d1 and d2, d3; their four row
  // transforms.
  template <class Load>
  static void RowTransform(const Load& load, int64_t t, I offset, I v[4]) {
    const I a = load(2 * t), b = load(2 * t + kTiles), c = load(2 * t + 2), d = load(2 * t + 2 + kTiles);
    Transform4(V::EvenI32(a, b), V::OddI32(a, b), V::EvenI32(c, d), V::OddI32(c, d), offset, Add, Sub, v);
  }

  // Two by two: down transform A of the four rows' quads (offset added to its differences), then its four row
  // transforms (twice the offset added to theirs): B^T d B is linear, and its codes come out with the same offsets,
  // and the same bytes, as row transforms first, then down (winograd.h). In this order the four vectors of each
  // down transform are all that is live: rows first kept sixteen, more than SSE2's registers.
  template <int A>
  static void DownThenRows(const uint8_t* const rows[4], int64_t t, I offset, I twice, uint8_t* out,
                           int64_t transform_bytes) {
    const auto down = [&](int64_t quad) {
      I v[4];
      Transform4(Quads(rows[0], quad), Quads(rows[1], quad), Quads(rows[2], quad), Quads(rows[3], quad), offset, Add,
                 Sub, v);
      return v[A];  // (the other rows' loads and sums are dropped by the compiler)
    };
    I v[4];
    RowTransform(down, t, twice, v);
    for (int i = 0; i < 4; ++i) V::Store(out + (4 * A + i) * transform_bytes + 4 * t, v[i]);
  }
};

// WinogradInputRowFrom's tiles from `first`, a vector at a time while one starts before `end`: end = tiles reads
// and writes only inside the row; later ends let the last vector run past it (into winograd.h's slack). Returns
// the first tile not done.
template <class V>
int64_t WinogradInputRowVectors(const uint8_t* quads, int64_t first, int64_t end, uint8_t max_code, uint8_t* out,
                                int64_t transform_bytes) {
  using W = WinogradVectors<V>;
  const typename V::I offset = V::Set1I8(max_code);
  int64_t t = first;
  for (; t + W::kTiles <= end; t += W::kTiles) {
    typename V::I v[4];
    W::RowTransform([quads](int64_t quad) { return W::Quads(quads, quad); }, t, offset, v);
    for (int i = 0; i < 4; ++i) V::Store(out + i * transform_bytes + 4 * t, v[i]);
  }
  return t;
}

// The same two by two (WinogradInputRowsFrom).
template <class V>
int64_t WinogradInputRowsVectors(const uint8_t* const rows[4], int64_t first, int64_t end, uint8_t max_code,
                                 uint8_t* out, int64_t transform_bytes) {
  using W = WinogradVectors<V>;
  const typename V::I offset = V::Set1I8(max_code), twice = V::Set1I8(static_cast<uint8_t>(2 * max_code));
  int64_t t = first;
  for (; t + W::kTiles <= end; t += W::kTiles) {
    W::template DownThenRows<0>(rows, t, offset, twice, out, transform_bytes);
    W::template DownThenRows<1>(rows, t, offset, twice, out, transform_bytes);
    W::template DownThenRows<2>(rows, t, offset, twice, out, transform_bytes);
    W::template DownThenRows<3>(rows, t, offset, twice, out, transform_bytes);
  }
  return t;
}

// V::Half, V's half-width vector type, where V names one; else void.
template <class V, class = void>
struct HalfOf {
  using type = void;
};
template <class V>
struct HalfOf<V, std::void_t<typename V::Half>> {
  using type = typename V::Half;
};

// A microkernel's WinogradInput on its vectors V: their whole vectors inside the row, then those of V's half
// width (V::Half, if any) for what is left, then winograd.cc's for the rest. (Without the half-width step a row
// of 8 to 15 tiles, CIFAR CNN-10's 16-wide layers, went to winograd.cc's 4-tile vectors whole: its repack took
// 1.1x as long on zmm as on AVX2's ymm.)
template <class V>
WinogradInput WinogradInputOn() {
  using Half = typename HalfOf<V>::type;
  WinogradInput in;
  in.row = [](const uint8_t* quads, int64_t tiles, uint8_t max_code, uint8_t* out, int64_t transform_bytes) {
    int64_t done = WinogradInputRowVectors<V>(quads, 0, tiles, max_code, out, transform_bytes);
    if constexpr (!std::is_void_v<Half>)
      done = WinogradInputRowVectors<Half>(quads, done, tiles, max_code, out, transform_bytes);
    WinogradInputRowFrom(quads, done, tiles, max_code, out, transform_bytes);
  };
  in.rows = [](const uint8_t* const rows[4], int64_t tiles, uint8_t max_code, uint8_t* out, int64_t transform_bytes) {
    int64_t done = WinogradInputRowsVectors<V>(rows, 0, tiles, max_code, out, transform_bytes);
    if constexpr (!std::is_void_v<Half>)
      done = WinogradInputRowsVectors<Half>(rows, done, tiles, max_code, out, transform_bytes);
    WinogradInputRowsFrom(rows, done, tiles, max_code, out, transform_bytes);
  };
  return in;
}

}  // namespace
}  // namespace q46::kernels::qconv
