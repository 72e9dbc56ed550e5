// The fast kernels (runtime/kernels/fast/) against the reference kernels, bit for bit, on random shapes and
// values, including NaN, infinities and values far outside the code range. Tests only.
#include "runtime/kernels/fast/fast_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "runtime/arith.h"
#include "runtime/kernels/parallel_for.h"
#include "runtime/shape.h"

namespace q46::kernels {
namespace {

// Pool inputs: random codes; floats with NaN, -infinity, signed zeros (maxima must keep the reference's zero)
// and values of both signs.
void FillPoolInputs(std::mt19937& rng, std::vector<uint8_t>& codes, std::vector<float>& floats) {
  for (size_t k = 0; k < codes.size(); ++k) {
    codes[k] = static_cast<uint8_t>(rng());
    floats[k] = k % 13 == 0   ? NAN
                : k % 17 == 0 ? -INFINITY
                : k % 5 == 0  ? (k % 2 == 0 ? -0.0f : 0.0f)
                              : static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 7;
  }
}

// MaxPool against the reference on codes and floats; returns whether both matched and left the guard elements
// after the outputs as they were.
bool MaxPoolMatches(std::mt19937& rng, Dims4 xs, const Window2d& win, Dims4 ys) {
  constexpr size_t kGuard = 64;
  const size_t n = static_cast<size_t>(ys.size());
  std::vector<uint8_t> xc(static_cast<size_t>(xs.size())), yc(n + kGuard, 0xA5), wc(n + kGuard, 0xA5);
  std::vector<float> xf(xc.size()), yf(n + kGuard, 12345.0f), wf(n + kGuard, 12345.0f);
  FillPoolInputs(rng, xc, xf);
  const MaxPoolColumns columns = MakeMaxPoolColumns(xs, win, ys);
  MaxPool(xc.data(), xs, win, columns, yc.data(), ys);
  MaxPoolRef(xc.data(), xs, win, wc.data(), ys);
  MaxPool(xf.data(), xs, win, columns, yf.data(), ys);
  MaxPoolRef(xf.data(), xs, win, wf.data(), ys);
  return yc == wc && std::memcmp(yf.data(), wf.data(), yf.size() * sizeof(float)) == 0;
}

TEST(MaxPool2x2, MatchesTheReferenceOnCodesAndFloats) {
  std::mt19937 rng(2);
  Window2d win;
  win.kh = win.kw = win.sh = win.sw = 2;
  // Up to 40 outputs a row (16-wide runs and tails), odd sizes; then many rows (three blocks of rows for codes),
  // and rows wider than a block.
  std::vector<Dims4> shapes;
  for (int i = 0; i < 50; ++i) shapes.push_back({1 + i % 2, 1 + i % 5, 2 + i % 9, 2 + (i * 7) % 79});
  for (const Dims4& xs : {Dims4{2, 37, 9, 30}, Dims4{1, 300, 4, 4}, Dims4{1, 1, 2, 8194}, Dims4{1, 2, 3, 9001}})
    shapes.push_back(xs);
  for (const Dims4& xs : shapes) {
    const Dims4 ys{xs.n, xs.c, xs.h / 2, xs.w / 2};
    ASSERT_TRUE(AcceptsMaxPool2x2(xs, win, ys));
    std::vector<uint8_t> xc(static_cast<size_t>(xs.size())), yc(static_cast<size_t>(ys.size())), wc(yc.size());
    std::vector<float> xf(xc.size()), yf(yc.size()), wf(yc.size());
    FillPoolInputs(rng, xc, xf);
    MaxPool2x2(xc.data(), xs, yc.data(), ys);
    MaxPoolRef(xc.data(), xs, win, wc.data(), ys);
    EXPECT_EQ(yc, wc);
    MaxPool2x2(xf.data(), xs, yf.data(), ys);
    MaxPoolRef(xf.data(), xs, win, wf.data(), ys);
    EXPECT_EQ(0, std::memcmp(yf.data(), wf.data(), yf.size() * sizeof(float)));
  }
  Window2d padded = win;
  padded.pad_t = 1;
  EXPECT_FALSE(AcceptsMaxPool2x2({1, 1, 4, 4}, padded, {1, 1, 2, 2}));
  EXPECT_FALSE(AcceptsMaxPool2x2({1, 1, 5, 5}, win, {1, 1, 3, 3}));  // ceil mode
}

// Random windows (padding, stride, dilation, ceil-mode output sizes) on codes and on floats with NaN and -inf.
TEST(MaxPool, MatchesTheReferenceOnCodesAndFloats) {
  std::mt19937 rng(2);
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  int ran = 0;
  for (int i = 0; i < 300; ++i) {
    Window2d win;
    win.kh = pick(1, 4), win.kw = pick(1, 4), win.sh = pick(1, 3), win.sw = pick(1, 3);
    win.dh = pick(1, 2), win.dw = pick(1, 2);
    win.pad_t = pick(0, win.kh - 1), win.pad_l = pick(0, win.kw - 1);
    win.pad_b = pick(0, win.kh - 1), win.pad_r = pick(0, win.kw - 1);
    const Dims4 xs{pick(1, 2), pick(1, 5), pick(1, 17), pick(1, 75)};  // stride 2 reaches 16-output runs
    const int64_t span_h = xs.h + win.pad_t + win.pad_b - (win.kh - 1) * win.dh - 1;
    const int64_t span_w = xs.w + win.pad_l + win.pad_r - (win.kw - 1) * win.dw - 1;
    if (span_h < 0 || span_w < 0) continue;
    const bool ceil_mode = pick(0, 1) == 1;  // the last window may start in the padding's last stride
    const Dims4 ys{xs.n, xs.c, (span_h + (ceil_mode ? win.sh - 1 : 0)) / win.sh + 1,
                   (span_w + (ceil_mode ? win.sw - 1 : 0)) / win.sw + 1};
    EXPECT_TRUE(MaxPoolMatches(rng, xs, win, ys))
        << "window " << win.kh << "x" << win.kw << " stride " << win.sh << "," << win.sw;
    ++ran;
  }
  EXPECT_GT(ran, 200);
  // Tap columns that reach no output ("same" pools on maps narrower than the padding), then a window of 19 tap
  // columns, padded on both sides.
  Window2d same;
  same.kh = same.kw = 5, same.sh = same.sw = 1, same.pad_t = same.pad_l = same.pad_b = same.pad_r = 2;
  EXPECT_TRUE(MaxPoolMatches(rng, {1, 2, 3, 1}, same, {1, 2, 3, 1}));
  same.kh = same.kw = 13, same.pad_t = same.pad_l = same.pad_b = same.pad_r = 6;
  EXPECT_TRUE(MaxPoolMatches(rng, {1, 2, 5, 5}, same, {1, 2, 5, 5}));
  Window2d narrow;
  narrow.kh = narrow.kw = 3, narrow.sh = narrow.sw = 1, narrow.pad_l = 2;
  EXPECT_TRUE(MaxPoolMatches(rng, {1, 1, 3, 1}, narrow, {1, 1, 1, 1}));
  Window2d wide;
  wide.kh = 2, wide.kw = 19, wide.sh = 1, wide.sw = 2, wide.pad_l = 3, wide.pad_r = 5;
  EXPECT_TRUE(MaxPoolMatches(rng, {1, 2, 3, 61}, wide, {1, 2, 2, 26}));
  // ResNets' stem pool (3x3, stride 2, padded by 1: MaxThreeRowsOfThreeStride2's vectors, and
  // MaxRowOfThreeStride2's on the top and bottom rows, which have two rows of taps), on a row of 56 outputs; then
  // rows two apart and a window of four rows, three of them inside on the first and last output rows.
  Window2d stem;
  stem.kh = stem.kw = 3, stem.sh = stem.sw = 2, stem.pad_t = stem.pad_l = stem.pad_b = stem.pad_r = 1;
  EXPECT_TRUE(MaxPoolMatches(rng, {1, 3, 9, 112}, stem, {1, 3, 5, 56}));
  stem.dh = 2;
  EXPECT_TRUE(MaxPoolMatches(rng, {1, 2, 11, 75}, stem, {1, 2, 5, 38}));
  stem.dh = 1, stem.kh = 4;
  EXPECT_TRUE(MaxPoolMatches(rng, {1, 2, 8, 75}, stem, {1, 2, 4, 38}));
}

FloatActivation WithParameters(FloatActivation::Kind kind, float alpha, float beta) {
  FloatActivation a{kind};
  a.alpha = alpha, a.beta = beta;
  return a;
}

const FloatActivation kActivations[] = {FloatActivation{},
                                        FloatActivation{FloatActivation::kClip, 0.0f, 6.0f},
                                        FloatActivation{FloatActivation::kClip, -1.0f, INFINITY},
                                        FloatActivation{FloatActivation::kSigmoid},
                                        FloatActivation{FloatActivation::kTanh},
                                        WithParameters(FloatActivation::kLeakyRelu, 0.01f, 0),
                                        WithParameters(FloatActivation::kHardSigmoid, 0.2f, 0.5f),
                                        WithParameters(FloatActivation::kHardSwish, 1.0f / 6, 0.5f)};

const BinaryKind kBinaryKinds[] = {BinaryKind::kAdd, BinaryKind::kSub, BinaryKind::kMul, BinaryKind::kDiv,
                                   BinaryKind::kPRelu};

// Every operation and activation, on values that include NaN, infinities, signed zeros and clip-bound ties.
TEST(BinaryFlat, MatchesTheReference) {
  std::mt19937 rng(3);
  const float specials[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 6.0f, -1.0f};
  std::vector<float> a(1001), b(a.size());
  for (size_t k = 0; k < a.size(); ++k) {
    a[k] = k % 11 == 0 ? specials[k / 11 % 7] : static_cast<float>(static_cast<int>(rng() % 4001) - 2000) / 97;
    b[k] = k % 7 == 0 ? specials[k / 7 % 7] : static_cast<float>(static_cast<int>(rng() % 4001) - 2000) / 89;
  }
  const Dims d{1, static_cast<int64_t>(a.size())};
  for (const BinaryKind kind : kBinaryKinds)
    for (const FloatActivation act : kActivations) {
      std::vector<float> got(a.size()), want(a.size());
      BinaryFlat(kind, a.data(), b.data(), static_cast<int64_t>(a.size()), act, got.data());
      BinaryF32Ref(kind, a.data(), d, b.data(), d, act, want.data(), d);
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
          << "kind " << static_cast<int>(kind) << " activation " << act.kind;
    }
}

// Values for the float loops: random of both signs, NaN, infinities, signed zeros, clip-bound ties, and the ends of
// the sigmoid's Exp range (e^v held at its bounds past -87.3 and 88.4, denormals, huge magnitudes).
std::vector<float> FloatLoopInputs(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const float specials[] = {NAN,    INFINITY, -INFINITY, 0.0f,    -0.0f,  6.0f,  -1.0f, 87.5f, -87.5f,
                            88.5f,  -88.5f,   100.0f,    -100.0f, 1e30f,  -1e30f, 1e-40f, 17.0f, -17.0f};
  constexpr size_t kSpecials = sizeof specials / sizeof specials[0];
  std::vector<float> v(n);
  for (size_t k = 0; k < n; ++k)
    v[k] = k % 11 == 0 ? specials[k / 11 % kSpecials] : static_cast<float>(static_cast<int>(rng() % 4001) - 2000) / 97;
  return v;
}

TEST(UnaryFlat, MatchesTheReference) {
  const std::vector<float> x = FloatLoopInputs(1003, 5);
  for (const FloatActivation act : kActivations) {
    std::vector<float> got(x.size()), want(x.size());
    UnaryFlat(x.data(), static_cast<int64_t>(x.size()), act, got.data());
    UnaryF32Ref(x.data(), static_cast<int64_t>(x.size()), act, want.data());
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float))) << "activation " << act.kind;
  }
}

// Per-block broadcasts (either operand full) against the reference's general walk; shapes without long enough
// constant blocks are refused.
TEST(BinaryBlocks, MatchesTheReference) {
  const Dims y{2, 5, 3, 7};
  const std::vector<Dims> per_block = {{5, 1, 1}, {1, 5, 1, 1}, {2, 5, 1, 1}, {2, 1, 1, 1}, {1}};
  for (const Dims& other : per_block)
    for (const bool other_first : {false, true}) {
      const Dims &ad = other_first ? other : y, &bd = other_first ? y : other;
      const std::optional<BlockBroadcast> bb = FindBlockBroadcast(ad, bd, y);
      ASSERT_TRUE(bb.has_value()) << "other operand of rank " << other.size() << ", first " << other_first;
      EXPECT_EQ(bb->scalar_first, other_first);
      int64_t other_size = 1;
      for (int64_t d : other) other_size *= d;
      const std::vector<float> full = FloatLoopInputs(2 * 5 * 3 * 7, 6), part = FloatLoopInputs(other_size, 7);
      const float *a = other_first ? part.data() : full.data(), *b = other_first ? full.data() : part.data();
      for (const BinaryKind kind : kBinaryKinds)
        for (const FloatActivation act : kActivations) {
          std::vector<float> got(full.size()), want(full.size());
          BinaryBlocks(kind, *bb, a, b, 0, static_cast<int64_t>(bb->offsets.size()), act, got.data());
          BinaryF32Ref(kind, a, ad, b, bd, act, want.data(), y);
          EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
              << "kind " << static_cast<int>(kind) << " activation " << act.kind << " other rank " << other.size();
        }
    }
  EXPECT_FALSE(FindBlockBroadcast(y, {7}, y).has_value());              // varies along the last dim
  EXPECT_FALSE(FindBlockBroadcast(y, {5, 3, 1}, y).has_value());        // blocks of 7: too short
  EXPECT_FALSE(FindBlockBroadcast(y, y, y).has_value());                // flat
  EXPECT_FALSE(FindBlockBroadcast({2, 1, 3, 7}, {1, 5, 1, 1}, y).has_value());  // neither operand full
}

// QuantizeRow against arith::Quantize: values on and a few ulps around every tie (x = (k + 1/2) scale) among plain
// values, values past the clamp, NaN and infinities, subnormals, and scales whose inverse is inexact, tiny or
// overflows.
TEST(QuantizeRow, MatchesArithQuantize) {
  std::mt19937 rng(3);
  const std::tuple<int, int, float> cases[] = {{23, 0, 0.05f},     {23, 11, 0.1f}, {256, 128, 0.3f}, {16, 3, 1.0f},
                                               {23, 11, 0.0731f},  {256, 0, 3e-5f}, {23, 5, 1.0f / 3}, {256, 128, 1e-37f},
                                               {23, 11, 2e-39f},   {256, 64, 1e30f}};
  for (const auto& [levels, zp, scale] : cases) {
    std::vector<float> x;
    for (float v : {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1e-45f})
      x.push_back(v);
    for (int i = 0; i < 100000; ++i) x.push_back(std::uniform_real_distribution<float>(-40.0f, 40.0f)(rng));
    for (int i = 0; i < 2000; ++i) x.push_back(static_cast<float>(i % 200) * 0.05f + 0.025f);  // ties at scale 0.05
    for (int k = -300; k <= 300; ++k) {  // ties at this scale and their neighbours, among plain values
      float tie = (static_cast<float>(k) + 0.5f) * scale;
      for (int step = 0; step < 3; ++step) tie = std::nextafter(tie, -INFINITY);
      for (int step = 0; step < 7; ++step, tie = std::nextafter(tie, INFINITY)) x.push_back(tie);
      for (int i = 0; i < 60; ++i) x.push_back(std::uniform_real_distribution<float>(-300.0f, 300.0f)(rng) * scale);
    }
    const arith::CodeRange r = arith::ActivationCodes(levels);
    std::vector<uint8_t> got(x.size());
    QuantizeRow(x.data(), static_cast<int64_t>(x.size()), scale, zp, r.lo, r.hi, got.data());
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(got[i], arith::Quantize(x[i], scale, zp, r)) << "x = " << x[i] << " scale " << scale;
  }
}

// The ranges cover [0, n) once, none shorter than the grain unless there is only one range.
TEST(ParallelRanges, CoverEveryElementOnceInGrains) {
  for (const int64_t n : {0, 1, 7, 1000, 65536, 100003})
    for (const int64_t grain : {1, 100, 1 << 16})
      for (const int threads : {1, 2, 3, 8}) {
        std::vector<int> hits(static_cast<size_t>(n), 0);
        std::atomic<int64_t> ranges{0}, shortest{n};
        ParallelRanges(n, grain, threads, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
          ++ranges;
          for (int64_t s = shortest; end - begin < s && !shortest.compare_exchange_weak(s, end - begin);) {
          }
        });
        const std::string where = std::to_string(n) + " elements, grain " + std::to_string(grain) + ", " +
                                  std::to_string(threads) + " threads";
        EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; })) << where;
        EXPECT_LE(ranges, threads) << where;
        if (ranges > 1) {
          EXPECT_GE(shortest, grain) << where;
        }
      }
}

// The balanced ranges cover [0, n) once however the threads share them; where there is more than one share, no
// range is longer than a slice (an eighth of a share, at least the grain). 20 threads: more shares than fit on the
// stack.
TEST(ParallelRangesBalanced, CoverEveryElementOnce) {
  for (const int64_t n : {0, 1, 7, 1000, 65536, 100003})
    for (const int64_t grain : {1, 100, 1 << 16})
      for (const int threads : {1, 2, 3, 8, 20}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int64_t> longest{0};
        ParallelRangesBalanced(n, grain, threads, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
          for (int64_t l = longest; end - begin > l && !longest.compare_exchange_weak(l, end - begin);) {
          }
        });
        const std::string where = std::to_string(n) + " elements, grain " + std::to_string(grain) + ", " +
                                  std::to_string(threads) + " threads";
        EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](const std::atomic<int>& h) { return h == 1; })) << where;
        const int64_t shares = std::clamp<int64_t>(n / grain, 1, threads);
        if (shares > 1) {
          EXPECT_LE(longest, std::max(grain, n / shares / 8)) << where;
        }
      }
  // The first share's items slow, so that the other threads likely take slices from its back (each item still
  // once, whether they do or not).
  std::vector<std::atomic<int>> hits(256);
  ParallelRangesBalanced(256, 1, 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (i < 64) std::this_thread::sleep_for(std::chrono::microseconds(100));
      ++hits[static_cast<size_t>(i)];
    }
  });
  EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](const std::atomic<int>& h) { return h == 1; }));
}

// With a prologue: each thread's runs once, on its own share, [n * part / threads, n * (part + 1) / threads) (what
// PackedConv::Run takes a thread's share to be), before any body call on that thread; the items still each once,
// their shares' slow first items likely taken by the others.
TEST(ParallelRangesBalanced, PrologueRunsFirstOnEachThreadsShare) {
  for (const int threads : {1, 2, 3, 4}) {
    constexpr int64_t kItems = 256;
    std::vector<std::atomic<int>> hits(kItems), covered(kItems), prologues(static_cast<size_t>(threads));
    std::atomic<bool> body_before_prologue{false}, other_share{false};
    ParallelRangesBalanced(
        kItems, 1, threads,
        [&](int part, int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) ++covered[static_cast<size_t>(i)];
          ++prologues[static_cast<size_t>(part)];
          if (begin != kItems * part / threads || end != kItems * (part + 1) / threads) other_share = true;
        },
        [&](int part, int64_t begin, int64_t end) {
          if (prologues[static_cast<size_t>(part)] != 1) body_before_prologue = true;
          for (int64_t i = begin; i < end; ++i) {
            if (i % (kItems / threads) < 16) std::this_thread::sleep_for(std::chrono::microseconds(50));
            ++hits[static_cast<size_t>(i)];
          }
        });
    const auto once = [](const std::atomic<int>& h) { return h == 1; };
    EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), once)) << threads << " threads";
    EXPECT_TRUE(std::all_of(covered.begin(), covered.end(), once)) << threads << " threads";
    EXPECT_TRUE(std::all_of(prologues.begin(), prologues.end(), once)) << threads << " threads";
    EXPECT_FALSE(body_before_prologue) << threads << " threads";
    EXPECT_FALSE(other_share) << threads << " threads";
  }
}

// The depthwise kernel against ConvQuantRef with the reference op's output stage (RefQuantConv in quant_conv_op.cc), on
// random shapes (strides 1-3, dilation, asymmetric padding, 1x1 to 5x5 windows, a batch of 2; trial 7 spans
// several bands of rows), random and extreme codes (every code and weight at its maximum magnitude; trial 13 at
// 8 bits with int16 sums at their proven limit, 255 x 128), codes and float outputs, int32 and int16 sums, and
// the planes in two calls (as two threads run them).
TEST(DepthwiseConvQuant, MatchesTheReference) {
  std::mt19937 rng(11);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1)); };
  for (int trial = 0; trial < 60; ++trial) {
    const bool extreme = trial % 5 == 0 || trial == 13, codes_out = trial % 3 != 0;
    const int32_t levels = trial % 4 == 0 || trial == 13 ? 256 : 23, max_code = levels - 1;
    const int32_t max_w = levels == 256 ? 127 : 11;
    Window2d win;
    win.kh = pick(1, 5), win.kw = pick(1, 5), win.sh = pick(1, 3), win.sw = pick(1, 3), win.dh = pick(1, 2),
    win.dw = pick(1, 2);
    win.pad_t = pick(0, 2), win.pad_l = pick(0, 2), win.pad_b = pick(0, 2), win.pad_r = pick(0, 2);
    if (trial == 7) win.sh = win.sw = 1;
    if (trial == 13) win.kh = 1, win.kw = 2;
    const Dims4 xs{2, pick(1, 5), trial == 7 ? 60 : pick(12, 40), trial == 7 ? 300 : pick(12, 70)};
    const Dims4 ys{xs.n, xs.c, WindowOutputSize(xs.h, win.kh, win.sh, win.dh, win.pad_t, win.pad_b),
                   WindowOutputSize(xs.w, win.kw, win.sw, win.dw, win.pad_l, win.pad_r)};
    if (ys.h < 1 || ys.w < 1) continue;
    std::vector<uint8_t> x(static_cast<size_t>(xs.size()));
    for (uint8_t& v : x) v = static_cast<uint8_t>(extreme ? max_code : pick(0, max_code));
    std::vector<int8_t> w(static_cast<size_t>(xs.c * win.kh * win.kw));
    for (int8_t& v : w) v = static_cast<int8_t>(extreme ? (rng() % 2 ? max_w : -max_w) : pick(-max_w, max_w));
    if (trial == 13)  // per channel 127 and -1, the rest 0: sum |w| = 128
      for (size_t k = 0; k < w.size(); ++k) {
        const size_t tap = k % static_cast<size_t>(win.kh * win.kw);
        w[k] = static_cast<int8_t>(tap == 0 ? 127 : tap == 1 ? -1 : 0);
      }
    qconv::OutputStage stage;
    stage.codes_out = codes_out;
    stage.zero_point = pick(0, max_code), stage.lo = pick(0, 3), stage.hi = max_code - pick(0, 3);
    stage.activation = trial % 2 ? FloatActivation{FloatActivation::kClip, 0.0f, 6.0f} : FloatActivation{};
    int64_t max_products = 0;
    for (int64_t c = 0; c < xs.c; ++c) {
      int64_t abs_sum = 0;
      for (int64_t k = 0; k < win.kh * win.kw; ++k)
        abs_sum += std::abs(w[static_cast<size_t>(c * win.kh * win.kw + k)]);
      max_products = std::max(max_products, max_code * abs_sum);
      // Bias and scale of the size of the sums, so that requantized codes spread over the range (a wrong sum shows)
      // rather than sit at a clamp.
      const int32_t spread = static_cast<int32_t>(std::max<int64_t>(max_code * abs_sum / 4, 1));
      stage.bias.push_back(pick(-spread, spread));
      stage.scale.push_back(static_cast<float>(max_code) / static_cast<float>(spread * pick(4, 16)));
    }
    const uint8_t pad_code = static_cast<uint8_t>(pick(0, max_code));
    const size_t n = static_cast<size_t>(ys.size());
    std::vector<uint8_t> want_codes(n), got_codes(n);
    std::vector<float> want_floats(n), got_floats(n);
    const auto reference_stage = [&](int64_t i, int64_t c, int32_t acc) {
      if (codes_out)
        want_codes[static_cast<size_t>(i)] = static_cast<uint8_t>(
            arith::Requantize(acc, stage.scale[static_cast<size_t>(c)], stage.zero_point, {stage.lo, stage.hi}));
      else
        want_floats[static_cast<size_t>(i)] =
            Activate(arith::DequantizeAccumulator(acc, stage.scale[static_cast<size_t>(c)]), stage.activation);
    };
    ConvQuantRef(x.data(), xs, w.data(), stage.bias.data(), win, xs.c, pad_code, ys, reference_stage);
    if (trial == 13) {
      EXPECT_EQ(max_products, 255 * 128);
    }
    for (const bool int16_sums : {false, true}) {
      if (int16_sums && max_products > 32767) continue;
      void* y = codes_out ? static_cast<void*>(got_codes.data()) : static_cast<void*>(got_floats.data());
      std::vector<uint8_t> scratch(DepthwiseScratchBytes(xs, ys, win) + 64);
      uint8_t* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
      const int64_t planes = xs.n * xs.c, half = planes / 2;
      DepthwiseConvQuant(x.data(), xs, w.data(), win, pad_code, stage, int16_sums, y, ys, 0, half, aligned);
      DepthwiseConvQuant(x.data(), xs, w.data(), win, pad_code, stage, int16_sums, y, ys, half, planes, aligned);
      SCOPED_TRACE(testing::Message() << "trial " << trial << " int16 " << int16_sums << " k " << win.kh << "x"
                                      << win.kw << " s " << win.sh << "x" << win.sw << " x " << xs.h << "x" << xs.w);
      if (codes_out)
        EXPECT_EQ(got_codes, want_codes);
      else
        EXPECT_EQ(0, std::memcmp(got_floats.data(), want_floats.data(), n * sizeof(float)));
    }
  }
}

}  // namespace
}  // namespace q46::kernels
