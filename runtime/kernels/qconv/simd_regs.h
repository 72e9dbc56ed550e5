// Thin, named wrappers over vector registers: the same few operations on ymm (AVX2), zmm (AVX-512BW) and NEON,
// so each microkernel method (qconv_methods.h) is written once and instantiated per register width.
// Only intrinsics live here, no kernel logic. Include it only from translation units compiled for the ISA
// (qconv_avx2.cc, qconv_avx512.cc, qconv_vnni.cc): the AVX-512 wrappers need -mavx512bw.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#include <cstdint>
#include <cstring>

// Everything here and in qconv_methods.h is inline or a template, compiled once per ISA translation unit with that
// ISA's flags. In one namespace the copies would share symbol names and the linker would keep one, perhaps an
// AVX-512 build of a helper that the AVX2 kernels call on a CPU without AVX-512. So each ISA's copies live in an
// inline namespace of their own, named after the instruction set the translation unit is compiled for.
#if defined(__AVX512VNNI__)
#define Q46_QCONV_ISA_NAMESPACE isa_vnni
#elif defined(__AVX512BW__)
#define Q46_QCONV_ISA_NAMESPACE isa_avx512
#elif defined(__AVX2__)
#define Q46_QCONV_ISA_NAMESPACE isa_avx2
#elif defined(__ARM_NEON)
#define Q46_QCONV_ISA_NAMESPACE isa_neon
#else
#error "simd_regs.h is for the per-ISA microkernel translation units only"
#endif

namespace q46::kernels::simd {
inline namespace Q46_QCONV_ISA_NAMESPACE {

inline int32_t LoadI32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline int64_t LoadI64(const void* p) {
  int64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

#ifdef __AVX2__
struct Ymm {
  using I = __m256i;
  using F = __m256;
  static constexpr int kBytes = 32;
  static I Load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static void Store(void* p, I v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
  static I Zero() { return _mm256_setzero_si256(); }
  static I Set1I32(int32_t v) { return _mm256_set1_epi32(v); }
  static I Set1I64(int64_t v) { return _mm256_set1_epi64x(v); }
  static I Set1I8(uint8_t v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  static I AddI8(I a, I b) { return _mm256_add_epi8(a, b); }
  static I SubI8(I a, I b) { return _mm256_sub_epi8(a, b); }
  static I AddI16(I a, I b) { return _mm256_add_epi16(a, b); }
  static I AddI32(I a, I b) { return _mm256_add_epi32(a, b); }
  static I SubI32(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I MaddUbs(I u8, I s8) { return _mm256_maddubs_epi16(u8, s8); }
  static I MaddI16(I a, I b) { return _mm256_madd_epi16(a, b); }
  // Zero-extends the low / high half of the kBytes bytes at p to int16.
  static I WidenU8Lo(const uint8_t* p) { return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static I WidenU8Hi(const uint8_t* p) {
    return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
  }
  // Lane i of the result is a[2i] + a[2i+1] over the concatenation a = (lo, hi).
  static I PairSums(I lo, I hi) { return _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xD8); }
  // The even / odd 32-bit lanes of the concatenation (a, b), in order (shuffled per 128-bit half, then the halves'
  // 64-bit pieces put in order).
  static I EvenI32(I a, I b) {
    const __m256 even = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_permute4x64_epi64(_mm256_castps_si256(even), 0xD8);
  }
  static I OddI32(I a, I b) {
    const __m256 odd = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_permute4x64_epi64(_mm256_castps_si256(odd), 0xD8);
  }
  static F ToF32(I v) { return _mm256_cvtepi32_ps(v); }
  static F Set1F(float v) { return _mm256_set1_ps(v); }
  static F LoadF(const float* p) { return _mm256_loadu_ps(p); }
  static F AddF(F a, F b) { return _mm256_add_ps(a, b); }
  static F DivF(F a, F b) { return _mm256_div_ps(a, b); }
  static F ZeroNaN(F v) { return _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); }
  static F MulF(F a, F b) { return _mm256_mul_ps(a, b); }
  static F MaxF(F a, F b) { return _mm256_max_ps(a, b); }
  static F MinF(F a, F b) { return _mm256_min_ps(a, b); }
  static I RoundToI32(F v) { return _mm256_cvtps_epi32(v); }  // half-to-even in the default MXCSR
  static void StoreF(float* p, F v) { _mm256_storeu_ps(p, v); }
  // The low byte of each int32 lane (values already in [0, 255]), lane 0 in the lowest byte.
  static uint64_t LowBytes(I v) {
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(words, words)));
  }
  // Stores them as kBytes / 4 bytes.
  static void StoreBytes(uint8_t* p, I v) {
    const uint64_t bytes = LowBytes(v);
    std::memcpy(p, &bytes, 8);
  }
  // Two vectors' low bytes, a's then b's (2 * kBytes / 4 bytes): packed together, one store. (Only Ymm has it:
  // the position tiles store other registers' vectors one at a time, HasStoreBytesPair in qconv_methods.h.)
  static void StoreBytesPair(uint8_t* p, I a, I b) {
    const I bytes = _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_setzero_si256());  // a0-3 b0-3 | a4-7 b4-7
    const I ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 3, 6, 7));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(ordered));
  }
  // bytes[i] to p[i] for the bits i set in `mask`, one non-empty run of consecutive bits (up to 16): AVX2 has no
  // byte-masked store, so the run goes out as 8-, 4-, 2- and 1-byte pieces.
  static void StoreByteRun(uint8_t* p, const uint8_t* bytes, uint32_t mask) {
    int at = __builtin_ctz(mask);
    const int end = 32 - __builtin_clz(mask);
    if (end - at >= 8) std::memcpy(p + at, bytes + at, 8), at += 8;
    if (end - at >= 8) std::memcpy(p + at, bytes + at, 8), at += 8;
    if (end - at >= 4) std::memcpy(p + at, bytes + at, 4), at += 4;
    if (end - at >= 2) std::memcpy(p + at, bytes + at, 2), at += 2;
    if (end > at) p[at] = bytes[at];
  }
  // The same, only lanes whose bit is set in `mask`, one non-empty run of consecutive lanes (PositionStores).
  static void StoreBytesMasked(uint8_t* p, I v, uint32_t mask) {
    const uint64_t bytes = LowBytes(v);
    StoreByteRun(p, reinterpret_cast<const uint8_t*>(&bytes), mask);
  }
  // The low bytes of two vectors' lanes interleaved, a[0], b[0], a[1], b[1], ...: 2 * kBytes / 4 bytes.
  // (Per 128-bit half: a0 b0 a1 b1 | a2 b2 a3 b3 interleaved as int32, packed to words and bytes in order; the
  // low 8 bytes of each half then make the 16.)
  static __m128i InterleavedBytes(I a, I b) {
    const I words = _mm256_packus_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    const I bytes = _mm256_packus_epi16(words, words);
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(bytes, 0x08));
  }
  static void StoreBytesInterleaved(uint8_t* p, I a, I b) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), InterleavedBytes(a, b));
  }
  // The same, only the bytes whose bit is set in `mask`, one non-empty run of consecutive bytes (WinogradStores).
  static void StoreBytesInterleavedMasked(uint8_t* p, I a, I b, uint32_t mask) {
    alignas(16) uint8_t bytes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(bytes), InterleavedBytes(a, b));
    StoreByteRun(p, bytes, mask);
  }
  // Two vectors' lanes interleaved, a[0], b[0], a[1], b[1], ...: 2 * kBytes / 4 floats, the first and second halves.
  static void InterleavedF(F a, F b, F* first, F* second) {
    const F lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b);  // per 128-bit half
    *first = _mm256_permute2f128_ps(lo, hi, 0x20), *second = _mm256_permute2f128_ps(lo, hi, 0x31);
  }
  static void StoreFInterleaved(float* p, F a, F b) {
    F first, second;
    InterleavedF(a, b, &first, &second);
    _mm256_storeu_ps(p, first), _mm256_storeu_ps(p + 8, second);
  }
  static I MaskLanes(uint32_t mask) {  // lane i all ones where bit i of mask is set
    const I bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int32_t>(mask)), bits), bits);
  }
  static void StoreFMasked(float* p, F v, uint32_t mask) { _mm256_maskstore_ps(p, MaskLanes(mask), v); }
  static F LoadFMasked(const float* p, uint32_t mask) { return _mm256_maskload_ps(p, MaskLanes(mask)); }
  // StoreFInterleaved's 2 * kBytes / 4 floats, only those whose bit is set in `mask`.
  static void StoreFInterleavedMasked(float* p, F a, F b, uint32_t mask) {
    F first, second;
    InterleavedF(a, b, &first, &second);
    StoreFMasked(p, first, mask & 0xFF), StoreFMasked(p + 8, second, mask >> 8);
  }
};
#endif

#ifdef __AVX512BW__
struct Zmm {
  using I = __m512i;
  using F = __m512;
  using Half = Ymm;  // for rows too short for a whole Zmm (winograd_vectors.h)
  static constexpr int kBytes = 64;
  static I Load(const void* p) { return _mm512_loadu_si512(p); }
  static void Store(void* p, I v) { _mm512_storeu_si512(p, v); }
  static I Zero() { return _mm512_setzero_si512(); }
  static I Set1I32(int32_t v) { return _mm512_set1_epi32(v); }
  static I Set1I64(int64_t v) { return _mm512_set1_epi64(v); }
  static I Set1I8(uint8_t v) { return _mm512_set1_epi8(static_cast<char>(v)); }
  static I AddI8(I a, I b) { return _mm512_add_epi8(a, b); }
  static I SubI8(I a, I b) { return _mm512_sub_epi8(a, b); }
  static I AddI16(I a, I b) { return _mm512_add_epi16(a, b); }
  static I AddI32(I a, I b) { return _mm512_add_epi32(a, b); }
  static I SubI32(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I MaddUbs(I u8, I s8) { return _mm512_maddubs_epi16(u8, s8); }
  static I MaddI16(I a, I b) { return _mm512_madd_epi16(a, b); }
  static I WidenU8Lo(const uint8_t* p) { return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static I WidenU8Hi(const uint8_t* p) {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
  }
  static I EvenI32(I a, I b) {
    return _mm512_permutex2var_epi32(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  }
  static I OddI32(I a, I b) {
    return _mm512_permutex2var_epi32(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }
  static I PairSums(I lo, I hi) { return _mm512_add_epi32(EvenI32(lo, hi), OddI32(lo, hi)); }
  static F ToF32(I v) { return _mm512_cvtepi32_ps(v); }
  static F Set1F(float v) { return _mm512_set1_ps(v); }
  static F LoadF(const float* p) { return _mm512_loadu_ps(p); }
  static F AddF(F a, F b) { return _mm512_add_ps(a, b); }
  static F DivF(F a, F b) { return _mm512_div_ps(a, b); }
  static F ZeroNaN(F v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v); }
  static F MulF(F a, F b) { return _mm512_mul_ps(a, b); }
  static F MaxF(F a, F b) { return _mm512_max_ps(a, b); }
  static F MinF(F a, F b) { return _mm512_min_ps(a, b); }
  static I RoundToI32(F v) { return _mm512_cvtps_epi32(v); }
  static void StoreF(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void StoreBytes(uint8_t* p, I v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(v));
  }
  static void StoreBytesMasked(uint8_t* p, I v, uint32_t mask) {
    _mm512_mask_cvtepi32_storeu_epi8(p, static_cast<__mmask16>(mask), v);
  }
  // As Ymm's: a[0], b[0], a[1], b[1], ... (b's byte shifted above a's in each lane, then every lane's low word).
  static __m256i InterleavedBytes(I a, I b) { return _mm512_cvtepi32_epi16(_mm512_or_si512(a, _mm512_slli_epi32(b, 8))); }
  static void StoreBytesInterleaved(uint8_t* p, I a, I b) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), InterleavedBytes(a, b));
  }
  static void StoreBytesInterleavedMasked(uint8_t* p, I a, I b, uint32_t mask) {
    _mm512_mask_storeu_epi8(p, mask, _mm512_castsi256_si512(InterleavedBytes(a, b)));
  }
  static void InterleavedF(F a, F b, F* first, F* second) {
    const I low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    *first = _mm512_permutex2var_ps(a, low, b);
    *second = _mm512_permutex2var_ps(a, _mm512_add_epi32(low, _mm512_set1_epi32(8)), b);
  }
  static void StoreFInterleaved(float* p, F a, F b) {
    F first, second;
    InterleavedF(a, b, &first, &second);
    _mm512_storeu_ps(p, first), _mm512_storeu_ps(p + 16, second);
  }
  static void StoreFInterleavedMasked(float* p, F a, F b, uint32_t mask) {
    F first, second;
    InterleavedF(a, b, &first, &second);
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>(mask), first);
    _mm512_mask_storeu_ps(p + 16, static_cast<__mmask16>(mask >> 16), second);
  }
  static void StoreFMasked(float* p, F v, uint32_t mask) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>(mask), v); }
  static F LoadFMasked(const float* p, uint32_t mask) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), p); }
};
#endif

#ifdef __ARM_NEON
// 128-bit Advanced SIMD (ARMv8.0). Min and max restate x86's minps / maxps (a < b ? a : b), so every ISA's
// output stage clamps alike; rounding is to nearest even, as cvtps2dq in the default MXCSR.
struct Neon {
  using I = int32x4_t;
  using F = float32x4_t;
  static constexpr int kBytes = 16;
  static I Load(const void* p) { return vld1q_s32(static_cast<const int32_t*>(p)); }
  static void Store(void* p, I v) { vst1q_s32(static_cast<int32_t*>(p), v); }
  static I Zero() { return vdupq_n_s32(0); }
  static I Set1I32(int32_t v) { return vdupq_n_s32(v); }
  static I AddI32(I a, I b) { return vaddq_s32(a, b); }
  static F ToF32(I v) { return vcvtq_f32_s32(v); }
  static F Set1F(float v) { return vdupq_n_f32(v); }
  static F LoadF(const float* p) { return vld1q_f32(p); }
  static F AddF(F a, F b) { return vaddq_f32(a, b); }
  static F DivF(F a, F b) { return vdivq_f32(a, b); }
  static F ZeroNaN(F v) { return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v))); }
  static F MulF(F a, F b) { return vmulq_f32(a, b); }
  static F MaxF(F a, F b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static F MinF(F a, F b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static I RoundToI32(F v) { return vcvtnq_s32_f32(v); }
  static void StoreF(float* p, F v) { vst1q_f32(p, v); }
  static void StoreBytes(uint8_t* p, I v) {
    const uint8x8_t bytes = vmovn_u16(vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(v)), vdup_n_u16(0)));
    const uint32_t four = vget_lane_u32(vreinterpret_u32_u8(bytes), 0);
    std::memcpy(p, &four, 4);
  }
  static void StoreBytesMasked(uint8_t* p, I v, uint32_t mask) {
    uint8_t bytes[4];
    StoreBytes(bytes, v);
    for (int i = 0; i < 4; ++i)
      if (mask >> i & 1) p[i] = bytes[i];
  }
  static void StoreFMasked(float* p, F v, uint32_t mask) {
    float values[4];
    vst1q_f32(values, v);
    for (int i = 0; i < 4; ++i)
      if (mask >> i & 1) p[i] = values[i];
  }
  static F LoadFMasked(const float* p, uint32_t mask) {
    float values[4] = {};
    for (int i = 0; i < 4; ++i)
      if (mask >> i & 1) values[i] = p[i];
    return vld1q_f32(values);
  }
};
#endif

}  // namespace Q46_QCONV_ISA_NAMESPACE
}  // namespace q46::kernels::simd
