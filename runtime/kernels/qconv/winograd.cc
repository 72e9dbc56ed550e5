// The integer Winograd layout's input transform and accumulation bound (winograd.h says the arithmetic). SSE2 on
// x86-64 (always there), bytes one at a time elsewhere and for the last tiles of a row.
#include "runtime/kernels/qconv/winograd.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace q46::kernels::qconv {

int64_t WinogradFlushSteps(int32_t max_code, int32_t max_u) {
  if (2 * max_code > 255 || max_u > 127) return 0;
  const int64_t pair_bound = 2 * (2 * int64_t{max_code}) * max_u;
  if (pair_bound == 0) return INT64_MAX;
  return pair_bound > 32767 ? 0 : 32767 / pair_bound;
}
static_assert(32767 / (2 * (2 * 22) * 33) == 11, "the interval quoted in winograd.h");

int64_t WinogradChunks(const int8_t* u, int64_t steps, int64_t channels, int32_t max_code, int32_t* ends) {
  // Per channel and int16 lane, the most and the least the chunk's sum can be so far.
  std::vector<int32_t> most(static_cast<size_t>(2 * channels), 0), least(most);
  const auto pair = [&](int64_t s, int64_t lane) { return u + (s * channels * 2 + lane) * 2; };  // lane = channel * 2 + p
  const auto gain = [&](const int8_t* w) { return 2 * max_code * (std::max(0, int32_t{w[0]}) + std::max(0, int32_t{w[1]})); };
  const auto loss = [&](const int8_t* w) { return 2 * max_code * (std::min(0, int32_t{w[0]}) + std::min(0, int32_t{w[1]})); };
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

void WinogradInputRow(const uint8_t* quads, int64_t tiles, uint8_t max_code, uint8_t* const out[kWinogradTransforms]) {
  int64_t t = 0;
#if defined(__SSE2__)
  // Four tiles a vector, the last perhaps partly past `tiles` (see winograd.h): the even and odd quads of columns
  // 2t .. 2t + 7 and of 2t + 2 .. 2t + 9.
  const __m128i offset = _mm_set1_epi8(static_cast<char>(max_code));
  const auto load = [&](int64_t quad) { return _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(quads + 4 * quad))); };
  const auto even = [](__m128 a, __m128 b) { return _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))); };
  const auto odd = [](__m128 a, __m128 b) { return _mm_castps_si128(_mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))); };
  const auto store = [&](int i, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(out[i] + 4 * t), v); };
  for (; t < tiles; t += 4) {
    const __m128 a = load(2 * t), b = load(2 * t + 4), c = load(2 * t + 2), d = load(2 * t + 6);
    const __m128i d0 = even(a, b), d1 = odd(a, b), d2 = even(c, d), d3 = odd(c, d);
    store(0, _mm_sub_epi8(_mm_add_epi8(d0, offset), d2));
    store(1, _mm_add_epi8(d1, d2));
    store(2, _mm_sub_epi8(_mm_add_epi8(d2, offset), d1));
    store(3, _mm_sub_epi8(_mm_add_epi8(d1, offset), d3));
  }
#endif
  for (; t < tiles; ++t)
    for (int e = 0; e < 4; ++e) {
      const auto at = [&](int64_t column) { return quads[4 * (2 * t + column) + e]; };
      out[0][4 * t + e] = static_cast<uint8_t>(at(0) + max_code - at(2));
      out[1][4 * t + e] = static_cast<uint8_t>(at(1) + at(2));
      out[2][4 * t + e] = static_cast<uint8_t>(at(2) + max_code - at(1));
      out[3][4 * t + e] = static_cast<uint8_t>(at(1) + max_code - at(3));
    }
}

}  // namespace q46::kernels::qconv
