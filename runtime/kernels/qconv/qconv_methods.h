// The microkernel methods, each written once over a register width (simd_regs.h), and the tile and
// output-stage templates that every ISA translation unit instantiates. Include only from qconv_avx2.cc,
// qconv_avx512.cc, qconv_vnni.cc (compiled with their -m flags) and, on aarch64, qconv_neon.cc. The arithmetic
// of the output stages is runtime/arith.h's, restated on vectors; test/kernels/qconv_test.cc holds every kernel to
// the reference.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "runtime/kernels/qconv/qconv.h"
#include "runtime/kernels/qconv/simd_regs.h"
#include "runtime/kernels/qconv/winograd.h"
#include "runtime/kernels/qconv/winograd_vectors.h"

namespace q46::kernels::qconv {
inline namespace Q46_QCONV_ISA_NAMESPACE {  // see simd_regs.h

// Methods: how one step (4 input channels of one tap) multiplies and accumulates. Each names its lane count
// (output positions per register), weight type, accumulator, and how many steps the accumulator may take.

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

// What methods that multiply the codes as they are (u8 by s8) share: no centering; channel-lane tiles
// broadcast one position's 4 codes and load weight vectors.
template <class R>
struct Uncentered {
  struct Center {};
  static Center MakeCenter(uint8_t) { return {}; }
  static int32_t CenterCode(int32_t) { return 0; }
  static typename R::I BroadcastX(const uint8_t* p, Center) { return R::Set1I32(simd::LoadI32(p)); }
  static typename R::I LoadWVector(const int8_t* p) { return R::Load(p); }
};

template <class R>
struct MaddubsI16 : Uncentered<R> {
  using Center = typename Uncentered<R>::Center;
  using Reg = R;
  static constexpr bool kChannelLanes = true;
  static constexpr int kLanes = R::kBytes / 4;
  using W = int8_t;
  using X = typename R::I;
  using Wv = typename R::I;
  struct Acc {
    typename R::I v;
  };
  static Acc Zero() { return {R::Zero()}; }
  static X LoadX(const uint8_t* p, Center) { return R::Load(p); }
  static Wv LoadW(const W* p) { return R::Set1I32(simd::LoadI32(p)); }
  static void Madd(Acc& a, X x, Wv w) { a.v = R::AddI16(a.v, R::MaddUbs(x, w)); }
  static typename R::I Widen(const Acc& a) { return R::MaddI16(a.v, R::Set1I32(0x00010001)); }
};

// Exact for any codes up to 8 bits: activations zero-extended and weights sign-extended to int16, multiplied
// in pairs into int32 (vpmaddwd), accumulated in int32. Each position keeps two partial sums until the flush.
template <class R>
struct MaddwdI32 : Uncentered<R> {
  using Center = typename Uncentered<R>::Center;
  using Reg = R;
  static constexpr bool kChannelLanes = false;
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
  static X LoadX(const uint8_t* p, Center) { return {R::WidenU8Lo(p), R::WidenU8Hi(p)}; }
  static Wv LoadW(const W* p) { return R::Set1I64(simd::LoadI64(p)); }
  static void Madd(Acc& a, const X& x, Wv w) {
    a.lo = R::AddI32(a.lo, R::MaddI16(x.lo, w));
    a.hi = R::AddI32(a.hi, R::MaddI16(x.hi, w));
  }
  static typename R::I Widen(const Acc& a) { return R::PairSums(a.lo, a.hi); }
};

#ifdef __AVX512VNNI__
// u8 x s8 products summed in fours straight into int32 (vpdpbusd): exact for any codes up to 8 bits.
struct DpbusdZmm : Uncentered<simd::Zmm> {
  using Reg = simd::Zmm;
  using R = Reg;
  static constexpr bool kChannelLanes = true;
  static constexpr int kLanes = 16;
  using W = int8_t;
  using X = __m512i;
  using Wv = __m512i;
  struct Acc {
    __m512i v;
  };
  static Acc Zero() { return {R::Zero()}; }
  static X LoadX(const uint8_t* p, Center) { return R::Load(p); }
  static Wv LoadW(const W* p) { return R::Set1I32(simd::LoadI32(p)); }
  static void Madd(Acc& a, X x, Wv w) { a.v = _mm512_dpbusd_epi32(a.v, x, w); }
  static __m512i Widen(const Acc& a) { return a.v; }
};
#endif

#ifdef __ARM_NEON
// ARMv8.0 without SDOT: codes centered to signed bytes (x - center, center = max_code / 2), multiplied by the
// weights in 8 bits (vmulq_s8) and added in pairs into int16 (vpadalq_s8), widened to int32 every flush_steps
// steps (vpaddlq_s16). Proof: |x - center| <= h = max_code - center and |w| <= max_weight, so with
// h * max_weight <= 127 every 8-bit product is exact (the h_x * h_w <= 127 of the 4.6-bit pairs); one int16
// lane gains at most B = 2 * h * max_weight per step, exact while k * B <= 32767: flush_steps = floor(32767 / B).
// For (23, 23): h = 11, B = 242, 135 steps; 4-bit: h = 8, B = 128, 255 steps; 8-bit cannot be centered into
// exact 8-bit products.
inline int32_t NeonCenterCode(int32_t max_code) { return max_code / 2; }
inline int64_t NeonFlushSteps(int32_t max_code, int32_t max_weight) {
  const int64_t h = max_code - NeonCenterCode(max_code);
  if (h * max_weight == 0) return kNoFlush;
  return h * max_weight > 127 ? 0 : 32767 / (2 * h * max_weight);
}
static_assert(32767 / (2 * 11 * 11) == 135 && 32767 / (2 * 8 * 8) == 255, "flush intervals quoted above");

struct MulPadalNeon {
  using Reg = simd::Neon;
  using R = Reg;
  static constexpr bool kChannelLanes = true;
  static constexpr int kLanes = 4;
  using W = int8_t;
  using X = int8x16_t;
  using Wv = int8x16_t;
  using Center = uint8x16_t;
  struct Acc {
    int16x8_t v;
  };
  static Center MakeCenter(uint8_t c) { return vdupq_n_u8(c); }
  static int32_t CenterCode(int32_t max_code) { return NeonCenterCode(max_code); }
  static Acc Zero() { return {vdupq_n_s16(0)}; }
  static X LoadX(const uint8_t* p, Center c) { return vreinterpretq_s8_u8(vsubq_u8(vld1q_u8(p), c)); }
  static X BroadcastX(const uint8_t* p, Center c) {
    return vreinterpretq_s8_u8(vsubq_u8(vreinterpretq_u8_s32(vdupq_n_s32(simd::LoadI32(p))), c));
  }
  static Wv LoadW(const W* p) { return vreinterpretq_s8_s32(vdupq_n_s32(simd::LoadI32(p))); }
  static Wv LoadWVector(const W* p) { return vld1q_s8(p); }
  static void Madd(Acc& a, X x, Wv w) { a.v = vpadalq_s8(a.v, vmulq_s8(x, w)); }
  static int32x4_t Widen(const Acc& a) { return vpaddlq_s16(a.v); }
};
#endif

// Where a tile's MR vectors land, the same for every channel of the tile: vector m is one whole store at
// offset[m][0] (whole[m]), or runs[m] masked stores, at offset[m][r] with mask[m][r] (PositionStores,
// WinogradStores say what the offsets and mask bits are).
template <int kL, int MR>
struct VectorStores {
  int64_t offset[MR][kL];
  uint32_t mask[MR][kL];
  int runs[MR];
  bool whole[MR];

  // Stores vector m through store(offset) or store_masked(offset, mask).
  template <class Store, class StoreMasked>
  void Put(int m, Store&& store, StoreMasked&& store_masked) const {
    if (whole[m]) return store(offset[m][0]);
    for (int r = 0; r < runs[m]; ++r) store_masked(offset[m][r], mask[m][r]);
  }
};

// Where a position tile's MR vectors of kL grid positions from `first` land in a channel plane, the same for every
// channel of the tile, so worked out once per tile. A vector within one output row is one whole store at
// offset[m][0] (whole[m]); any other goes out as runs[m] masked stores, one per output row it reaches (none where
// all its lanes fall in the dropped columns, which can be wider than a vector): lane i
// lands at row * out_w + col + i - k * (plane_w - out_w) where k counts the rows it crossed, so the vector stored at
// that address minus the k-th row's shift puts every lane of row k in place; lanes in the grid's dropped columns
// and past the last position are masked off. (Masked stores never touch masked-off lanes, so tiles on other
// threads may own the neighbouring elements.)
template <int kL, int MR>
struct PositionStores : VectorStores<kL, MR> {
  using VectorStores<kL, MR>::offset, VectorStores<kL, MR>::mask, VectorStores<kL, MR>::runs,
      VectorStores<kL, MR>::whole;

  PositionStores(const TileOutput& o, int64_t first) {
    int64_t row = first / o.plane_w, col = first % o.plane_w;
    for (int m = 0; m < MR; ++m) {
      const int64_t q = first + m * kL, at = row * o.out_w + col;
      runs[m] = 0, offset[m][0] = at, whole[m] = col + kL <= o.out_w;
      if (!whole[m]) {
        const int64_t lanes = std::min<int64_t>(kL, o.positions - q);
        for (int64_t k = 0, row_start = -col; row_start < lanes; ++k, row_start += o.plane_w) {
          const int64_t lo = std::max<int64_t>(row_start, 0), hi = std::min(row_start + o.out_w, lanes);
          if (lo >= hi) continue;
          offset[m][runs[m]] = at - k * (o.plane_w - o.out_w);
          mask[m][runs[m]++] = (1u << hi) - (1u << lo);
        }
      }
      for (col += kL; col >= o.plane_w; col -= o.plane_w) ++row;
    }
  }
};

// The output stage on vectors of int32 sums (arith::Requantize and DequantizeAccumulator on vectors): bias,
// scale, clamp to [lo_f, hi_f]. Codes are then rounded and shifted by the zero point: clamping the scaled value to
// [lo - zp, hi - zp] before rounding gives the same code as rounding, adding zp and clamping, because both bounds
// are integers and rounding is monotonic; it also keeps the conversion in range. The clamp bounds and zero point
// are loaded into registers once per tile: the stage's byte stores may alias anything, so reading them through
// TileOutput for every vector made the compiler reload them after each store.
template <class R>
struct OutputRegs {
  typename R::F lo, hi, code_scale, code_lo, code_hi;
  typename R::I zero_point, code_zero_point;
  explicit OutputRegs(const TileOutput& o)
      : lo(R::Set1F(o.lo_f)), hi(R::Set1F(o.hi_f)), code_scale(R::Set1F(o.code_scale)),
        code_lo(R::Set1F(o.code_lo_f)), code_hi(R::Set1F(o.code_hi_f)), zero_point(R::Set1I32(o.zero_point)),
        code_zero_point(R::Set1I32(o.code_zero_point)) {}
  typename R::F Scale(typename R::I sums, typename R::I bias, typename R::F scale) const {
    return R::MulF(R::ToF32(R::AddI32(sums, bias)), scale);
  }
  typename R::F Clamp(typename R::F v) const { return R::MinF(R::MaxF(v, lo), hi); }
  typename R::F ScaleAndClamp(typename R::I sums, typename R::I bias, typename R::F scale) const {
    return Clamp(Scale(sums, bias, scale));
  }
  // Floats with a residual: clamp(v + residual[at]), the residual's lanes off `mask` not read (masked stores).
  typename R::F PlusResidual(typename R::F v, const float* residual, int64_t at) const {
    return Clamp(R::AddF(v, R::LoadF(residual + at)));
  }
  typename R::F PlusResidual(typename R::F v, const float* residual, int64_t at, uint32_t mask) const {
    return Clamp(R::AddF(v, R::LoadFMasked(residual + at, mask)));
  }
  // Output floats as TileOutput::quantized takes them: QuantizeRow's arithmetic (divide by the scale, NaN to 0, clamp
  // to the codes' range less the zero point, round half to even, add the zero point).
  typename R::I QuantizeF(typename R::F v) const {
    const auto scaled = R::ZeroNaN(R::DivF(v, code_scale));
    return R::AddI32(R::RoundToI32(R::MinF(R::MaxF(scaled, code_lo), code_hi)), code_zero_point);
  }
  typename R::I Codes(typename R::F clamped) const { return R::AddI32(R::RoundToI32(clamped), zero_point); }
};

// Whether register type R stores two vectors' codes in one go (R::StoreBytesPair); others store them one at a time.
template <class R, class = void>
struct HasStoreBytesPair : std::false_type {};
template <class R>
struct HasStoreBytesPair<R, std::void_t<decltype(&R::StoreBytesPair)>> : std::true_type {};

// Position lanes: the outputs of a tile's NR channels (a position tile is as wide as its channel block) at its MR
// vectors of kL grid positions from `first`, read from `partial` ([n][m] vectors). T is the output type (uint8_t
// codes or float); per channel the bias and scale are broadcast once for all MR vectors. What the loop reads of
// `o` is copied into locals first: the stores may alias anything, and fields read through `o` were reloaded
// after each of them.
template <class R, class T, int MR, int NR>
void WritePositionTile(const TileOutput& o, int64_t first, const int32_t* partial) {
  constexpr int kL = R::kBytes / 4;
  const OutputRegs<R> regs(o);
  const PositionStores<kL, MR> stores(o, first);
  T* const out = static_cast<T*>(o.out);
  const float* const residual = o.residual;
  uint8_t* const quantized = o.quantized;
  const int64_t channel_stride = o.channel_stride;
  const int32_t* const bias = o.bias;
  const float* const scale = o.scale;
  // Codes of two vectors side by side in one row go out in one store.
  const bool pair = stores.whole[0] && stores.whole[MR - 1] && stores.offset[MR - 1][0] == stores.offset[0][0] + kL;
  for (int n = 0; n < NR; ++n) {
    const auto channel_bias = R::Set1I32(bias[n]);
    const auto channel_scale = R::Set1F(scale[n]);
    T* const plane = out + n * channel_stride;
    if constexpr (std::is_same_v<T, uint8_t> && MR == 2 && HasStoreBytesPair<R>::value) {
      if (pair) {
        const auto codes = [&](int m) {
          return regs.Codes(regs.ScaleAndClamp(R::Load(partial + (n * MR + m) * kL), channel_bias, channel_scale));
        };
        R::StoreBytesPair(plane + stores.offset[0][0], codes(0), codes(1));
        continue;
      }
    }
    for (int m = 0; m < MR; ++m) {
      const auto sums = R::Load(partial + (n * MR + m) * kL);
      if constexpr (std::is_same_v<T, uint8_t>) {
        const auto codes = regs.Codes(regs.ScaleAndClamp(sums, channel_bias, channel_scale));
        stores.Put(
            m, [&](int64_t at) { R::StoreBytes(plane + at, codes); },
            [&](int64_t at, uint32_t mask) { R::StoreBytesMasked(plane + at, codes, mask); });
      } else if (residual || quantized) {
        const auto v = residual ? regs.Scale(sums, channel_bias, channel_scale)
                                : regs.ScaleAndClamp(sums, channel_bias, channel_scale);
        const int64_t c = n * channel_stride;
        stores.Put(
            m,
            [&](int64_t at) {
              const auto f = residual ? regs.PlusResidual(v, residual + c, at) : v;
              R::StoreF(plane + at, f);
              if (quantized) R::StoreBytes(quantized + c + at, regs.QuantizeF(f));
            },
            [&](int64_t at, uint32_t mask) {
              const auto f = residual ? regs.PlusResidual(v, residual + c, at, mask) : v;
              R::StoreFMasked(plane + at, f, mask);
              if (quantized) R::StoreBytesMasked(quantized + c + at, regs.QuantizeF(f), mask);
            });
      } else {
        const auto clamped = regs.ScaleAndClamp(sums, channel_bias, channel_scale);
        stores.Put(
            m, [&](int64_t at) { R::StoreF(plane + at, clamped); },
            [&](int64_t at, uint32_t mask) { R::StoreFMasked(plane + at, clamped, mask); });
      }
    }
  }
}

// One vector of channels' sums through the output stage, into values (codes or floats).
template <class R, class T>
void ChannelValues(const OutputRegs<R>& regs, const int32_t* sums, typename R::I bias, typename R::F scale,
                   T* values) {
  const auto clamped = regs.ScaleAndClamp(R::Load(sums), bias, scale);
  if constexpr (std::is_same_v<T, uint8_t>)
    R::StoreBytes(values, regs.Codes(clamped));
  else
    R::StoreF(values, clamped);
}

// Channel lanes: the outputs of a tile's channels (MR vectors of kL) at its NR output positions from `first`,
// one channel plane apart.
template <class R, class T, int MR, int NR>
void WriteChannelTile(const TileOutput o, int64_t first, const int32_t* partial) {
  constexpr int kL = R::kBytes / 4;
  const OutputRegs<R> regs(o);
  for (int m = 0; m < MR && m * kL < o.channels; ++m) {
    const int c = m * kL, count = std::min(kL, o.channels - c);
    const auto bias = R::Load(o.bias + c);
    const auto scale = R::LoadF(o.scale + c);
    T* out = static_cast<T*>(o.out) + c * o.channel_stride + first;
    for (int n = 0; n < NR; ++n) {
      alignas(64) T values[kL];
      ChannelValues<R>(regs, partial + (n * MR + m) * kL, bias, scale, values);
      for (int i = 0; i < count; ++i) out[i * o.channel_stride + n] = values[i];
    }
  }
}

// The bias of output `output` of a winograd tile position (2 row + column within it).
inline const int32_t* WinogradBias(const TileOutput& o, int output) {
  return output == 0 ? o.bias : o.winograd_bias + (output - 1) * o.winograd_bias_stride;
}
// The tile positions whose output row r (0, or 1: the lower row of a two-by-two tile) exists: below an odd output
// height's last row there is none.
inline int64_t WinogradRowPositions(const TileOutput& o, int r) { return r == 0 ? o.positions : o.out_h / 2 * o.plane_w; }
// Output row r of tile row `row`, column 2 tile: where that tile position's output of that row and its even column
// lands in a channel plane.
inline int64_t WinogradOutputAt(const TileOutput& o, int r, int64_t row, int64_t tile) {
  return (row * o.tile_rows + r) * o.out_w + 2 * tile;
}

// The same for a winograd tile's output row r: its NR tile positions from `first` (tile row q / plane_w, columns
// 2 (q % plane_w) and the next, dropped at out_w), the even and odd columns' sums in `even` and `odd`.
template <class R, class T, int MR, int NR>
void WriteWinogradChannelTile(const TileOutput o, int64_t first, int r, const int32_t* even, const int32_t* odd) {
  constexpr int kL = R::kBytes / 4;
  const OutputRegs<R> regs(o);
  int64_t at[NR];  // each tile position's even output
  bool has_odd[NR];
  const int64_t written = std::clamp<int64_t>(WinogradRowPositions(o, r) - first, 0, NR);
  for (int64_t n = 0, row = first / o.plane_w, tile = first % o.plane_w; n < NR; ++n) {
    at[n] = WinogradOutputAt(o, r, row, tile), has_odd[n] = 2 * tile + 1 < o.out_w;
    if (++tile == o.plane_w) tile = 0, ++row;
  }
  for (int m = 0; m < MR && m * kL < o.channels; ++m) {
    const int c = m * kL, count = std::min(kL, o.channels - c);
    const auto bias_even = R::Load(WinogradBias(o, 2 * r) + c), bias_odd = R::Load(WinogradBias(o, 2 * r + 1) + c);
    const auto scale = R::LoadF(o.scale + c);
    T* out = static_cast<T*>(o.out) + c * o.channel_stride;
    for (int n = 0; n < written; ++n) {
      alignas(64) T values[2][kL];
      ChannelValues<R>(regs, even + (n * MR + m) * kL, bias_even, scale, values[0]);
      ChannelValues<R>(regs, odd + (n * MR + m) * kL, bias_odd, scale, values[1]);
      // A channel's even and odd outputs side by side: one store.
      if (has_odd[n]) {
        for (int i = 0; i < count; ++i) {
          const T pair[2] = {values[0][i], values[1][i]};
          std::memcpy(out + i * o.channel_stride + at[n], pair, sizeof(pair));
        }
      } else {
        for (int i = 0; i < count; ++i) out[i * o.channel_stride + at[n]] = values[0][i];
      }
    }
  }
}

// Accumulates MR x NR accumulators over steps [s0, s1) and hands each, widened to int32, to flush(m, n, wide).
// step(s, acc) does one step of every accumulator's work. The flush is taken by value and should capture by
// value: its vector stores may alias anything, and a closure reached through a reference would be reloaded after
// each of them (that cost small layers a tenth of their time).
template <class M, int MR, int NR, class Step, class Flush>
void AccumulateChunk(int64_t s0, int64_t s1, const Step& step, Flush flush) {
  typename M::Acc acc[MR][NR];
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NR; ++n) acc[m][n] = M::Zero();
  for (int64_t s = s0; s < s1; ++s) step(s, acc);
  for (int n = 0; n < NR; ++n)
    for (int m = 0; m < MR; ++m) flush(m, n, M::Widen(acc[m][n]));
}

// A tile's steps in chunks of at most flush_steps (the method's widening interval): chunk(s0, s1, add) for each,
// where add(m, n, wide) puts the chunk's int32 sums of vector (m, n) into `partial` ([n][m] vectors: stored by the
// first chunk, added by the others).
template <class M, int MR, class Chunk>
void ForEachChunk(const TileArgs& a, const Chunk& chunk) {
  using R = typename M::Reg;
  int32_t* const partial = a.partial;
  for (int64_t s0 = 0, s1; s0 < a.steps; s0 = s1) {
    s1 = a.steps - s0 <= a.flush_steps ? a.steps : s0 + a.flush_steps;
    const bool first = s0 == 0;
    chunk(s0, s1, [partial, first](int m, int n, typename R::I wide) {
      int32_t* sums = partial + (n * MR + m) * M::kLanes;
      R::Store(sums, first ? wide : R::AddI32(wide, R::Load(sums)));
    });
  }
}

// All of a tile's steps, its sums in `partial`.
template <class M, int MR, int NR, class Step>
void Accumulate(const TileArgs& a, const Step& step) {
  ForEachChunk<M, MR>(a, [&step](int64_t s0, int64_t s1, auto add) { AccumulateChunk<M, MR, NR>(s0, s1, step, add); });
}

// Accumulate for tiles of one position (NR 1): the steps are dealt in turn to kSets sets of accumulators (the last
// one or two to the first set), added together at each chunk's end. With one set, each vector's multiply-adds
// formed one chain, each waiting for the one before (CNN-10's fc1, 128 steps of 4 vpdpbusd, ran at a third of
// their throughput). Exact as Accumulate: a set holds some of a chunk's steps, and any of them sum within the
// method's bound as the whole chunk does.
template <class M, int MR, class Step>
void AccumulateDealt(const TileArgs& a, const Step& step) {
  using R = typename M::Reg;
  constexpr int kSets = 3;  // the loop below names each
  ForEachChunk<M, MR>(a, [&step](int64_t s0, int64_t s1, auto add) {
    typename M::Acc acc[kSets][MR][1];
    for (auto& set : acc)
      for (auto& v : set) v[0] = M::Zero();
    // Each set named by a constant: an index known only at run time kept them on the stack.
    int64_t s = s0;
    for (; s + kSets <= s1; s += kSets) step(s, acc[0]), step(s + 1, acc[1]), step(s + 2, acc[2]);
    for (; s < s1; ++s) step(s, acc[0]);  // at most two left
    for (int m = 0; m < MR; ++m) {
      typename R::I wide = M::Widen(acc[0][m][0]);
      for (int k = 1; k < kSets; ++k) wide = R::AddI32(wide, M::Widen(acc[k][m][0]));
      add(m, 0, wide);
    }
  });
}

// A value read from TileArgs, or an array it points to, with a load of its own. PackedConv::RunTile writes them
// one by one just before the call; where the compiler copied neighbours with one vector load (into a step's
// closure), that load spanned several of those stores and waited for them to reach the cache instead of taking
// their values forwarded (on a Zen 3: 9% of CNN-6's 5x5 layer).
template <class T>
inline T LoadAlone(const T& field) {
  T value = field;
  asm("" : "+r"(value));
  return value;
}

// A tile reads its weights once, in order, a step's at a time. Where a layer's packed weights outgrow the caches
// (ResNet-18's layer4: 4 MB a layer in winograd's layout) the hardware prefetchers, which stop at every 4 KiB page,
// left the tiles waiting on memory: in the network (the weights of the layers before evicted) those layers ran at
// half the speed they ran at alone. So each step asks for the weights kWeightPrefetchSteps steps ahead, some
// 100 ns of a tile's work. On a Zen 5, ResNet-18 in q46bench (A/B, one core): layer4's 3x3 layers took 0.74-0.78x
// the time on VNNI (channel lanes) and 0.73-0.9x on AVX2 (position lanes), the others unchanged; 16 and 64 steps
// ahead measured slower than 32. Past a tile's last step it asks for the next transform's or block's weights,
// which follow in memory, and past the last block's for the zeros that end the weights (qconv.h). (Worked out as an
// integer, the address took registers of its own: clang 14, which builds the kernels, then spilled accumulators in
// 74 tiles.)
template <int kStepBytes>
inline void PrefetchWeights(const void* step_weights) {
  static_assert(kStepBytes <= kMaxStepWeightBytes, "the weights' zeros cover kWeightPrefetchSteps such steps");
  const char* ahead = static_cast<const char*>(step_weights) + kWeightPrefetchSteps * kStepBytes;
  for (int b = 0; b < kStepBytes; b += 64) __builtin_prefetch(ahead + b);
}

// One step of a position-lane tile: MR input vectors (4 channels of lanes positions) from x + offsets[s] and NR
// weight broadcasts (4 channels of one output channel) from w, NR * 4 weights a step.
template <class M, int MR, int NR>
auto PositionStep(const uint8_t* x, const int64_t* offsets, const typename M::W* w, typename M::Center center) {
  return [=](int64_t s, typename M::Acc (&acc)[MR][NR]) {
    constexpr int kL = M::kLanes;
    const uint8_t* p = x + offsets[s];
    typename M::X xv[MR];
    for (int m = 0; m < MR; ++m) xv[m] = M::LoadX(p + m * kL * 4, center);
    const typename M::W* ws = w + s * NR * 4;
    PrefetchWeights<NR * 4 * sizeof(typename M::W)>(ws);
    for (int n = 0; n < NR; ++n) {
      const typename M::Wv wv = M::LoadW(ws + n * 4);
      for (int m = 0; m < MR; ++m) M::Madd(acc[m][n], xv[m], wv);
    }
  };
}

// Position lanes: MR x lanes grid positions by NR output channels, a.repeat such tiles one after another.
template <class M, int MR, int NR>
struct PositionTile {
  static void Run(const TileArgs& a) {
    using R = typename M::Reg;
    constexpr int64_t kPositions = MR * M::kLanes;
    const auto* w = static_cast<const typename M::W*>(a.weights);
    const uint8_t* x = LoadAlone(a.x);
    const int64_t* const offsets = LoadAlone(a.offsets);
    for (int64_t r = 0, first = a.first; r < a.repeat; ++r, x += kPositions * 4, first += kPositions) {
      Accumulate<M, MR, NR>(a, PositionStep<M, MR, NR>(x, offsets, w, M::MakeCenter(a.center)));
      // The output stage reads the sums back from L1: done in registers it made clang keep the accumulators in
      // memory.
      if (a.out.codes)
        WritePositionTile<R, uint8_t, MR, NR>(a.out, first, a.partial);
      else
        WritePositionTile<R, float, MR, NR>(a.out, first, a.partial);
    }
  }
};

// Where a winograd position tile's MR vectors of kL tile positions from `first` land in a channel plane, in output
// row r of the tile, the same for every channel of the tile, so worked out once per tile. Tile position q is tile
// row q / plane_w, columns 2 (q % plane_w) and the next, dropped at out_w; a vector's two outputs per lane go out
// interleaved. A vector within one output row (WinogradVectorInRow: whole[m]) is one store at offset[m][0]; any
// other goes out as runs[m] masked stores, one per tile row it reaches: lane i of the k-th lands at offset[m][k] +
// 2 i (that row's first column, less twice the lanes before it), and mask[m][k] has bit 2 i for its even output and
// 2 i + 1 for its odd one where they exist (not past out_w, nor past the last position whose row r exists): one run
// of consecutive bits, as only a row's last column can lack its odd output. (Masked stores never touch masked-off
// bytes, so tiles on other threads may own the neighbouring outputs.)
template <int kL, int MR>
struct WinogradStores : VectorStores<kL, MR> {
  static_assert(2 * kL <= 32, "two bits a lane in a uint32_t");
  // (A vector of kL lanes reaches at most kL tile rows, one lane each where plane_w is 1: kL runs.)
  using VectorStores<kL, MR>::offset, VectorStores<kL, MR>::mask, VectorStores<kL, MR>::runs,
      VectorStores<kL, MR>::whole;

  [[gnu::always_inline]] WinogradStores(const TileOutput& o, int64_t first, int r) {
    const int64_t positions = WinogradRowPositions(o, r);
    const auto bits = [](int64_t lo, int64_t hi) {
      return static_cast<uint32_t>((uint64_t{1} << hi) - (uint64_t{1} << lo));
    };
    // One division for the first vector, the next ones' rows and columns stepped on from it (a division for each
    // was most of this constructor's time).
    for (int64_t m = 0, row = first / o.plane_w, tile = first % o.plane_w; m < MR; ++m) {
      const int64_t q = first + m * kL, vector_row = row, vector_tile = tile;
      for (tile += kL; tile >= o.plane_w; tile -= o.plane_w) ++row;
      // (A vector within one row lies wholly before `positions` or wholly after.)
      whole[m] = WinogradVectorInRow(vector_tile, kL, o.out_w) && q < positions;
      offset[m][0] = WinogradOutputAt(o, r, vector_row, vector_tile), runs[m] = 0;
      if (whole[m]) continue;
      const int64_t lanes = std::clamp<int64_t>(positions - q, 0, kL);
      // Lanes from row_start (negative in the first row) are tile row row + k from its column 0.
      for (int64_t k = 0, row_start = -vector_tile; row_start < lanes; ++k, row_start += o.plane_w) {
        const int64_t lo = std::max<int64_t>(row_start, 0);
        const int64_t even_end = std::min(row_start + (o.out_w + 1) / 2, lanes);
        const int64_t odd_end = std::min(row_start + o.out_w / 2, lanes);
        if (lo >= even_end) continue;
        offset[m][runs[m]] = WinogradOutputAt(o, r, vector_row + k, 0) - 2 * row_start;
        mask[m][runs[m]++] = bits(2 * lo, 2 * even_end - (odd_end < even_end ? 1 : 0));
      }
    }
  }
};

// The output stage of a winograd position tile's output row r: its NR channels at its MR vectors of kL tile
// positions from `first` (WinogradStores), the even and odd output columns' sums (k (sum + bias) once the bias is
// added; the scale is divided by k, WinogradScale) in `even` and `odd` ([n][m] vectors). What the loop reads of `o`
// is copied into locals first (see WritePositionTile).
template <class R, class T, int MR, int NR>
void WriteWinogradTile(const TileOutput& o, int64_t first, int r, const int32_t* even, const int32_t* odd) {
  constexpr int kL = R::kBytes / 4;
  const OutputRegs<R> regs(o);
  const WinogradStores<kL, MR> stores(o, first, r);
  T* const out = static_cast<T*>(o.out);
  const float* const residual = o.residual;
  uint8_t* const quantized = o.quantized;
  const int64_t channel_stride = o.channel_stride;
  const int32_t *const bias = WinogradBias(o, 2 * r), *const odd_bias = WinogradBias(o, 2 * r + 1);
  const float* const scale = o.scale;
  for (int n = 0; n < NR; ++n) {
    const auto bias_even = R::Set1I32(bias[n]), bias_odd = R::Set1I32(odd_bias[n]);
    const auto channel_scale = R::Set1F(scale[n]);
    T* const plane = out + n * channel_stride;
    for (int m = 0; m < MR; ++m) {
      const auto sums_e = R::Load(even + (n * MR + m) * kL), sums_d = R::Load(odd + (n * MR + m) * kL);
      if constexpr (std::is_same_v<T, uint8_t>) {
        const auto codes_e = regs.Codes(regs.ScaleAndClamp(sums_e, bias_even, channel_scale));
        const auto codes_d = regs.Codes(regs.ScaleAndClamp(sums_d, bias_odd, channel_scale));
        stores.Put(
            m, [&](int64_t at) { R::StoreBytesInterleaved(plane + at, codes_e, codes_d); },
            [&](int64_t at, uint32_t mask) { R::StoreBytesInterleavedMasked(plane + at, codes_e, codes_d, mask); });
      } else if (residual || quantized) {  // the two columns interleaved first, as the residual and codes lie
        const auto value = [&](typename R::I sums, typename R::I bias) {
          return residual ? regs.Scale(sums, bias, channel_scale) : regs.ScaleAndClamp(sums, bias, channel_scale);
        };
        typename R::F low, high;
        R::InterleavedF(value(sums_e, bias_even), value(sums_d, bias_odd), &low, &high);
        const int64_t c = n * channel_stride;
        // The floats (and codes) of one half at `at`, lanes masked where `mask` has bits clear (one run, or none).
        constexpr uint32_t kAll = (uint32_t{1} << kL) - 1;
        const auto put = [&](typename R::F half, int64_t at, uint32_t mask) {
          if (mask == 0) return;
          const bool whole = mask == kAll;
          typename R::F f = half;
          if (residual)
            f = whole ? regs.PlusResidual(half, residual + c, at) : regs.PlusResidual(half, residual + c, at, mask);
          whole ? R::StoreF(plane + at, f) : R::StoreFMasked(plane + at, f, mask);
          if (quantized)
            whole ? R::StoreBytes(quantized + c + at, regs.QuantizeF(f))
                  : R::StoreBytesMasked(quantized + c + at, regs.QuantizeF(f), mask);
        };
        stores.Put(
            m, [&](int64_t at) { put(low, at, kAll), put(high, at + kL, kAll); },
            [&](int64_t at, uint32_t mask) { put(low, at, mask & kAll), put(high, at + kL, mask >> kL); });
      } else {
        const auto e = regs.ScaleAndClamp(sums_e, bias_even, channel_scale);
        const auto d = regs.ScaleAndClamp(sums_d, bias_odd, channel_scale);
        stores.Put(
            m, [&](int64_t at) { R::StoreFInterleaved(plane + at, e, d); },
            [&](int64_t at, uint32_t mask) { R::StoreFInterleavedMasked(plane + at, e, d, mask); });
      }
    }
  }
}

// Channel lanes: NR output positions by MR x lanes output channels. Per step, MR weight vectors (4 input
// channels of lanes output channels) and NR input broadcasts (4 channels at one position). Only methods whose
// operands are both byte vectors (M::kChannelLanes) have this form.
template <class M, int MR, int NR>
auto ChannelStep(const uint8_t* x, const int64_t* offsets, const int8_t* w, const int64_t* position_bytes,
                 typename M::Center center) {
  std::array<int64_t, NR> at;
  for (int n = 0; n < NR; ++n) at[n] = LoadAlone(position_bytes[n]);
  return [=](int64_t s, typename M::Acc (&acc)[MR][NR]) {
    constexpr int kL = M::kLanes;
    const uint8_t* p = x + offsets[s];
    const int8_t* ws = w + s * MR * kL * 4;
    typename M::Wv wv[MR];
    for (int m = 0; m < MR; ++m) wv[m] = M::LoadWVector(ws + m * kL * 4);
    PrefetchWeights<MR * kL * 4>(ws);
    for (int n = 0; n < NR; ++n) {
      const auto xv = M::BroadcastX(p + at[n], center);
      for (int m = 0; m < MR; ++m) M::Madd(acc[m][n], xv, wv[m]);
    }
  };
}

template <class M, int MR, int NR>
struct ChannelTile {
  static void Run(const TileArgs& a) {
    using R = typename M::Reg;
    const auto* w = static_cast<const int8_t*>(a.weights);
    const auto step =
        ChannelStep<M, MR, NR>(LoadAlone(a.x), LoadAlone(a.offsets), w, a.position_bytes, M::MakeCenter(a.center));
    if constexpr (NR == 1)
      AccumulateDealt<M, MR>(a, step);
    else
      Accumulate<M, MR, NR>(a, step);
    if (a.out.codes)
      WriteChannelTile<R, uint8_t, MR, NR>(a.out, a.first, a.partial);
    else
      WriteChannelTile<R, float, MR, NR>(a.out, a.first, a.partial);
  }
};

// Winograd sums into an output's in memory, with sign kSign (0: not at all); kSet: the output's first, stored.
template <class R, int kSign, bool kSet>
void CombineSums(int32_t* sums, typename R::I wide) {
  if constexpr (kSign == 0) return;
  else if constexpr (kSet) R::Store(sums, wide);
  else if constexpr (kSign > 0) R::Store(sums, R::AddI32(R::Load(sums), wide));
  else R::Store(sums, R::SubI32(R::Load(sums), wide));
}

// Tiles on the winograd layout (winograd.h), positions or (kChannelLanes) output channels on the lanes, along rows
// (kTileRows 1) or two by two (2): per transform i, the steps over plane i with weights u_i in the chunks of
// a.chunk_ends, each chunk's sums combined into every output's (WinogradCombine: +1, -1 or nothing, an output's
// first stored; the transforms unrolled, so the signs are constants).
template <class M, int MR, int NR, bool kChannelLanes, int kTileRows>
struct WinogradTileOf {
  using R = typename M::Reg;
  static constexpr int kVectors = MR * NR * M::kLanes;
  static constexpr int kTransforms = WinogradTransforms(kTileRows), kOutputs = WinogradOutputs(kTileRows);
  static_assert(kOutputs * kVectors <= kPartialSums, "TileArgs::partial holds every output's sums");
  static constexpr int64_t kStepWeights = kChannelLanes ? MR * M::kLanes * 4 : NR * 4;

  // Transform I's chunk's sums into the outputs' (kStarts: its first chunk, which may start an output's sums).
  template <int I, bool kStarts, int... O>
  static auto Flush(int32_t* partial, std::integer_sequence<int, O...>) {
    return [partial](int m, int n, typename R::I wide) {
      const int at = (n * MR + m) * M::kLanes;
      (CombineSums<R, WinogradCombine(kTileRows, O, I), kStarts && I == WinogradFirstTransform(kTileRows, O)>(
           partial + O * kVectors + at, wide),
       ...);
    };
  }
  static constexpr bool StartsAnOutput(int i) {
    for (int o = 0; o < kOutputs; ++o)
      if (WinogradFirstTransform(kTileRows, o) == i) return true;
    return false;
  }
  template <int I>
  static void Transform(const TileArgs& a, typename M::Center center) {
    const uint8_t* x = a.x + I * a.transform_bytes;
    const auto* w = static_cast<const typename M::W*>(a.weights) + I * a.steps * kStepWeights;
    const auto run = [&](const auto& step) {
      constexpr auto kEveryOutput = std::make_integer_sequence<int, kOutputs>();
      int32_t* const partial = a.partial;
      const int32_t* end = a.chunk_ends + I * a.steps;
      int64_t s0 = 0;
      if constexpr (StartsAnOutput(I))
        AccumulateChunk<M, MR, NR>(s0, *end, step, Flush<I, true>(partial, kEveryOutput)), s0 = *end++;
      for (; s0 < a.steps; s0 = *end++)
        AccumulateChunk<M, MR, NR>(s0, *end, step, Flush<I, false>(partial, kEveryOutput));
    };
    if constexpr (kChannelLanes)
      run(ChannelStep<M, MR, NR>(x, a.offsets, w, a.position_bytes, center));
    else
      run(PositionStep<M, MR, NR>(x, a.offsets, w, center));
  }
  template <int... I>
  static void Transforms(const TileArgs& a, std::integer_sequence<int, I...>) {
    const auto center = M::MakeCenter(a.center);
    (Transform<I>(a, center), ...);
  }
  template <class T>
  static void Write(const TileArgs& a) {
    for (int r = 0; r < kTileRows; ++r) {
      const int32_t* even = a.partial + 2 * r * kVectors;
      if constexpr (kChannelLanes)
        WriteWinogradChannelTile<R, T, MR, NR>(a.out, a.first, r, even, even + kVectors);
      else
        WriteWinogradTile<R, T, MR, NR>(a.out, a.first, r, even, even + kVectors);
    }
  }

  static void Run(const TileArgs& a) {
    Transforms(a, std::make_integer_sequence<int, kTransforms>());
    a.out.codes ? Write<uint8_t>(a) : Write<float>(a);
  }
};
template <class M, int MR, int NR>
using WinogradTile = WinogradTileOf<M, MR, NR, false, 1>;
template <class M, int MR, int NR>
using WinogradChannelTile = WinogradTileOf<M, MR, NR, true, 1>;
template <class M, int MR, int NR>
using Winograd2dTile = WinogradTileOf<M, MR, NR, false, 2>;
template <class M, int MR, int NR>
using Winograd2dChannelTile = WinogradTileOf<M, MR, NR, true, 2>;

// Winograd position-lane tiles, two by two, that combine their sums in registers, for methods with registers to
// spare (VNNI's 32 zmm hold 3 MR NR accumulators, MR inputs and a weight broadcast at MR x NR 2 x 4). Each row a of
// transforms is combined as it runs: each transform's sums go into the row's two column sums,
// c_j = sum_b kWinogradCombine[j][b] m_(a, b), in registers; only those go to memory, into output (r, j) with sign
// kWinogradCombine[r][a]. (WinogradTileOf adds every transform's sums into up to four outputs in memory; on a Zen 4
// its 4 x 6 tiles ran CNN-10's 16-channel 32x32 layer 1.45x slower than these, qconv_bench. Along rows, where a
// transform's sums go into two outputs at most, 2 x 4 tiles of this kind measured even with the 4 x 6 ones on
// CNN-10's layers, slower on its 8-channel one; with channels on the lanes, slower: their outputs are scattered.)
template <class M, int MR, int NR>
struct Winograd2dRegisterTile {
  using R = typename M::Reg;
  using Columns = typename R::I[2][MR][NR];
  static constexpr int kVectors = MR * NR * M::kLanes;

  template <int T>
  [[gnu::always_inline]] static void Transform(const TileArgs& a, typename M::Center center, Columns& columns) {
    const auto* w = static_cast<const typename M::W*>(a.weights) + T * a.steps * NR * 4;
    const auto step = PositionStep<M, MR, NR>(a.x + T * a.transform_bytes, a.offsets, w, center);
    const int32_t* end = a.chunk_ends + T * a.steps;
    for (int64_t s0 = 0; s0 < a.steps; s0 = *end++) {
      typename M::Acc acc[MR][NR];
      for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) acc[m][n] = M::Zero();
      for (int64_t s = s0; s < *end; ++s) step(s, acc);
      for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) {
          const auto wide = M::Widen(acc[m][n]);
          for (int j = 0; j < 2; ++j) {
            const int sign = kWinogradCombine[j][T % 4];
            if (sign > 0) columns[j][m][n] = R::AddI32(columns[j][m][n], wide);
            if (sign < 0) columns[j][m][n] = R::SubI32(columns[j][m][n], wide);
          }
        }
    }
  }
  template <int A, int... B>
  [[gnu::always_inline]] static void Row(const TileArgs& a, typename M::Center center,
                                         std::integer_sequence<int, B...>) {
    Columns columns;
    for (auto& column : columns)
      for (auto& vectors : column)
        for (auto& v : vectors) v = R::Set1I32(0);
    (Transform<A * 4 + B>(a, center, columns), ...);
    // Into output row r: sign kWinogradCombine[r][a], stored by the first row that reaches it.
    for (int j = 0; j < 2; ++j)
      for (int n = 0; n < NR; ++n)
        for (int m = 0; m < MR; ++m) {
          int32_t* sums = a.partial + (n * MR + m) * M::kLanes + j * kVectors;
          CombineSums<R, kWinogradCombine[0][A], A == WinogradFirstTransform(2, 0) / 4>(sums, columns[j][m][n]);
          CombineSums<R, kWinogradCombine[1][A], A == WinogradFirstTransform(2, 2) / 4>(sums + 2 * kVectors,
                                                                                         columns[j][m][n]);
        }
  }
  template <int... A>
  static void Rows(const TileArgs& a, std::integer_sequence<int, A...>) {
    const auto center = M::MakeCenter(a.center);
    (Row<A>(a, center, std::make_integer_sequence<int, 4>()), ...);
  }
  static void Run(const TileArgs& a) {
    Rows(a, std::make_integer_sequence<int, 4>());
    using Writer = WinogradTileOf<M, MR, NR, false, 2>;
    a.out.codes ? Writer::template Write<uint8_t>(a) : Writer::template Write<float>(a);
  }
};

template <template <class, int, int> class T, class M, int MR, int... NR>
constexpr std::array<TileFn, kMaxNr> Tiles(std::integer_sequence<int, NR...>) {
  return {&T<M, MR, NR + 1>::Run...};
}

template <template <class, int, int> class T, class M, int MR, int MAX_NR>
TileSet MakeTileSet(const char* name, Lanes lanes_of, int winograd_rows = 0) {
  static_assert(MAX_NR <= kMaxNr, "tile too wide");
  TileSet t{name, lanes_of, winograd_rows, M::kLanes, MR, MAX_NR, {}, {}, false};
  const auto full = Tiles<T, M, MR>(std::make_integer_sequence<int, MAX_NR>());
  const auto tail = Tiles<T, M, 1>(std::make_integer_sequence<int, MAX_NR>());
  for (int i = 0; i < MAX_NR; ++i) t.full[i] = full[i], t.tail[i] = tail[i];
  return t;
}

// A Microkernel record for method M: MR x NR (NR <= MAX_NR) position-lane tiles, and where the method allows,
// NR positions by MR vectors of channels.
template <class M, int MR, int MAX_NR>
Microkernel MakeMicrokernel(const char* name, Isa isa, int64_t (*flush_steps)(int32_t, int32_t),
                            const char* positions_name, const char* channels_name) {
  Microkernel k{name, isa, sizeof(typename M::W) == 1 ? WeightType::kS8 : WeightType::kS16, flush_steps,
                &M::CenterCode, MakeTileSet<PositionTile, M, MR, MAX_NR>(positions_name, Lanes::kPositions), {}, {}, {}, {}, {},
                {}};
  if constexpr (M::kChannelLanes) k.channels = MakeTileSet<ChannelTile, M, MR, MAX_NR>(channels_name, Lanes::kChannels);
  return k;
}

// The same with winograd tiles of the same sizes, along rows and two by two, but, where kRegisterMR is set, two by
// two position lanes on kRegisterMR x kRegisterNR tiles that combine their sums in registers (Winograd2dRegisterTile);
// names[i] of the position-lane and channel-lane tiles along rows, then two by two.
template <class M, int MR, int MAX_NR, int kRegisterMR = 0, int kRegisterNR = 0>
Microkernel MakeMicrokernelWithWinograd(const char* name, Isa isa, int64_t (*flush_steps)(int32_t, int32_t),
                                        const char* positions_name, const char* channels_name,
                                        const std::array<const char*, 4>& winograd_names) {
  Microkernel k = MakeMicrokernel<M, MR, MAX_NR>(name, isa, flush_steps, positions_name, channels_name);
  k.winograd = MakeTileSet<WinogradTile, M, MR, MAX_NR>(winograd_names[0], Lanes::kPositions, 1);
  k.winograd_channels = MakeTileSet<WinogradChannelTile, M, MR, MAX_NR>(winograd_names[1], Lanes::kChannels, 1);
  if constexpr (kRegisterMR > 0) {
    k.winograd2d =
        MakeTileSet<Winograd2dRegisterTile, M, kRegisterMR, kRegisterNR>(winograd_names[2], Lanes::kPositions, 2);
    k.winograd2d.combines_in_registers = true;
  } else {
    k.winograd2d = MakeTileSet<Winograd2dTile, M, MR, MAX_NR>(winograd_names[2], Lanes::kPositions, 2);
  }
  k.winograd2d_channels = MakeTileSet<Winograd2dChannelTile, M, MR, MAX_NR>(winograd_names[3], Lanes::kChannels, 2);
  k.winograd_input = WinogradInputOn<typename M::Reg>();
  return k;
}

}  // namespace Q46_QCONV_ISA_NAMESPACE
}  // namespace q46::kernels::qconv
