// The physical limit the kernels are judged against, measured: int8 multiply-accumulates per second of each
// inner step (16 independent accumulators, no loads) and the core clock (tools/cpu_clock.h), so MACs per cycle
// come from this machine, not a datasheet. Prints one JSON object. Run: build/bin/isa_peak. Measures only.
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "tools/cpu_clock.h"

namespace {

constexpr long kIters = 10'000'000;

template <class Step>
double MacsPerSecond(Step step, int macs_per_step) {
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    const auto start = std::chrono::steady_clock::now();
    step(kIters);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, kIters * 16.0 * macs_per_step / s);
  }
  return best;
}

// Each runs n x 16 steps on independent accumulators (8 on zmm, 4 on ymm: 16 registers) in inline assembly: exactly the instructions
// named, no compiler hoisting of the loop-invariant products, no spills.
#define Q46_EIGHT(step) step(0) step(1) step(2) step(3) step(4) step(5) step(6) step(7)
#define Q46_FOUR_TWICE(step) step(0) step(1) step(2) step(3) step(0) step(1) step(2) step(3)
#define Q46_ACC_OPERANDS() [a0] "+v"(a[0]), [a1] "+v"(a[1]), [a2] "+v"(a[2]), [a3] "+v"(a[3]), \
    [a4] "+v"(a[4]), [a5] "+v"(a[5]), [a6] "+v"(a[6]), [a7] "+v"(a[7])

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void DpbusdZmm(long n) {
  __m512i a[8] = {}, x = _mm512_set1_epi8(3), w = _mm512_set1_epi8(2);
#define Q46_STEP(k) "vpdpbusd %[w], %[x], %[a" #k "]\n\t"
  for (long i = 0; i < n; ++i) asm volatile(Q46_EIGHT(Q46_STEP) Q46_EIGHT(Q46_STEP) : Q46_ACC_OPERANDS() : [x] "v"(x), [w] "v"(w));
#undef Q46_STEP
}
__attribute__((target("avx512f,avx512bw"))) void MaddubsZmm(long n) {
  __m512i a[8] = {}, t[8], x = _mm512_set1_epi8(3), w = _mm512_set1_epi8(2);
#define Q46_STEP(k) "vpmaddubsw %[w], %[x], %[t" #k "]\n\tvpaddw %[t" #k "], %[a" #k "], %[a" #k "]\n\t"
  for (long i = 0; i < n; ++i)
    asm volatile(Q46_EIGHT(Q46_STEP) Q46_EIGHT(Q46_STEP)
                 : Q46_ACC_OPERANDS(), [t0] "=&v"(t[0]), [t1] "=&v"(t[1]), [t2] "=&v"(t[2]), [t3] "=&v"(t[3]),
                   [t4] "=&v"(t[4]), [t5] "=&v"(t[5]), [t6] "=&v"(t[6]), [t7] "=&v"(t[7])
                 : [x] "v"(x), [w] "v"(w));
}
#undef Q46_STEP

// A multiply into a temporary, then an add into the accumulator, on ymm: 4 accumulators (16 registers in all).
#define Q46_YMM_PEAK(name, x_init)                                                                                             \
  __attribute__((target("avx2"))) void name(long n) {                                                          \
    __m256i a[4] = {}, t[4], x = x_init(3), w = x_init(2);                                                    \
    for (long i = 0; i < n; ++i)                                                                               \
      asm volatile(Q46_FOUR_TWICE(Q46_STEP) Q46_FOUR_TWICE(Q46_STEP)                                          \
                   : [a0] "+x"(a[0]), [a1] "+x"(a[1]), [a2] "+x"(a[2]), [a3] "+x"(a[3]), [t0] "=&x"(t[0]),     \
                     [t1] "=&x"(t[1]), [t2] "=&x"(t[2]), [t3] "=&x"(t[3])                                       \
                   : [x] "x"(x), [w] "x"(w));                                                                  \
  }
#define Q46_STEP(k) "vpmaddubsw %[w], %[x], %[t" #k "]\n\tvpaddw %[t" #k "], %[a" #k "], %[a" #k "]\n\t"
Q46_YMM_PEAK(MaddubsYmm, _mm256_set1_epi8)
#undef Q46_STEP
#define Q46_STEP(k) "vpmaddwd %[w], %[x], %[t" #k "]\n\tvpaddd %[t" #k "], %[a" #k "], %[a" #k "]\n\t"
Q46_YMM_PEAK(MaddwdYmm, _mm256_set1_epi16)
#undef Q46_STEP

}  // namespace

int main() {
  const double ghz = q46::tools::MeasureClockGhz();
  std::string out = "{\"clock_ghz\":" + std::to_string(ghz);
  const auto report = [&](const char* name, double macs) {
    out += std::string(",\"") + name + "_gmacs\":" + std::to_string(macs / 1e9) + ",\"" + name +
           "_macs_per_cycle\":" + std::to_string(macs / (ghz * 1e9));
  };
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni")) report("vpdpbusd_zmm", MacsPerSecond(DpbusdZmm, 64));
  if (__builtin_cpu_supports("avx512bw")) report("vpmaddubsw_vpaddw_zmm", MacsPerSecond(MaddubsZmm, 64));
  if (__builtin_cpu_supports("avx2")) {
    report("vpmaddubsw_vpaddw_ymm", MacsPerSecond(MaddubsYmm, 32));
    report("vpmaddwd_vpaddd_ymm", MacsPerSecond(MaddwdYmm, 16));
  }
  std::printf("%s}\n", out.c_str());
}
