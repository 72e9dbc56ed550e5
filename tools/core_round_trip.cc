// See core_round_trip.h.
#include "tools/core_round_trip.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace q46::tools {
namespace {

using Clock = std::chrono::steady_clock;

// One trial: thread 0 hands the line over with an odd value, thread 1 answers with the next even one. Two threads
// on one core (an oversubscribed machine) trade turns only when the scheduler switches them, so thread 0 gives up
// after 20 ms (looking at the clock every 256 spins: a clock read costs half a near round trip) and the trial
// counts the exchanges completed by then. Returns 0 when OpenMP gives fewer than 2 threads.
double Trial() {
  constexpr int64_t kExchanges = 2000;
  constexpr auto kPatience = std::chrono::milliseconds(20);
  alignas(64) std::atomic<int64_t> turn{0};
  alignas(64) std::atomic<bool> abandoned{false};
  double ns = 0;
#pragma omp parallel num_threads(2)
  if (omp_get_num_threads() == 2) {
    const bool first = omp_get_thread_num() == 0;
#pragma omp barrier
    const auto start = Clock::now();
    int64_t done = 0;
    for (; done < kExchanges && !abandoned.load(std::memory_order_relaxed); ++done) {
      if (first) {
        turn.store(2 * done + 1, std::memory_order_release);
        for (uint32_t spins = 1; turn.load(std::memory_order_acquire) != 2 * done + 2; ++spins)
          if (spins % 256 == 0 && Clock::now() - start > kPatience) {
            abandoned.store(true);
            break;
          }
        if (abandoned.load(std::memory_order_relaxed)) break;
      } else {
        while (turn.load(std::memory_order_acquire) != 2 * done + 1 && !abandoned.load(std::memory_order_relaxed)) {
        }
        turn.store(2 * done + 2, std::memory_order_release);
      }
    }
    if (first)
      ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / std::max<int64_t>(done, 1);
  }
  return ns;
}

}  // namespace

double MeasureCoreRoundTripNs() {
  constexpr int kTrials = 7;
  std::vector<double> trials;
  for (int t = 0; t < kTrials; ++t) trials.push_back(Trial());
  std::nth_element(trials.begin(), trials.begin() + kTrials / 2, trials.end());
  return trials[kTrials / 2];
}

}  // namespace q46::tools
