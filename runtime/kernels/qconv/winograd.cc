// The integer Winograd layouts' input and weight transforms and accumulation bound (winograd.h says the
// arithmetic). SSE2 on x86-64 (always there), bytes one at a time elsewhere and for the last tiles of a row.
#include "runtime/kernels/qconv/winograd.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace q46::kernels::qconv {

namespace {

// H = 2 G: u = H w along rows, H w H^T two by two.
constexpr int kH[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};

// B d of four values (columns of a row, or row transforms down the rows), `offset` added to the differences:
// v = (d0 - d2, d1 + d2, d2 - d1, d1 - d3) + (offset, 0, offset, offset), with add and sub modulo 256.
template <class V, class Add, class Sub>
void Transform4(V d0, V d1, V d2, V d3, V offset, Add add, Sub sub, V v[4]) {
  v[0] = sub(add(d0, offset), d2);
  v[1] = add(d1, d2);
  v[2] = sub(add(d2, offset), d1);
  v[3] = sub(add(d1, offset), d3);
}

uint8_t AddBytes(uint8_t a, uint8_t b) { return static_cast<uint8_t>(a + b); }
uint8_t SubBytes(uint8_t a, uint8_t b) { return static_cast<uint8_t>(a - b); }

// Channel e of tile t's four row transforms, from a padded row of quads.
void RowTransform(const uint8_t* quads, int64_t t, int e, uint8_t max_code, uint8_t v[4]) {
  const auto at = [&](int64_t column) { return quads[4 * (2 * t + column) + e]; };
  Transform4(at(0), at(1), at(2), at(3), max_code, AddBytes, SubBytes, v);
}

#if defined(__SSE2__)
__m128i AddVectors(__m128i a, __m128i b) { return _mm_add_epi8(a, b); }
__m128i SubVectors(__m128i a, __m128i b) { return _mm_sub_epi8(a, b); }
void Store(uint8_t* out, int64_t t, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4 * t), v); }
__m128i LoadQuads(const uint8_t* quads, int64_t quad) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(quads + 4 * quad));
}
// Tiles t .. t + 3 of a row whose four quads from `quad` load(quad) gives, the even and odd quads of columns
// 2t .. 2t + 7 and of 2t + 2 .. 2t + 9: their four row transforms.
template <class Load>
void RowTransform4Of(const Load& load, int64_t t, __m128i offset, __m128i v[4]) {
  const auto at = [&](int64_t quad) { return _mm_castsi128_ps(load(quad)); };
  const auto even = [](__m128 a, __m128 b) { return _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))); };
  const auto odd = [](__m128 a, __m128 b) { return _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))); };
  const __m128 a = at(2 * t), b = at(2 * t + 4), c = at(2 * t + 2), d = at(2 * t + 6);
  Transform4(even(a, b), odd(a, b), even(c, d), odd(c, d), offset, AddVectors, SubVectors, v);
}
void RowTransform4(const uint8_t* quads, int64_t t, __m128i offset, __m128i v[4]) {
  RowTransform4Of([quads](int64_t quad) { return LoadQuads(quads, quad); }, t, offset, v);
}
// Two by two, tiles t .. t + 3: down transform A of the four rows' quads (max_code added to its differences),
// then its four row transforms (twice max_code added to theirs): B^T d B is linear, and its codes come out with
// the same offsets, and the same bytes, as row transforms first, then down (winograd.h). In this order the four
// vectors of each down transform are all that is live: rows first kept sixteen, more than SSE2's registers.
template <int A>
void DownThenRows4(const uint8_t* const rows[4], int64_t t, __m128i offset, __m128i twice, uint8_t* out,
                   int64_t transform_bytes) {
  const auto down = [&](int64_t quad) {
    __m128i v[4];
    Transform4(LoadQuads(rows[0], quad), LoadQuads(rows[1], quad), LoadQuads(rows[2], quad), LoadQuads(rows[3], quad),
               offset, AddVectors, SubVectors, v);
    return v[A];  // (the other rows' loads and sums are dropped by the compiler)
  };
  __m128i v[4];
  RowTransform4Of(down, t, twice, v);
  for (int i = 0; i < 4; ++i) Store(out + (4 * A + i) * transform_bytes, t, v[i]);
}
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

void WinogradInputRow(const uint8_t* quads, int64_t tiles, uint8_t max_code, uint8_t* out, int64_t transform_bytes) {
  int64_t t = 0;
#if defined(__SSE2__)
  // Four tiles a vector, the last perhaps partly past `tiles` (see winograd.h).
  const __m128i offset = _mm_set1_epi8(static_cast<char>(max_code));
  for (; t < tiles; t += 4) {
    __m128i v[4];
    RowTransform4(quads, t, offset, v);
    for (int i = 0; i < 4; ++i) Store(out + i * transform_bytes, t, v[i]);
  }
#endif
  for (; t < tiles; ++t)
    for (int e = 0; e < 4; ++e) {
      uint8_t v[4];
      RowTransform(quads, t, e, max_code, v);
      for (int i = 0; i < 4; ++i) out[i * transform_bytes + 4 * t + e] = v[i];
    }
}

void WinogradInputRows(const uint8_t* const rows[4], int64_t tiles, uint8_t max_code, uint8_t* out,
                       int64_t transform_bytes) {
  const auto twice = static_cast<uint8_t>(2 * max_code);
  int64_t t = 0;
#if defined(__SSE2__)
  const __m128i offset = _mm_set1_epi8(static_cast<char>(max_code)), twice_v = _mm_set1_epi8(static_cast<char>(twice));
  for (; t < tiles; t += 4) {
    DownThenRows4<0>(rows, t, offset, twice_v, out, transform_bytes);
    DownThenRows4<1>(rows, t, offset, twice_v, out, transform_bytes);
    DownThenRows4<2>(rows, t, offset, twice_v, out, transform_bytes);
    DownThenRows4<3>(rows, t, offset, twice_v, out, transform_bytes);
  }
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

}  // namespace q46::kernels::qconv
