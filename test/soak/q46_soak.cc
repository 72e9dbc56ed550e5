// q46_soak: concurrent inference on one loaded plan, through the public C API only (it links nothing but the
// runtime, so it also builds under ThreadSanitizer). Computes reference outputs for a few seeded random inputs
// on one context, then runs THREADS threads, each with its own context, RUNS inferences each (or for SECONDS),
// cycling through the inputs, and requires every output to be bit-identical to the reference. Memory: heap bytes
// in use (glibc mallinfo2, every arena), C++ allocations counted by this program's operator new, and resident
// size are read after every thread's first pass (the warm-up) and after its last run, both times with every
// thread (and so every OpenMP team) alive and idle; any growth in heap bytes is a failure, and with
// --no-allocations so is any C++ allocation after the warm-up (the integer path allocates nothing; oneDNN's
// execute builds and frees an argument map per call, so plans with float layers do allocate, without growth).
// glibc counts chunks parked in a thread's cache (tcache) as in use, so exact heap figures need
// GLIBC_TUNABLES=glibc.malloc.tcache_count=0, which the CTest entries set. Prints one summary line; exit 0 only
// when everything held.
// Usage: q46_soak PLAN [--threads 8] [--runs 10000] [--seconds S] [--inputs 4] [--no-allocations]
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "q46/q46.h"

namespace {

std::atomic<int64_t> g_allocations{0};

struct Options {
  std::string plan;
  int threads = 8;
  int64_t runs = 10000;
  double seconds = 0;  // > 0: run for this long instead of `runs` per thread
  int inputs = 4;
  bool no_allocations = false;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "q46_soak: error: %s\n", message.c_str());
  std::exit(1);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) Fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--threads") o.threads = std::atoi(value().c_str());
    else if (a == "--runs") o.runs = std::atoll(value().c_str());
    else if (a == "--seconds") o.seconds = std::atof(value().c_str());
    else if (a == "--inputs") o.inputs = std::atoi(value().c_str());
    else if (a == "--no-allocations") o.no_allocations = true;
    else if (a.rfind("--", 0) == 0) Fail("unknown option " + a);
    else o.plan = a;
  }
  if (o.plan.empty()) Fail("usage: q46_soak PLAN [--threads N] [--runs N] [--seconds S] [--inputs N]");
  if (o.threads < 1 || o.runs < 1 || o.inputs < 1 || o.seconds < 0) Fail("counts must be positive");
  return o;
}

size_t Count(const int64_t* dims, size_t rank) {
  size_t n = 1;
  for (size_t i = 0; i < rank; ++i) n *= static_cast<size_t>(dims[i]);
  return n;
}

void Check(q46_status st, const q46_context* ctx, const char* what) {
  if (st != Q46_OK) Fail(std::string(what) + ": " + (ctx ? q46_context_last_error(ctx) : "failed"));
}

// Runs input `x` on `ctx` and returns its first output.
std::vector<float> RunOnce(q46_context* ctx, const std::vector<float>& x) {
  Check(q46_context_set_input(ctx, 0, x.data(), x.size()), ctx, "set input");
  Check(q46_context_run(ctx), ctx, "run");
  const float* y;
  size_t n;
  Check(q46_context_output(ctx, 0, &y, &n), ctx, "output");
  return std::vector<float>(y, y + n);
}

struct Memory {
  size_t heap_bytes;
  int64_t allocations;
  long resident_kib;
};

Memory Measure() {
  const struct mallinfo2 m = mallinfo2();
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return {m.uordblks + m.hblkhd, g_allocations.load(), resident * 4};
}

}  // namespace

// Every replaceable unaligned form, so that each allocation is counted and freed by its own pair.
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  q46_model* model;
  const char* error;
  if (q46_model_load_file(o.plan.c_str(), &model, &error) != Q46_OK) Fail(error);
  int64_t dims[8];
  const size_t in_count = Count(dims, q46_model_input_dims(model, 0, dims, 8));

  std::mt19937 rng(46);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<std::vector<float>> inputs(o.inputs, std::vector<float>(in_count));
  for (auto& x : inputs)
    for (float& v : x) v = uniform(rng);
  std::vector<std::vector<float>> want;
  {
    q46_context* ctx;
    Check(q46_context_create(model, &ctx), nullptr, "create context");
    for (const auto& x : inputs) want.push_back(RunOnce(ctx, x));
    q46_context_free(ctx);
  }

  // Each thread: its own context, a warm-up pass over the inputs, then the measured runs; outputs are compared
  // in place (no allocation on the measured path).
  std::atomic<int> warmed{0}, finished{0}, mismatches{0};
  std::atomic<bool> start_measuring{false}, release{false};
  std::atomic<int64_t> total_runs{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.seconds);
  std::vector<q46_context*> contexts(o.threads);
  for (auto& c : contexts) Check(q46_context_create(model, &c), nullptr, "create context");
  auto worker = [&](int t) {
    q46_context* ctx = contexts[t];
    const auto run_and_compare = [&](int64_t i) {
      const auto& x = inputs[(i + t) % o.inputs];
      const auto& y = want[(i + t) % o.inputs];
      if (q46_context_set_input(ctx, 0, x.data(), x.size()) != Q46_OK || q46_context_run(ctx) != Q46_OK) {
        mismatches.fetch_add(1);
        return;
      }
      const float* got;
      size_t n;
      if (q46_context_output(ctx, 0, &got, &n) != Q46_OK || n != y.size() ||
          std::memcmp(got, y.data(), n * sizeof(float)) != 0)
        mismatches.fetch_add(1);
    };
    for (int i = 0; i < o.inputs; ++i) run_and_compare(i);
    warmed.fetch_add(1);
    while (!start_measuring.load()) std::this_thread::yield();
    int64_t i = 0;
    for (; o.seconds > 0 ? std::chrono::steady_clock::now() < deadline : i < o.runs; ++i) run_and_compare(i);
    total_runs.fetch_add(i);
    finished.fetch_add(1);
    while (!release.load()) std::this_thread::yield();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) threads.emplace_back(worker, t);
  while (warmed.load() < o.threads) std::this_thread::yield();
  const Memory before = Measure();
  const auto t0 = std::chrono::steady_clock::now();
  start_measuring = true;
  while (finished.load() < o.threads) std::this_thread::yield();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Memory after = Measure();
  release = true;
  for (auto& th : threads) th.join();
  for (auto* c : contexts) q46_context_free(c);
  q46_model_free(model);

  const long long heap_growth = static_cast<long long>(after.heap_bytes) - static_cast<long long>(before.heap_bytes);
  const long long new_calls = after.allocations - before.allocations;
  std::printf("q46_soak: %d threads x %lld inferences (%.1f s): %d mismatches; after warm-up: heap %+lld bytes, "
              "%lld C++ allocations, resident %ld -> %ld KiB\n",
              o.threads, static_cast<long long>(total_runs.load() / o.threads), elapsed, mismatches.load(),
              heap_growth, new_calls, before.resident_kib, after.resident_kib);
  return mismatches.load() == 0 && heap_growth <= 0 && (new_calls == 0 || !o.no_allocations) ? 0 : 1;
}
