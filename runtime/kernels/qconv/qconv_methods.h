// The microkernel methods, each written once over a register width (simd_regs.h), and the tile and
// output-stage templates that every ISA translation unit instantiates. Include only from qconv_avx2.cc,
// qconv_avx512.cc and qconv_vnni.cc (compiled with their -m flags). The arithmetic of the output stages is
// runtime/arith.h's, restated on vectors; test/kernels/qconv_test.cc holds every kernel to the reference.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

#include "runtime/kernels/qconv/qconv.h"
#include "runtime/kernels/qconv/simd_regs.h"

namespace q46::kernels::qconv {

// Methods: how one step (4 input channels of one tap) multiplies and accumulates. Each names its lane count
// (output positions per register), weight type, accumulator, and how many steps the accumulator may take.

constexpr int64_t kNoFlush = std::numeric_limits<int64_t>::max();
inline int64_t NeverFlush(int32_t, int32_t) { return kNoFlush; }

// u8 x s8 products summed in pairs into int16 (vpmaddubsw) and added in int16 (vpaddw), widened to int32
// every flush_steps steps (vpmaddwd by ones). Proof of the flush interval: an activation code is in
// [0, max_code] and a weight code in [-max_weight, max_weight], so one vpmaddubsw lane (two products) has
// |pair| <= B = 2 * max_code * max_weight; vpmaddubsw saturates only past 32767, so B <= 32767 makes each pair
// exact, and after k steps an int16 lane holds at most k * B, exact while k * B <= 32767. Hence
// flush_steps = floor(32767 / B). For (23, 23): B = 2 * 22 * 11 = 484, 67 steps; 4-bit (16, 16): B = 240,
// 136 steps; 8-bit: B = 64770 > 32767, not computable this way.
inline int64_t MaddubsFlushSteps(int32_t max_code, int32_t max_weight) {
  const int64_t pair_bound = 2 * int64_t{max_code} * max_weight;
  if (pair_bound <= 0) return kNoFlush;
  return pair_bound > 32767 ? 0 : 32767 / pair_bound;
}
static_assert(32767 / (2 * 22 * 11) == 67 && 32767 / (2 * 15 * 8) == 136, "flush intervals quoted above");

template <class R>
struct MaddubsI16 {
  static constexpr int kLanes = R::kBytes / 4;
  using W = int8_t;
  using X = typename R::I;
  using Wv = typename R::I;
  struct Acc {
    typename R::I v;
  };
  static Acc Zero() { return {R::Zero()}; }
  static X LoadX(const uint8_t* p) { return R::Load(p); }
  static Wv LoadW(const W* p) { return R::Set1I32(simd::LoadI32(p)); }
  static void Madd(Acc& a, X x, Wv w) { a.v = R::AddI16(a.v, R::MaddUbs(x, w)); }
  static void Flush(const Acc& a, int32_t* out, bool first) {
    const auto s = R::MaddI16(a.v, R::Set1I32(0x00010001));
    R::Store(out, first ? s : R::AddI32(s, R::Load(out)));
  }
};

// Exact for any codes up to 8 bits: activations zero-extended and weights sign-extended to int16, multiplied
// in pairs into int32 (vpmaddwd), accumulated in int32. Each position keeps two partial sums until the flush.
template <class R>
struct MaddwdI32 {
  static constexpr int kLanes = R::kBytes / 4;
  using W = int16_t;
  struct X {
    typename R::I lo, hi;
  };
  using Wv = typename R::I;
  struct Acc {
    typename R::I lo, hi;
  };
  static Acc Zero() { return {R::Zero(), R::Zero()}; }
  static X LoadX(const uint8_t* p) { return {R::WidenU8Lo(p), R::WidenU8Hi(p)}; }
  static Wv LoadW(const W* p) { return R::Set1I64(simd::LoadI64(p)); }
  static void Madd(Acc& a, const X& x, Wv w) {
    a.lo = R::AddI32(a.lo, R::MaddI16(x.lo, w));
    a.hi = R::AddI32(a.hi, R::MaddI16(x.hi, w));
  }
  static void Flush(const Acc& a, int32_t* out, bool first) {
    const auto s = R::PairSums(a.lo, a.hi);
    R::Store(out, first ? s : R::AddI32(s, R::Load(out)));
  }
};

#ifdef __AVX512VNNI__
// u8 x s8 products summed in fours straight into int32 (vpdpbusd): exact for any codes up to 8 bits.
struct DpbusdZmm {
  using R = simd::Zmm;
  static constexpr int kLanes = 16;
  using W = int8_t;
  using X = __m512i;
  using Wv = __m512i;
  struct Acc {
    __m512i v;
  };
  static Acc Zero() { return {R::Zero()}; }
  static X LoadX(const uint8_t* p) { return R::Load(p); }
  static Wv LoadW(const W* p) { return R::Set1I32(simd::LoadI32(p)); }
  static void Madd(Acc& a, X x, Wv w) { a.v = _mm512_dpbusd_epi32(a.v, x, w); }
  static void Flush(const Acc& a, int32_t* out, bool first) { R::Store(out, first ? a.v : R::AddI32(a.v, R::Load(out))); }
};
#endif

// The tile: an MR x lanes block of positions by NR output channels, all steps, flushing as the method needs.
template <class M, int MR, int NR>
void Tile(const TileArgs& a) {
  constexpr int kL = M::kLanes;
  const auto* w = static_cast<const typename M::W*>(a.weights);
  for (int64_t s0 = 0, s1; s0 < a.steps; s0 = s1) {
    s1 = a.steps - s0 <= a.flush_steps ? a.steps : s0 + a.flush_steps;
    typename M::Acc acc[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acc[m][n] = M::Zero();
    for (int64_t s = s0; s < s1; ++s) {
      const uint8_t* p = a.x + a.offsets[s];
      typename M::X xv[MR];
      for (int m = 0; m < MR; ++m) xv[m] = M::LoadX(p + m * kL * 4);
      const typename M::W* ws = w + s * NR * 4;
      for (int n = 0; n < NR; ++n) {
        const typename M::Wv wv = M::LoadW(ws + n * 4);
        for (int m = 0; m < MR; ++m) M::Madd(acc[m][n], xv[m], wv);
      }
    }
    for (int n = 0; n < NR; ++n)
      for (int m = 0; m < MR; ++m) M::Flush(acc[m][n], a.sums + (n * MR + m) * kL, s0 == 0);
  }
}

// Output stages (see arith::Requantize): clamping the scaled value to [lo - zp, hi - zp] before rounding gives
// the same code as rounding, adding zp and clamping, because both bounds are integers and rounding is monotonic;
// it also keeps the conversion in range.
template <class R>
void RequantizeRow(const int32_t* sums, int64_t count, int32_t bias, float multiplier, int32_t zero_point,
                   int32_t lo, int32_t hi, uint8_t* out) {
  constexpr int kL = R::kBytes / 4;
  const auto b = R::Set1I32(bias);
  const auto z = R::Set1I32(zero_point);
  const auto m = R::Set1F(multiplier);
  const auto flo = R::Set1F(static_cast<float>(lo - zero_point)), fhi = R::Set1F(static_cast<float>(hi - zero_point));
  for (int64_t i = 0; i < count; i += kL) {
    const auto v = R::MulF(R::ToF32(R::AddI32(R::Load(sums + i), b)), m);
    R::StoreBytes(out + i, R::AddI32(R::RoundToI32(R::MinF(R::MaxF(v, flo), fhi)), z));
  }
}

template <class R>
void DequantizeRow(const int32_t* sums, int64_t count, int32_t bias, float scale, float lo, float hi, float* out) {
  constexpr int kL = R::kBytes / 4;
  const auto b = R::Set1I32(bias);
  const auto s = R::Set1F(scale), flo = R::Set1F(lo), fhi = R::Set1F(hi);
  for (int64_t i = 0; i < count; i += kL)
    R::StoreF(out + i, R::MinF(R::MaxF(R::MulF(R::ToF32(R::AddI32(R::Load(sums + i), b)), s), flo), fhi));
}

template <class M, int MR, int... NR>
constexpr std::array<TileFn, kMaxNr> Tiles(std::integer_sequence<int, NR...>) {
  return {&Tile<M, MR, NR + 1>...};
}

// A Microkernel record for method M on registers R with MR x NR (NR <= MAX_NR) tiles.
template <class M, class R, int MR, int MAX_NR>
Microkernel MakeMicrokernel(const char* name, Isa isa, int64_t (*flush_steps)(int32_t, int32_t)) {
  static_assert(MAX_NR <= kMaxNr, "tile too wide");
  Microkernel k{name, isa, M::kLanes, MR, MAX_NR,
                sizeof(typename M::W) == 1 ? WeightType::kS8 : WeightType::kS16, flush_steps, {}, {},
                &RequantizeRow<R>, &DequantizeRow<R>};
  const auto full = Tiles<M, MR>(std::make_integer_sequence<int, MAX_NR>());
  const auto tail = Tiles<M, 1>(std::make_integer_sequence<int, MAX_NR>());
  for (int i = 0; i < MAX_NR; ++i) k.full[i] = full[i], k.tail[i] = tail[i];
  return k;
}

}  // namespace q46::kernels::qconv
