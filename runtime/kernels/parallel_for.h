// Loops split over OpenMP's thread pool (created once per process), for kernels and ops alike. Nothing else
// belongs here.
#pragma once

#include <algorithm>
#include <cstdint>

namespace q46::kernels {

// body(i) for i in [0, items) on up to `threads` threads; a plain loop on one thread (an OpenMP region, even of
// one thread, costs microseconds, as much as a small layer).
template <class Body>
void ParallelFor(int64_t items, int threads, Body&& body) {
  if (threads <= 1 || items <= 1) {
    for (int64_t i = 0; i < items; ++i) body(i);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < items; ++i) body(i);
}

// body(part, begin, end) over [0, n) in at most `threads` contiguous ranges (part < threads numbers them), none
// shorter than `grain` (so small work stays on one thread).
template <class Body>
void ParallelParts(int64_t n, int64_t grain, int threads, Body&& body) {
  const int64_t parts = std::clamp<int64_t>(n / std::max<int64_t>(grain, 1), 1, std::max(threads, 1));
  ParallelFor(parts, static_cast<int>(parts), [&](int64_t p) { body(p, n * p / parts, n * (p + 1) / parts); });
}

// body(begin, end) over the ranges of ParallelParts.
template <class Body>
void ParallelRanges(int64_t n, int64_t grain, int threads, Body&& body) {
  ParallelParts(n, grain, threads, [&](int64_t, int64_t begin, int64_t end) { body(begin, end); });
}

}  // namespace q46::kernels
