// The integer Winograd layouts' input and weight transforms and accumulation bound (winograd.h says the
// arithmetic). The input transforms on SSE2 (winograd_vectors.h on 16 bytes, always there on x86-64; the last vector
// of a row runs into winograd.h's slack), bytes one at a time elsewhere; the x86 microkernels run their own vectors
// first (WinogradInput).
#include "runtime/kernels/qconv/winograd.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "runtime/kernels/qconv/winograd_vectors.h"

namespace q46::kernels::qconv {

namespace {

// H = 2 G: u = H w along rows, H w H^T two by two.
constexpr int kH[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};

uint8_t AddBytes(uint8_t a, uint8_t b) { return static_cast<uint8_t>(a + b); }
uint8_t SubBytes(uint8_t a, uint8_t b) { return static_cast<uint8_t>(a - b); }

// Channel e of tile t's four row transforms, from a padded row of quads.
void RowTransform(const uint8_t* quads, int64_t t, int e, uint8_t max_code, uint8_t v[4]) {
  const auto at = [&](int64_t column) { return quads[4 * (2 * t + column) + e]; };
  Transform4(at(0), at(1), at(2), at(3), max_code, AddBytes, SubBytes, v);
}

#if defined(__SSE2__)
// winograd_vectors.h's byte vectors on SSE2.
struct Sse2Bytes {
  using I = __m128i;
  static constexpr int kBytes = 16;
  static I Load(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
  static void Store(void* p, I v) { _mm_storeu_si128(static_cast<__m128i*>(p), v); }
  static I Set1I8(uint8_t b) { return _mm_set1_epi8(static_cast<char>(b)); }
  static I AddI8(I a, I b) { return _mm_add_epi8(a, b); }
  static I SubI8(I a, I b) { return _mm_sub_epi8(a, b); }
  static I EvenI32(I a, I b) {
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), _MM_SHUFFLE(2, 0, 2, 0)));
  }
  static I OddI32(I a, I b) {
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), _MM_SHUFFLE(3, 1, 3, 1)));
  }
};
#endif

}  // namespace

void WinogradWeights(int tile_rows, const int8_t* w, int32_t* u) {
  // Along each kernel row (H w), then, two by two, down the rows (H applied to those).
  int32_t rows[3][4] = {};
  for (int k = 0; k < (tile_rows == 1 ? 1 : 3); ++k)
    for (int i = 0; i < 4; ++i)
      for (int l = 0; l < 3; ++l) rows[k][i] += kH[i][l] * w[3 * k + l];
  if (tile_rows == 1) {
    std::copy(rows[0], rows[0] + 4, u);
    return;
  }
  for (int a = 0; a < 4; ++a)
    for (int i = 0; i < 4; ++i) {
      u[4 * a + i] = 0;
      for (int k = 0; k < 3; ++k) u[4 * a + i] += kH[a][k] * rows[k][i];
    }
}

static_assert(32767 / (2 * WinogradMaxV(1, 22) * 33) == 11 && 32767 / (2 * WinogradMaxV(2, 22) * 99) == 1,
              "the intervals quoted in winograd.h");

int64_t WinogradChunks(const int8_t* u, int64_t steps, int64_t channels, int32_t max_v, int32_t* ends) {
  // Per channel and int16 lane, the most and the least the chunk's sum can be so far.
  std::vector<int32_t> most(static_cast<size_t>(2 * channels), 0), least(most);
  const auto pair = [&](int64_t s, int64_t lane) { return u + (s * channels * 2 + lane) * 2; };  // lane = channel * 2 + p
  const auto gain = [&](const int8_t* w) { return max_v * (std::max(0, int32_t{w[0]}) + std::max(0, int32_t{w[1]})); };
  const auto loss = [&](const int8_t* w) { return max_v * (std::min(0, int32_t{w[0]}) + std::min(0, int32_t{w[1]})); };
  int64_t count = 0;
  for (int64_t s = 0; s < steps; ++s) {
    bool fits = true;
    for (int64_t lane = 0; lane < 2 * channels && fits; ++lane) {
      const auto l = static_cast<size_t>(lane);
      fits = most[l] + gain(pair(s, lane)) <= 32767 && least[l] + loss(pair(s, lane)) >= -32768;
    }
    if (!fits) {
      ends[count++] = static_cast<int32_t>(s);
      std::fill(most.begin(), most.end(), 0), std::fill(least.begin(), least.end(), 0);
    }
    for (int64_t lane = 0; lane < 2 * channels; ++lane) {
      const auto l = static_cast<size_t>(lane);
      most[l] += gain(pair(s, lane)), least[l] += loss(pair(s, lane));
    }
  }
  ends[count++] = static_cast<int32_t>(steps);
  return count;
}

void WinogradInputRowFrom(const uint8_t* quads, int64_t first, int64_t tiles, uint8_t max_code, uint8_t* out,
                          int64_t transform_bytes) {
  int64_t t = first;
#if defined(__SSE2__)
  // Four tiles a vector, the last perhaps partly past `tiles` (see winograd.h).
  t = WinogradInputRowVectors<Sse2Bytes>(quads, t, tiles + 3, max_code, out, transform_bytes);
#endif
  for (; t < tiles; ++t)
    for (int e = 0; e < 4; ++e) {
      uint8_t v[4];
      RowTransform(quads, t, e, max_code, v);
      for (int i = 0; i < 4; ++i) out[i * transform_bytes + 4 * t + e] = v[i];
    }
}

void WinogradInputRowsFrom(const uint8_t* const rows[4], int64_t first, int64_t tiles, uint8_t max_code,
                           uint8_t* out, int64_t transform_bytes) {
  const auto twice = static_cast<uint8_t>(2 * max_code);
  int64_t t = first;
#if defined(__SSE2__)
  t = WinogradInputRowsVectors<Sse2Bytes>(rows, t, tiles + 3, max_code, out, transform_bytes);
#endif
  for (; t < tiles; ++t)
    for (int e = 0; e < 4; ++e) {
      uint8_t r[4][4], v[4];
      for (int k = 0; k < 4; ++k) RowTransform(rows[k], t, e, max_code, r[k]);
      for (int i = 0; i < 4; ++i) {
        Transform4(r[0][i], r[1][i], r[2][i], r[3][i], twice, AddBytes, SubBytes, v);
        for (int a = 0; a < 4; ++a) out[(4 * a + i) * transform_bytes + 4 * t + e] = v[a];
      }
    }
}

void WinogradInputRow(const uint8_t* quads, int64_t tiles, uint8_t max_code, uint8_t* out, int64_t transform_bytes) {
  WinogradInputRowFrom(quads, 0, tiles, max_code, out, transform_bytes);
}

void WinogradInputRows(const uint8_t* const rows[4], int64_t tiles, uint8_t max_code, uint8_t* out,
                       int64_t transform_bytes) {
  WinogradInputRowsFrom(rows, 0, tiles, max_code, out, transform_bytes);
}

}  // namespace q46::kernels::qconv
