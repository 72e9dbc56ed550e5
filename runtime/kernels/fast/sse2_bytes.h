// SSE2 byte gathers shared by the fast kernels (fast_kernels.cc) and the integer convolution's input repack
// (qconv/qconv.cc): x86 only, where SSE2 is always there; other targets take those files' scalar paths.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>

#include <cstdint>

namespace q46::kernels {

// The even bytes p[0], p[2], ..., p[30] (a stride-2 walk over 32 bytes).
inline __m128i EvenBytes32(const uint8_t* p) {
  const __m128i low = _mm_set1_epi16(0x00FF);
  const auto* v = reinterpret_cast<const __m128i*>(p);
  return _mm_packus_epi16(_mm_and_si128(_mm_loadu_si128(v), low), _mm_and_si128(_mm_loadu_si128(v + 1), low));
}

// p[0], p[2], ..., p[14] in the low 8 bytes.
inline __m128i EvenBytes16(const uint8_t* p) {
  const __m128i even = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), _mm_set1_epi16(0x00FF));
  return _mm_packus_epi16(even, even);
}

}  // namespace q46::kernels
#endif
