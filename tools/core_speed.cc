// See core_speed.h.
#include "tools/core_speed.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace q46::tools {
namespace {

// Seconds one thread takes for a fixed run of independent vector additions (eight chains, so the vector units,
// not the latency of one chain, set the pace: what a neighbour on the same physical core takes away).
double TimeAdditions() {
  constexpr int64_t kSteps = 4'000'000;
  const auto start = std::chrono::steady_clock::now();
#if defined(__SSE2__)
  __m128i acc[8];
  for (auto& a : acc) a = _mm_set1_epi16(1);
  const __m128i one = _mm_set1_epi16(1);
  for (int64_t i = 0; i < kSteps; ++i)
    for (auto& a : acc) {
      a = _mm_add_epi16(a, one);
      asm volatile("" : "+x"(a));  // each addition done, none folded
    }
#else
  uint64_t acc[8] = {};
  for (int64_t i = 0; i < kSteps; ++i)
    for (auto& a : acc) {
      a += 1;
      asm volatile("" : "+r"(a));
    }
#endif
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double MeasureCoreSpeedRatio() {
  // The two threads' seconds summed over the trials: the average rates, which evenly split layers wait on (a core
  // the hypervisor takes away in slices of a few milliseconds slows some trials, not all).
  constexpr int kTrials = 5;
  double total[2] = {0, 0};
  for (int t = 0; t < kTrials; ++t) {
    double seconds[2] = {0, 0};
    bool two = false;
#pragma omp parallel num_threads(2)
    if (omp_get_num_threads() == 2) {
#pragma omp barrier
      seconds[omp_get_thread_num()] = TimeAdditions();
      if (omp_get_thread_num() == 0) two = true;
    }
    if (!two) return 0;
    total[0] += seconds[0], total[1] += seconds[1];
  }
  return std::min(total[0], total[1]) / std::max(total[0], total[1]);
}

}  // namespace q46::tools
