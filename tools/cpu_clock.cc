// See cpu_clock.h.
#include "tools/cpu_clock.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace q46::tools {

double MeasureClockGhz() {
  constexpr int64_t kAdds = 50'000'000;
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    uint64_t v = 1;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < kAdds / 10; ++i) {
#if defined(__x86_64__)
      // Ten dependent adds the compiler cannot fold or reorder.
      asm volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                   "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                   : "+r"(v));
#else
      asm volatile("" : "+r"(v));
      v += 10;
#endif
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(kAdds) / s / 1e9);
  }
  return best;
}

}  // namespace q46::tools
