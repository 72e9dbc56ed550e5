// Loops split over OpenMP's thread pool (created once per process), for kernels and ops alike. Nothing else
// belongs here.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

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

// How many parts [0, n) splits into: at most `threads`, none shorter than `grain`, at least one.
inline int64_t PartsOf(int64_t n, int64_t grain, int threads) {
  return std::clamp<int64_t>(n / std::max<int64_t>(grain, 1), 1, std::max(threads, 1));
}

// body(part, begin, end) over [0, n) in at most `threads` contiguous ranges (part < threads numbers them), none
// shorter than `grain` (so small work stays on one thread).
template <class Body>
void ParallelParts(int64_t n, int64_t grain, int threads, Body&& body) {
  const int64_t parts = PartsOf(n, grain, threads);
  ParallelFor(parts, static_cast<int>(parts), [&](int64_t p) { body(p, n * p / parts, n * (p + 1) / parts); });
}

// body(begin, end) over the ranges of ParallelParts.
template <class Body>
void ParallelRanges(int64_t n, int64_t grain, int threads, Body&& body) {
  ParallelParts(n, grain, threads, [&](int64_t, int64_t begin, int64_t end) { body(begin, end); });
}

// body(begin, end) over [0, n), each item once, on up to `threads` threads that also even out their speeds: each
// thread starts on its own contiguous share (as ParallelRanges) and takes it a slice at a time from the front; one
// that finishes takes slices from the back of the others'. Slices are an eighth of a share or `grain` items,
// whichever is more (or what is left of the share). (On virtual machines one core ran 10-16% slower than the
// other for minutes at a time, and equal static shares waited for it.) For loops whose items cost at least a few
// hundred cycles: each slice is a compare-and-swap on its share's cache line.
// With `prologue`, each thread first runs prologue(part, begin, end) on its own share (part < threads numbers the
// threads), then body(part, begin, end) on the items it takes, its own share's or others': a thread can set up
// what its share's items need in memory of its own (the integer convolutions' repacked inputs), and what others'
// need when it takes them.
template <class Prologue, class Body>
void ParallelRangesBalanced(int64_t n, int64_t grain, int threads, Prologue&& prologue, Body&& body) {
  const int parts = static_cast<int>(PartsOf(n, grain, threads));
  if (parts == 1 || n > INT32_MAX) {
    return ParallelParts(n, grain, threads, [&](int64_t part, int64_t begin, int64_t end) {
      prologue(static_cast<int>(part), begin, end);
      body(static_cast<int>(part), begin, end);
    });
  }
  // A share's unclaimed items [front, back), as front << 32 | back, on a cache line of its own. On the stack for up
  // to kStackShares threads (the convolutions call this once per layer and image), on the heap past that.
  struct alignas(64) Share {
    std::atomic<uint64_t> bounds;
  };
  constexpr int kStackShares = 16;
  Share on_stack[kStackShares];
  const std::unique_ptr<Share[]> on_heap =
      parts > kStackShares ? std::make_unique<Share[]>(static_cast<size_t>(parts)) : nullptr;
  Share* const shares = on_heap ? on_heap.get() : on_stack;
  for (int p = 0; p < parts; ++p)
    shares[p].bounds = static_cast<uint64_t>(n * p / parts) << 32 | static_cast<uint64_t>(n * (p + 1) / parts);
  const int64_t slice = std::max<int64_t>(std::max<int64_t>(grain, 1), n / parts / 8);
  // Part p claims up to `slice` items of share q, from its front (its owner) or its back; false once it is empty.
  const auto claim = [&](int p, int q, bool front) {
    uint64_t b = shares[q].bounds.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t lo = b >> 32, hi = b & 0xFFFFFFFFu;
      if (lo >= hi) return false;
      const uint64_t take = std::min<uint64_t>(static_cast<uint64_t>(slice), hi - lo);
      const uint64_t next = front ? (lo + take) << 32 | hi : lo << 32 | (hi - take);
      if (shares[q].bounds.compare_exchange_weak(b, next, std::memory_order_relaxed)) {
        front ? body(p, static_cast<int64_t>(lo), static_cast<int64_t>(lo + take))
              : body(p, static_cast<int64_t>(hi - take), static_cast<int64_t>(hi));
        return true;
      }
    }
  };
  ParallelFor(parts, parts, [&](int64_t i) {
    const int p = static_cast<int>(i);
    prologue(p, n * p / parts, n * (p + 1) / parts);
    while (claim(p, p, true)) {
    }
    for (int k = 1; k < parts; ++k)
      while (claim(p, (p + k) % parts, false)) {
      }
  });
}

template <class Body>
void ParallelRangesBalanced(int64_t n, int64_t grain, int threads, Body&& body) {
  ParallelRangesBalanced(
      n, grain, threads, [](int, int64_t, int64_t) {}, [&](int, int64_t begin, int64_t end) { body(begin, end); });
}

}  // namespace q46::kernels
