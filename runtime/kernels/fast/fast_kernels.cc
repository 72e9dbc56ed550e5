// See fast_kernels.h. Every function restates its reference kernel's arithmetic in a branch-free form.
#include "runtime/kernels/fast/fast_kernels.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "runtime/kernels/fast/sse2_bytes.h"

namespace q46::kernels {

// The float loops of this file marked so are built three times, for AVX-512, AVX2 and the baseline, and the loader picks by CPU
// (GCC's target_clones; flatten inlines the helpers into each clone, which would otherwise call the baseline's
// copy). Each clone does the same IEEE operations in the same order (no contraction: the build has
// -ffp-contract=off), so all three give the reference's results bit for bit. Not under ThreadSanitizer: the
// clones' resolver runs while the program is relocated, before TSan's runtime exists, and crashed there.
#if defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define Q46_FLOAT_LOOP_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), flatten))
#else
#define Q46_FLOAT_LOOP_CLONES
#endif

bool AcceptsMaxPool2x2(Dims4 xs, const Window2d& win, Dims4 ys) {
  return win.kh == 2 && win.kw == 2 && win.sh == 2 && win.sw == 2 && win.dh == 1 && win.dw == 1 && win.pad_t == 0 &&
         win.pad_l == 0 && win.pad_b == 0 && win.pad_r == 0 && ys.h == xs.h / 2 && ys.w == xs.w / 2;
}

#if defined(__SSE2__)
namespace {

// dst[i] = max(a[i], b[i]) for i in [0, n): 16 bytes at a time, then a last run that overlaps the one before
// (rewriting equal bytes), 8 or 4 bytes wide below 16. Each width has its own load and store instructions: a
// narrow run assembled through memory was read back wider than it was written, and waited for the store.
void MaxBytes(const uint8_t* a, const uint8_t* b, int64_t n, uint8_t* dst) {
  const auto runs = [&](auto load, auto store, int64_t bytes) {
    const auto run = [&](int64_t at) { store(dst + at, _mm_max_epu8(load(a + at), load(b + at))); };
    for (int64_t at = 0; at + bytes <= n; at += bytes) run(at);
    if (n % bytes != 0) run(n - bytes);
  };
  if (n >= 16) {
    return runs([](const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); },
                [](uint8_t* p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }, 16);
  }
  if (n >= 8) {
    return runs([](const uint8_t* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); },
                [](uint8_t* p, __m128i v) { _mm_storel_epi64(reinterpret_cast<__m128i*>(p), v); }, 8);
  }
  if (n >= 4) {
    return runs(
        [](const uint8_t* p) {
          int32_t v;
          std::memcpy(&v, p, 4);
          return _mm_cvtsi32_si128(v);
        },
        [](uint8_t* p, __m128i v) {
          const int32_t bytes = _mm_cvtsi128_si32(v);
          std::memcpy(p, &bytes, 4);
        },
        4);
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = std::max(a[i], b[i]);
}

// y[j] = max(t[2j], t[2j + 1]) for j in [0, n): 16 outputs from 32 bytes (the byte pairs as 16-bit lanes, low and
// high byte apart), then 8 from 16, then one at a time.
void MaxBytePairs(const uint8_t* t, int64_t n, uint8_t* y) {
  const auto pairs = [&](int64_t at) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + at));
    return _mm_max_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00FF)), _mm_srli_epi16(v, 8));
  };
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + j), _mm_packus_epi16(pairs(2 * j), pairs(2 * j + 16)));
  if (j + 8 <= n) {
    const __m128i eight = pairs(2 * j);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + j), _mm_packus_epi16(eight, eight));
    j += 8;
  }
  for (; j < n; ++j) y[j] = std::max(t[2 * j], t[2 * j + 1]);
}

}  // namespace
#endif

template <typename T>
void MaxPool2x2(const T* x, Dims4 xs, T* y, Dims4 ys) {
  // Output row r reads input rows 2 (r % ys.h) and the next of plane r / ys.h: walked in order, the next row's
  // top row is two rows on, or the next plane's first.
  const int64_t rows = ys.n * ys.c * ys.h;
  const T* top = x;
  int64_t oy = 0;
  const auto next_row = [&] {
    top += 2 * xs.w;
    if (++oy == ys.h) top += (xs.h - 2 * ys.h) * xs.w, oy = 0;
  };
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, uint8_t>) {
    // Codes in blocks of rows: each row pair's larger bytes (over the 2 ys.w columns the windows read), side by
    // side in `pairs`, then the larger byte of each horizontal pair over the whole block at once: output rows are
    // back to back in y, and each one's 2 ys.w bytes in `pairs`, so the block is one run of pairs however narrow
    // its rows (CIFAR CNNs' pools end at 2 x 2 outputs).
    constexpr int64_t kBlockBytes = 4096;
    alignas(16) uint8_t pairs[kBlockBytes];
    const int64_t width = 2 * ys.w;
    if (width > kBlockBytes) {  // rows wider than a block: a block of columns at a time
      for (int64_t r = 0; r < rows; ++r, next_row())
        for (int64_t c = 0; c < width; c += kBlockBytes) {
          const int64_t bytes = std::min(kBlockBytes, width - c);
          MaxBytes(top + c, top + xs.w + c, bytes, pairs);
          MaxBytePairs(pairs, bytes / 2, y + r * ys.w + c / 2);
        }
      return;
    }
    const int64_t block_rows = kBlockBytes / width;
    for (int64_t r0 = 0; r0 < rows; r0 += block_rows) {
      const int64_t count = std::min(block_rows, rows - r0);
      for (int64_t r = 0; r < count; ++r, next_row()) MaxBytes(top, top + xs.w, width, pairs + r * width);
      MaxBytePairs(pairs, count * ys.w, y + r0 * ys.w);
    }
    return;
  }
#endif
  // The reference's order: start from the lowest value, take a tap when it is greater (so NaN never wins).
  const auto take = [](T m, T v) { return v > m ? v : m; };
  for (int64_t r = 0; r < rows; ++r, next_row()) {
    const T* bottom = top + xs.w;
    T* out = y + r * ys.w;
    for (int64_t ox = 0; ox < ys.w; ++ox)
      out[ox] = take(take(take(take(std::numeric_limits<T>::lowest(), top[2 * ox]), top[2 * ox + 1]), bottom[2 * ox]),
                     bottom[2 * ox + 1]);
  }
}

template void MaxPool2x2<float>(const float*, Dims4, float*, Dims4);
template void MaxPool2x2<uint8_t>(const uint8_t*, Dims4, uint8_t*, Dims4);


MaxPoolColumns MakeMaxPoolColumns(Dims4 xs, const Window2d& win, Dims4 ys) {
  const auto floor_div = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  MaxPoolColumns c;
  c.inside_hi = ys.w;
  for (int64_t kx = 0; kx < win.kw; ++kx) {
    const int64_t shift = kx * win.dw - win.pad_l;
    c.columns.push_back({shift, std::max<int64_t>(0, floor_div(-shift + win.sw - 1, win.sw)),
                         std::min(ys.w, floor_div(xs.w - 1 - shift, win.sw) + 1)});
    c.inside_lo = std::max(c.inside_lo, c.columns.back().lo), c.inside_hi = std::min(c.inside_hi, c.columns.back().hi);
  }
  c.inside_lo = std::min(c.inside_lo, ys.w);  // a tap column may reach no output (a "same" pool on a narrow map)
  c.inside_hi = std::max(c.inside_hi, c.inside_lo);
  return c;
}

namespace {

// The reference's running maximum m (a tap wins when greater: NaN never, of +0 and -0 the first stays) taken over
// row[2 i], row[2 i + 1], row[2 i + 2], in that order: one row of taps of output i of a 3-wide, stride-2 window.
inline float TakeRowOfThreeStride2(float m, const float* __restrict row, int64_t i) {
  const auto take = [](float m, float v) { return v > m ? v : m; };
  return take(take(take(m, row[2 * i]), row[2 * i + 1]), row[2 * i + 2]);
}

// out[i] = TakeRowOfThreeStride2 of out[i] (or, `first`, the lowest float) for i in [0, n): one row of taps of
// ResNets' stem pool on output rows that do not have three rows of taps inside the input (those take
// MaxThreeRowsOfThreeStride2), a plain loop that each clone vectorises on its own vectors (the SSE2 path below does
// four floats a vector).
Q46_FLOAT_LOOP_CLONES void MaxRowOfThreeStride2(const float* __restrict row, int64_t n, bool first,
                                                float* __restrict out) {
  constexpr float kLowest = std::numeric_limits<float>::lowest();
  for (int64_t i = 0; i < n; ++i) out[i] = TakeRowOfThreeStride2(first ? kLowest : out[i], row, i);
}

// The same over three rows of taps at once, out[i] written once: a 3x3 stride-2 window's nine taps in the
// reference's order (row by row). One call per output row instead of three, and no partial maximum stored and
// reloaded in between: ResNet-18's stem pool (64 x 112 x 112 floats) took 200 us a row of taps at a time.
Q46_FLOAT_LOOP_CLONES void MaxThreeRowsOfThreeStride2(const float* __restrict r0, const float* __restrict r1,
                                                      const float* __restrict r2, int64_t n, float* __restrict out) {
  constexpr float kLowest = std::numeric_limits<float>::lowest();
  for (int64_t i = 0; i < n; ++i)
    out[i] = TakeRowOfThreeStride2(TakeRowOfThreeStride2(TakeRowOfThreeStride2(kLowest, r0, i), r1, i), r2, i);
}

}  // namespace

template <typename T>
void MaxPool(const T* x, Dims4 xs, const Window2d& win, const MaxPoolColumns& columns, T* y, Dims4 ys) {
  // Row by row, each output's taps in the reference's order (ky, then kx), which starts from the lowest value and
  // takes a tap when it is greater (NaN never wins; of +0 and -0 the first stays). Outputs whose every tap column
  // is inside the row (the row's interior) keep their maximum in a register over all taps, a vector of them at a
  // time with stride 2; the others have each tap sweep the outputs whose input column it reaches, so padding is
  // skipped without a test per element.
  const auto take = [](T m, T v) { return v > m ? v : m; };
  const auto& cols = columns.columns;
  const int64_t inside_lo = columns.inside_lo, inside_hi = columns.inside_hi, last_shift = cols.back().shift;
  for (int64_t plane = 0; plane < ys.n * ys.c; ++plane)
    for (int64_t oy = 0; oy < ys.h; ++oy) {
      T* out = y + (plane * ys.h + oy) * ys.w;
      // The tap rows inside the input, in order: taps_rows of them from first_ky, a dilation apart.
      int64_t first_ky = 0, taps_rows = 0;
      for (int64_t ky = win.kh - 1; ky >= 0; --ky) {
        const int64_t iy = oy * win.sh + ky * win.dh - win.pad_t;
        if (iy >= 0 && iy < xs.h) first_ky = ky, ++taps_rows;
      }
      const int64_t first_iy = oy * win.sh + first_ky * win.dh - win.pad_t;  // inside the input if taps_rows > 0
      const T* const first_row = taps_rows > 0 ? x + (plane * xs.h + first_iy) * xs.w : x;
      const auto each_row = [&, row_step = win.dh * xs.w](auto&& fn) {
        for (int64_t r = 0; r < taps_rows; ++r) fn(first_row + r * row_step);
      };
      // The edges: each tap sweeps its outputs outside the interior.
      for (int64_t ox = 0; ox < inside_lo; ++ox) out[ox] = std::numeric_limits<T>::lowest();
      for (int64_t ox = inside_hi; ox < ys.w; ++ox) out[ox] = std::numeric_limits<T>::lowest();
      each_row([&](const T* row) {
        for (const auto& c : cols) {
          const auto sweep = [&](int64_t from, int64_t to) {
            for (int64_t ox = from; ox < to; ++ox) out[ox] = take(out[ox], row[ox * win.sw + c.shift]);
          };
          sweep(c.lo, std::min(c.hi, inside_lo));
          sweep(std::max(c.lo, inside_hi), c.hi);
        }
      });
      // The interior, in registers.
      int64_t ox = inside_lo;
      if constexpr (std::is_same_v<T, float>) {
        if (win.sw == 2 && cols.size() == 3 && cols[1].shift == cols[0].shift + 1 &&
            cols[2].shift == cols[0].shift + 2 && taps_rows > 0 && ox < inside_hi) {
          const int64_t at = 2 * ox + cols[0].shift, row_step = win.dh * xs.w;
          if (taps_rows == 3) {
            MaxThreeRowsOfThreeStride2(first_row + at, first_row + row_step + at, first_row + 2 * row_step + at,
                                       inside_hi - ox, out + ox);
          } else {
            bool first = true;
            each_row([&](const float* row) {
              MaxRowOfThreeStride2(row + at, inside_hi - ox, first, out + ox);
              first = false;
            });
          }
          ox = inside_hi;
        }
      }
#if defined(__SSE2__)
      // A vector of outputs from the even elements of the two vectors of columns each tap reads (while the last
      // tap's are inside the row). For floats maxps(v, m) is exactly take(m, v): v > m ? v : m, NaN never taken.
      if (win.sw == 2) {
        if constexpr (std::is_same_v<T, uint8_t>) {
          for (; ox + 16 <= inside_hi && 2 * ox + last_shift + 32 <= xs.w; ox += 16) {
            __m128i m = _mm_setzero_si128();
            each_row([&](const uint8_t* row) {
              for (const auto& c : cols) m = _mm_max_epu8(m, EvenBytes32(row + 2 * ox + c.shift));
            });
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ox), m);
          }
        } else {
          // kVectors vectors at a time, so that their chains of maxps overlap (one alone waited on its latency).
          const auto vectors = [&](auto count) {
            constexpr int kVectors = decltype(count)::value;
            for (; ox + 4 * kVectors <= inside_hi && 2 * ox + last_shift + 8 * kVectors <= xs.w; ox += 4 * kVectors) {
              __m128 m[kVectors];
              for (auto& v : m) v = _mm_set1_ps(std::numeric_limits<float>::lowest());
              each_row([&](const float* row) {
                for (const auto& c : cols)
                  for (int v = 0; v < kVectors; ++v) {
                    const float* p = row + 2 * ox + c.shift + 8 * v;
                    m[v] = _mm_max_ps(_mm_shuffle_ps(_mm_loadu_ps(p), _mm_loadu_ps(p + 4), _MM_SHUFFLE(2, 0, 2, 0)),
                                      m[v]);
                  }
              });
              for (int v = 0; v < kVectors; ++v) _mm_storeu_ps(out + ox + 4 * v, m[v]);
            }
          };
          vectors(std::integral_constant<int, 4>());
          vectors(std::integral_constant<int, 1>());
        }
      }
#endif
      for (; ox < inside_hi; ++ox) {
        T m = std::numeric_limits<T>::lowest();
        each_row([&](const T* row) {
          for (const auto& c : cols) m = take(m, row[ox * win.sw + c.shift]);
        });
        out[ox] = m;
      }
    }
}
template void MaxPool<float>(const float*, Dims4, const Window2d&, const MaxPoolColumns&, float*, Dims4);
template void MaxPool<uint8_t>(const uint8_t*, Dims4, const Window2d&, const MaxPoolColumns&, uint8_t*, Dims4);

namespace {

// y[i] = act(value(i)) for i in [0, n): the activation is chosen once, outside the loop, so that the loop
// vectorises (the sigmoid's and tanh's Exp included).
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
      for (int64_t i = 0; i < n; ++i) y[i] = Tanh(value(i));
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

namespace {

// The depthwise convolution's loops, on pointers that do not alias (byte pointers may alias anything, and without
// __restrict GCC keeps these loops scalar).
template <typename Acc>
[[gnu::always_inline]] inline void AddTap(Acc* __restrict acc, const uint8_t* __restrict src, int64_t n,
                                          int32_t weight) {
  const Acc w = static_cast<Acc>(weight);
  for (int64_t q = 0; q < n; ++q) acc[q] = static_cast<Acc>(acc[q] + static_cast<Acc>(src[q]) * w);
}

// y[j] = x[j * stride] for j in [0, n); x holds `avail` bytes.
[[gnu::always_inline]] inline void CopyStrided(const uint8_t* __restrict x, int64_t stride, int64_t avail, int64_t n,
                                               uint8_t* __restrict y) {
  if (stride == 1) {
    std::memcpy(y, x, static_cast<size_t>(n));
    return;
  }
  int64_t j = 0;
#if defined(__SSE2__)
  if (stride == 2)
    for (; j + 16 <= n && 2 * j + 32 <= avail; j += 16)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + j), EvenBytes32(x + 2 * j));
#endif
  for (; j < n; ++j) y[j] = x[j * stride];
}

// Clamping to [lo - zp, hi - zp] before rounding equals clamping after (integer bounds, monotonic rounding); the
// rounding bias rounds ties to even as arith::RoundToInt does below 2^22, and the loader keeps |lo - zp| and
// |hi - zp| <= 255. So this is arith::Requantize. (A function of its own: inlined into the depthwise loop nest,
// GCC left it scalar.)
Q46_FLOAT_LOOP_CLONES void RequantizeRow(const int32_t* __restrict acc, int64_t n, float scale, float lo_f, float hi_f,
                                         int32_t zero_point, uint8_t* __restrict codes) {
  for (int64_t j = 0; j < n; ++j) {
    float v = static_cast<float>(acc[j]) * scale;
    v = v < lo_f ? lo_f : v;
    v = v > hi_f ? hi_f : v;
    codes[j] = static_cast<uint8_t>(static_cast<int32_t>((v + kRoundingBias) - kRoundingBias) + zero_point);
  }
}

// Where DepthwiseConvQuant keeps its working set in its scratch. Each plane is copied, padded, into one plane per
// stride phase (row phase, column phase), so that every tap of every output reads at a fixed offset: output
// (oy, ox) at position oy * pitch + ox of a grid `pitch` wide (its columns past the output's width are computed and
// dropped). Each tap is then one long contiguous loop. Bands of output rows keep the accumulators in L1/L2.
struct DepthwiseLayout {
  int64_t pitch, phase_bytes, band_rows, column_phases;
  size_t acc_at, sums_at, codes_at, rows_at, columns_at, bytes;  // byte offsets (phases at 0), total
  DepthwiseLayout(Dims4 xs, Dims4 ys, const Window2d& win) {
    pitch = (win.pad_l + xs.w + win.pad_r + win.sw - 1) / win.sw;
    const int64_t phase_rows = (win.pad_t + xs.h + win.pad_b + win.sh - 1) / win.sh;
    phase_bytes = (phase_rows + 1) * pitch + win.kw * win.dw;  // the last row's dropped columns read on
    band_rows = std::clamp<int64_t>(8192 / pitch, 1, ys.h);
    column_phases = std::min(win.sw, xs.w);
    const auto lines = [](int64_t b) { return static_cast<size_t>((b + 63) / 64 * 64); };
    const int64_t grid = band_rows * pitch;
    acc_at = lines(win.sh * win.sw * phase_bytes);
    sums_at = acc_at + lines(grid * 4);
    codes_at = sums_at + lines(grid * 2);
    rows_at = codes_at + lines(grid);
    columns_at = rows_at + lines(xs.h * 8);
    bytes = columns_at + lines(column_phases * 8);
  }
};

}  // namespace

size_t DepthwiseScratchBytes(Dims4 xs, Dims4 ys, const Window2d& win) { return DepthwiseLayout(xs, ys, win).bytes; }

Q46_FLOAT_LOOP_CLONES void DepthwiseConvQuant(const uint8_t* x, Dims4 xs, const int8_t* w, const Window2d& win,
                                              uint8_t pad_code, const qconv::OutputStage& stage, bool int16_sums,
                                              void* y, Dims4 ys, int64_t first, int64_t last, uint8_t* scratch) {
  const DepthwiseLayout l(xs, ys, win);
  const int64_t pitch = l.pitch, phase_bytes = l.phase_bytes, band_rows = l.band_rows, sw = win.sw;
  const int64_t column_phases = l.column_phases, phases_size = win.sh * sw * phase_bytes;
  uint8_t* phases = scratch;
  auto* acc = reinterpret_cast<int32_t*>(scratch + l.acc_at);
  auto* sums = reinterpret_cast<int16_t*>(scratch + l.sums_at);
  uint8_t* codes = scratch + l.codes_at;
  auto* row_at = reinterpret_cast<int64_t*>(scratch + l.rows_at);  // where input row iy starts in `phases`
  auto* column_at = reinterpret_cast<int64_t*>(scratch + l.columns_at);  // ... and column phase ix0
  for (int64_t iy = 0; iy < xs.h; ++iy) {
    const int64_t py = iy + win.pad_t;
    row_at[iy] = (py % win.sh) * sw * phase_bytes + py / win.sh * pitch;
  }
  for (int64_t ix0 = 0; ix0 < column_phases; ++ix0) {
    const int64_t px = ix0 + win.pad_l;
    column_at[ix0] = px % sw * phase_bytes + px / sw;
  }
  const float lo_f = static_cast<float>(stage.lo - stage.zero_point);
  const float hi_f = static_cast<float>(stage.hi - stage.zero_point);
  for (int64_t p = first; p < last; ++p) {
    const int64_t c = p % xs.c;
    const uint8_t* plane = x + p * xs.h * xs.w;
    std::fill(phases, phases + phases_size, pad_code);
    for (int64_t iy = 0; iy < xs.h; ++iy)
      for (int64_t ix0 = 0; ix0 < column_phases; ++ix0)  // the input columns of one column phase
        CopyStrided(plane + iy * xs.w + ix0, sw, xs.w - ix0, (xs.w - ix0 + sw - 1) / sw,
                    phases + row_at[iy] + column_at[ix0]);
    const int8_t* wc = w + c * win.kh * win.kw;
    const float scale = stage.scale[static_cast<size_t>(c)];
    const int32_t bias = stage.bias[static_cast<size_t>(c)];
    for (int64_t oy0 = 0; oy0 < ys.h; oy0 += band_rows) {
      const int64_t rows = std::min(band_rows, ys.h - oy0), len = rows * pitch;
      int32_t* a = acc;
      int16_t* s16 = sums;
      if (int16_sums)
        std::fill(s16, s16 + len, int16_t{0});
      else
        std::fill(a, a + len, bias);
      for (int64_t ky = 0; ky < win.kh; ++ky)
        for (int64_t kx = 0; kx < win.kw; ++kx) {
          const int64_t dy = ky * win.dh, dx = kx * win.dw;
          const uint8_t* src = phases + ((dy % win.sh) * win.sw + dx % win.sw) * phase_bytes +
                               (oy0 + dy / win.sh) * pitch + dx / win.sw;
          if (int16_sums)
            AddTap(s16, src, len, wc[ky * win.kw + kx]);
          else
            AddTap(a, src, len, wc[ky * win.kw + kx]);
        }
      if (int16_sums)
        for (int64_t q = 0; q < len; ++q) a[q] = bias + s16[q];
      // The output stage runs over the whole band (rows are short), then each row's real columns are kept.
      if (stage.codes_out) RequantizeRow(a, len, scale, lo_f, hi_f, stage.zero_point, codes);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t out = (p * ys.h + oy0 + r) * ys.w;
        if (stage.codes_out) {
          std::memcpy(static_cast<uint8_t*>(y) + out, codes + r * pitch, static_cast<size_t>(ys.w));
        } else {
          const int32_t* row = a + r * pitch;
          ActivateEach(ys.w, stage.activation, [&](int64_t j) { return arith::DequantizeAccumulator(row[j], scale); },
                       static_cast<float*>(y) + out);
        }
      }
    }
  }
}

}  // namespace q46::kernels
