// See fast_kernels.h. Every function restates its reference kernel's arithmetic in a branch-free form.
#include "runtime/kernels/fast/fast_kernels.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "runtime/kernels/fast/sse2_bytes.h"

namespace q46::kernels {

bool AcceptsMaxPool2x2(Dims4 xs, const Window2d& win, Dims4 ys) {
  return win.kh == 2 && win.kw == 2 && win.sh == 2 && win.sw == 2 && win.dh == 1 && win.dw == 1 && win.pad_t == 0 &&
         win.pad_l == 0 && win.pad_b == 0 && win.pad_r == 0 && ys.h == xs.h / 2 && ys.w == xs.w / 2;
}

template <typename T>
void MaxPool2x2(const T* x, Dims4 xs, T* y, Dims4 ys) {
  // The reference's order: start from the lowest value, take a tap when it is greater (so NaN never wins).
  const auto take = [](T m, T v) { return v > m ? v : m; };
  for (int64_t plane = 0; plane < ys.n * ys.c; ++plane)
    for (int64_t oy = 0; oy < ys.h; ++oy) {
      const T* r0 = x + (plane * xs.h + 2 * oy) * xs.w;
      const T* r1 = r0 + xs.w;
      T* out = y + (plane * ys.h + oy) * ys.w;
      int64_t ox = 0;
#if defined(__SSE2__)
      if constexpr (std::is_same_v<T, uint8_t>) {
        // 16 (then 8) outputs from 32 (16) columns of both rows: the larger byte of each vertical pair, then of each
        // horizontal pair (the byte pairs as 16-bit lanes: low and high byte apart), packed back to bytes.
        const auto pairs = [&](int64_t at) {
          const __m128i v = _mm_max_epu8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + at)),
                                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + at)));
          return _mm_max_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00FF)), _mm_srli_epi16(v, 8));
        };
        for (; ox + 16 <= ys.w; ox += 16)
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ox), _mm_packus_epi16(pairs(2 * ox), pairs(2 * ox + 16)));
        if (ox + 8 <= ys.w) {
          const __m128i eight = pairs(2 * ox);
          _mm_storel_epi64(reinterpret_cast<__m128i*>(out + ox), _mm_packus_epi16(eight, eight));
          ox += 8;
        }
      }
#endif
      for (; ox < ys.w; ++ox)
        out[ox] = take(take(take(take(std::numeric_limits<T>::lowest(), r0[2 * ox]), r0[2 * ox + 1]), r1[2 * ox]),
                       r1[2 * ox + 1]);
    }
}
template void MaxPool2x2<float>(const float*, Dims4, float*, Dims4);
template void MaxPool2x2<uint8_t>(const uint8_t*, Dims4, uint8_t*, Dims4);


template <typename T>
void MaxPool(const T* x, Dims4 xs, const Window2d& win, T* y, Dims4 ys) {
  // Row by row: each tap (ky, kx) in the reference's order sweeps the outputs whose input column it reaches,
  // so each output still sees its taps in that order and padding is skipped without a test per element. The
  // reference starts from the lowest value and takes a tap when it is greater (NaN never wins).
  const auto take = [](T m, T v) { return v > m ? v : m; };
  const auto floor_div = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  // Per tap column kx: its shift kx * dw - pad_l and the outputs [lo, hi) whose input column ox * sw + shift lies
  // in [0, xs.w), worked out once per call for the first kCachedTaps (two divisions each per row and tap were a
  // fifth of ResNet-18's pool).
  struct Columns {
    int64_t shift, lo, hi;
  };
  const auto columns = [&](int64_t kx) {
    const int64_t shift = kx * win.dw - win.pad_l;
    return Columns{shift, std::max<int64_t>(0, floor_div(-shift + win.sw - 1, win.sw)),
                   std::min(ys.w, floor_div(xs.w - 1 - shift, win.sw) + 1)};
  };
  constexpr int64_t kCachedTaps = 16;
  Columns cached[kCachedTaps];
  for (int64_t kx = 0; kx < std::min(win.kw, kCachedTaps); ++kx) cached[kx] = columns(kx);
  for (int64_t plane = 0; plane < ys.n * ys.c; ++plane)
    for (int64_t oy = 0; oy < ys.h; ++oy) {
      T* out = y + (plane * ys.h + oy) * ys.w;
      for (int64_t ox = 0; ox < ys.w; ++ox) out[ox] = std::numeric_limits<T>::lowest();
      for (int64_t ky = 0; ky < win.kh; ++ky) {
        const int64_t iy = oy * win.sh + ky * win.dh - win.pad_t;
        if (iy < 0 || iy >= xs.h) continue;
        const T* row = x + (plane * xs.h + iy) * xs.w;
        for (int64_t kx = 0; kx < win.kw; ++kx) {
          const Columns cols = kx < kCachedTaps ? cached[kx] : columns(kx);
          const int64_t shift = cols.shift, lo = cols.lo, hi = cols.hi;
          const auto sweep = [&](auto stride) {
            int64_t ox = lo;
#if defined(__SSE2__)
            if constexpr (std::is_same_v<decltype(stride), std::integral_constant<int64_t, 2>>) {
              // One vector of outputs at a time from the even elements of the two vectors of columns they read.
              // For floats maxps(v, m) is exactly take(m, v): v > m ? v : m, NaN never taken.
              if constexpr (std::is_same_v<T, uint8_t>) {
                for (; ox + 16 <= hi && 2 * ox + shift + 32 <= xs.w; ox += 16) {
                  auto* o = reinterpret_cast<__m128i*>(out + ox);
                  _mm_storeu_si128(o, _mm_max_epu8(_mm_loadu_si128(o), EvenBytes32(row + 2 * ox + shift)));
                }
              } else {
                for (; ox + 4 <= hi && 2 * ox + shift + 8 <= xs.w; ox += 4) {
                  const float* p = row + 2 * ox + shift;
                  const __m128 taps = _mm_shuffle_ps(_mm_loadu_ps(p), _mm_loadu_ps(p + 4), _MM_SHUFFLE(2, 0, 2, 0));
                  _mm_storeu_ps(out + ox, _mm_max_ps(taps, _mm_loadu_ps(out + ox)));
                }
              }
            }
#endif
            for (; ox < hi; ++ox) out[ox] = take(out[ox], row[ox * stride + shift]);
          };
          if (win.sw == 2)  // the common case: a constant stride, and vectors on x86
            sweep(std::integral_constant<int64_t, 2>());
          else
            sweep(win.sw);
        }
      }
    }
}
template void MaxPool<float>(const float*, Dims4, const Window2d&, float*, Dims4);
template void MaxPool<uint8_t>(const uint8_t*, Dims4, const Window2d&, uint8_t*, Dims4);

namespace {

// The float loops below are built three times, for AVX-512, AVX2 and the baseline, and the loader picks by CPU
// (GCC's target_clones; flatten inlines the helpers into each clone, which would otherwise call the baseline's
// copy). Each clone does the same IEEE operations in the same order (no contraction: the build has
// -ffp-contract=off), so all three give the reference's results bit for bit. Not under ThreadSanitizer: the
// clones' resolver runs while the program is relocated, before TSan's runtime exists, and crashed there.
#if defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define Q46_FLOAT_LOOP_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), flatten))
#else
#define Q46_FLOAT_LOOP_CLONES
#endif

// y[i] = act(value(i)) for i in [0, n): the activation is chosen once, outside the loop, so that the loop
// vectorises (the sigmoid's Exp included; tanh stays a libm call per element).
template <class Value>
[[gnu::always_inline]] inline void ActivateEach(int64_t n, FloatActivation act, Value value, float* y) {
  switch (act.kind) {
    case FloatActivation::kNone:
      for (int64_t i = 0; i < n; ++i) y[i] = value(i);
      return;
    case FloatActivation::kClip:
      for (int64_t i = 0; i < n; ++i) y[i] = Clip(value(i), act.lo, act.hi);
      return;
    case FloatActivation::kSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = Sigmoid(value(i));
      return;
    case FloatActivation::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = LeakyRelu(value(i), act.alpha);
      return;
    case FloatActivation::kHardSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = HardSigmoid(value(i), act.alpha, act.beta);
      return;
    case FloatActivation::kHardSwish:
      for (int64_t i = 0; i < n; ++i) y[i] = HardSwish(value(i), act.alpha, act.beta);
      return;
    case FloatActivation::kTanh:
      for (int64_t i = 0; i < n; ++i) y[i] = Activate(value(i), act);
      return;
  }
}

// run(op) with op the arithmetic of `kind` as a function object.
template <class Run>
void WithArithmetic(BinaryKind kind, Run run) {
  switch (kind) {
    case BinaryKind::kAdd: return run([](float u, float v) { return u + v; });
    case BinaryKind::kSub: return run([](float u, float v) { return u - v; });
    case BinaryKind::kMul: return run([](float u, float v) { return u * v; });
    case BinaryKind::kDiv: return run([](float u, float v) { return u / v; });
    case BinaryKind::kPRelu: return run([](float u, float v) { return LeakyRelu(u, v); });
  }
}

}  // namespace

Q46_FLOAT_LOOP_CLONES void BinaryFlat(BinaryKind kind, const float* a, const float* b, int64_t n, FloatActivation act,
                                       float* y) {
  WithArithmetic(kind, [&](auto op) { ActivateEach(n, act, [&](int64_t i) { return op(a[i], b[i]); }, y); });
}

namespace {

// y[i] = act(x[i] op s), or act(s op x[i]): one block of a BlockBroadcast.
Q46_FLOAT_LOOP_CLONES void BinaryWithScalar(BinaryKind kind, const float* x, float s, bool scalar_first, int64_t n,
                                             FloatActivation act, float* y) {
  WithArithmetic(kind, [&](auto op) {
    if (scalar_first)
      ActivateEach(n, act, [&](int64_t i) { return op(s, x[i]); }, y);
    else
      ActivateEach(n, act, [&](int64_t i) { return op(x[i], s); }, y);
  });
}

}  // namespace

std::optional<BlockBroadcast> FindBlockBroadcast(const Dims& ad, const Dims& bd, const Dims& yd) {
  constexpr int64_t kMinBlock = 16;                   // shorter blocks are left to the reference's walk
  if ((ad == yd) == (bd == yd)) return std::nullopt;  // both full (flat) or neither (general broadcasting)
  BlockBroadcast bb;
  bb.scalar_first = bd == yd;
  Dims other = bb.scalar_first ? ad : bd;
  other.insert(other.begin(), yd.size() - other.size(), 1);  // right-aligned, as numpy broadcasts
  size_t axis = yd.size();
  while (axis > 0 && other[axis - 1] == 1) --axis;
  bb.block = 1;
  for (size_t d = axis; d < yd.size(); ++d) bb.block *= yd[d];
  if (bb.block < kMinBlock) return std::nullopt;
  // Block t's element of the other operand: t's coordinates over the output's leading dims, 0 where it has size 1.
  int64_t blocks = 1;
  for (size_t d = 0; d < axis; ++d) blocks *= yd[d];
  for (int64_t t = 0; t < blocks; ++t) {
    int64_t rest = t, offset = 0, stride = 1;
    for (size_t d = axis; d-- > 0;) {
      const int64_t coordinate = rest % yd[d];
      rest /= yd[d];
      if (other[d] != 1) offset += coordinate * stride;
      stride *= other[d];
    }
    bb.offsets.push_back(offset);
  }
  return bb;
}

void BinaryBlocks(BinaryKind kind, const BlockBroadcast& bb, const float* a, const float* b, int64_t first,
                  int64_t last, FloatActivation act, float* y) {
  const float *full = bb.scalar_first ? b : a, *per_block = bb.scalar_first ? a : b;
  for (int64_t t = first; t < last; ++t)
    BinaryWithScalar(kind, full + t * bb.block, per_block[bb.offsets[static_cast<size_t>(t)]], bb.scalar_first,
                     bb.block, act, y + t * bb.block);
}

Q46_FLOAT_LOOP_CLONES void UnaryFlat(const float* x, int64_t n, FloatActivation act, float* y) {
  ActivateEach(n, act, [&](int64_t i) { return x[i]; }, y);
}

Q46_FLOAT_LOOP_CLONES void QuantizeRow(const float* x, int64_t n, float scale, int32_t zero_point, int32_t lo,
                                        int32_t hi, uint8_t* y) {
  // arith::Quantize is clamp(RoundToInt(x / scale) + zp, lo, hi) with NaN -> zp. Clamping x / scale to
  // [lo - zp, hi - zp] first gives the same code (integer bounds, monotonic rounding) and keeps |v| < 2^22, where
  // adding and subtracting 1.5 * 2^23 rounds half to even; a NaN is replaced by 0 before the clamp.
  const float flo = static_cast<float>(lo - zero_point), fhi = static_cast<float>(hi - zero_point);
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v == v ? v : 0.0f;
    v = v < flo ? flo : v;
    v = v > fhi ? fhi : v;
    y[i] = static_cast<uint8_t>(static_cast<int32_t>((v + kRoundingBias) - kRoundingBias) + zero_point);
  }
}

}  // namespace q46::kernels
