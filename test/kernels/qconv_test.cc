// Every fast integer-convolution microkernel this CPU can run, against the reference kernel (ConvQuantRef with
// arith's output stage), bit for bit: random shapes (odd sizes, tails, padding, strides, dilation, groups,
// batches), every kind of precision, random and extreme codes, reductions past the int16 flush interval, codes and
// float outputs, one and several threads. Built for x86 here and for aarch64 by test/cross/neon_qemu_test.sh (run
// under qemu). Tests only.
#include "runtime/kernels/qconv/qconv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "runtime/arith.h"

namespace q46::kernels::qconv {
namespace {

struct Case {
  Dims4 xs;
  int64_t cout, groups;
  Window2d win;
  arith::Precision prec;
  // kAlternating*: input channels alternate (even: codes at the maximum and the weights' named extreme; odd: codes
  // 0 and the other extreme), so the products of one sign are as large as they get and those of the other vanish.
  // kHeavyLateLane: codes at the maximum, weights at the top only in the second int16 lane of each quad (input
  // channels 2 and 3 of 4) of the second half of the input channels, 0 elsewhere: one lane of the later steps
  // reaches the bound while the others stay at 0.
  enum Codes {
    kRandom, kMaxPositive, kMaxNegative, kAlternatingPositive, kAlternatingNegative, kHeavyLateLane
  } codes = kRandom;
  bool codes_out = true;
  FloatActivation act;
};

std::string Describe(const Case& c) {
  const Window2d& w = c.win;
  return "x " + std::to_string(c.xs.n) + "x" + std::to_string(c.xs.c) + "x" + std::to_string(c.xs.h) + "x" +
         std::to_string(c.xs.w) + " -> " + std::to_string(c.cout) + " groups " + std::to_string(c.groups) +
         " kernel " + std::to_string(w.kh) + "x" + std::to_string(w.kw) + " stride " + std::to_string(w.sh) + "," +
         std::to_string(w.sw) + " dilation " + std::to_string(w.dh) + "," + std::to_string(w.dw) + " pads " +
         std::to_string(w.pad_t) + "," + std::to_string(w.pad_l) + "," + std::to_string(w.pad_b) + "," +
         std::to_string(w.pad_r) + " (N_x, N_w) = (" + std::to_string(c.prec.nx) + ", " + std::to_string(c.prec.nw) +
         ") codes " + std::to_string(c.codes) + (c.codes_out ? " codes out" : " float out");
}

Dims4 OutputDims(const Case& c) {
  const Window2d& w = c.win;
  return {c.xs.n, c.cout, (c.xs.h + w.pad_t + w.pad_b - (w.kh - 1) * w.dh - 1) / w.sh + 1,
          (c.xs.w + w.pad_l + w.pad_r - (w.kw - 1) * w.dw - 1) / w.sw + 1};
}

// Runs `c` through every applicable microkernel and the reference; returns how many kernels ran it (and how many
// of those were winograd tiles, in winograd_runs[Geometry::tile_rows]; [0]: the direct layouts').
int CheckCase(const Case& c, std::mt19937& rng, int* winograd_runs = nullptr) {
  const Dims4 ys = OutputDims(c);
  const int32_t max_code = c.prec.nx - 1;
  const arith::CodeRange wr = arith::WeightCodes(c.prec.nw);
  const int32_t max_weight = std::max(-wr.lo, wr.hi);
  const int64_t cin_g = c.xs.c / c.groups, per_oc = cin_g * c.win.kh * c.win.kw;

  std::uniform_int_distribution<int> code(0, max_code), weight(wr.lo, wr.hi);
  std::vector<uint8_t> x(static_cast<size_t>(c.xs.size()));
  std::vector<int8_t> w(static_cast<size_t>(c.cout * per_oc));
  const uint8_t pad = c.codes == Case::kRandom ? static_cast<uint8_t>(code(rng)) : static_cast<uint8_t>(max_code);
  const bool alternating = c.codes == Case::kAlternatingPositive || c.codes == Case::kAlternatingNegative;
  const auto even_channel = [&](int64_t i, int64_t plane) { return i / plane % 2 == 0; };  // NCHW or OIHW index
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = c.codes == Case::kRandom ? static_cast<uint8_t>(code(rng))
           : !alternating || even_channel(static_cast<int64_t>(i), c.xs.h * c.xs.w) ? static_cast<uint8_t>(max_code)
                                                                                     : 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (c.codes == Case::kHeavyLateLane) {
      const int64_t ic = static_cast<int64_t>(i) / (c.win.kh * c.win.kw) % cin_g;
      w[i] = static_cast<int8_t>(ic % 4 >= 2 && 2 * ic >= cin_g ? wr.hi : 0);
      continue;
    }
    const bool high = c.codes == Case::kMaxPositive ||
                      (alternating && even_channel(static_cast<int64_t>(i), c.win.kh * c.win.kw) ==
                                          (c.codes == Case::kAlternatingPositive));
    w[i] = static_cast<int8_t>(c.codes == Case::kRandom ? weight(rng) : high ? wr.hi : wr.lo);
  }

  OutputStage stage;
  stage.codes_out = c.codes_out;
  stage.activation = c.act;
  std::uniform_int_distribution<int> bias(-5000, 5000);
  std::uniform_real_distribution<float> spread(0.3f, 3.0f);
  const float typical = static_cast<float>(max_code) * max_weight * std::sqrt(static_cast<float>(per_oc)) + 1.0f;
  for (int64_t oc = 0; oc < c.cout; ++oc) {
    stage.bias.push_back(bias(rng));
    stage.scale.push_back(spread(rng) * (c.codes_out ? 128.0f / typical : 1.0f / typical));
  }
  if (c.codes_out) {
    const arith::CodeRange full = arith::ActivationCodes(c.prec.nx);
    std::uniform_int_distribution<int> lo(full.lo, full.hi / 3), hi(2 * full.hi / 3, full.hi);
    stage.zero_point = code(rng), stage.lo = lo(rng), stage.hi = hi(rng);
  }

  const size_t y_bytes = static_cast<size_t>(ys.size()) * (c.codes_out ? 1 : sizeof(float));
  std::vector<unsigned char> want(y_bytes);
  ConvQuantRef(x.data(), c.xs, w.data(), stage.bias.data(), c.win, c.groups, pad, ys,
               [&](int64_t i, int64_t ch, int32_t acc) {
                 const size_t at = static_cast<size_t>(i);
                 if (c.codes_out) {
                   want[at] = static_cast<unsigned char>(
                       arith::Requantize(acc, stage.scale[ch], stage.zero_point, {stage.lo, stage.hi}));
                 } else {
                   const float v = Activate(arith::DequantizeAccumulator(acc, stage.scale[ch]), c.act);
                   std::memcpy(&want[at * sizeof(float)], &v, sizeof(v));
                 }
               });

  int ran = 0;
  // Every layout: quad-planar and kx-folded (for a one-column kernel only its column stride differs), and
  // winograd (its own geometry, made from either) where the kernel has it.
  for (const KxFold fold : {KxFold::kNever, KxFold::kAlways}) {
    const Geometry g = MakeGeometry(c.xs, ys, c.win, c.groups, fold);
    for (const Microkernel* k : Microkernels()) {
      if (!IsaWithin(k->isa, DetectIsa())) continue;
      for (const TileSet* tiles : k->tile_sets()) {
        const int rows = tiles->winograd_rows;
        if (tiles->name == nullptr || (rows > 0 && fold == KxFold::kAlways)) continue;
        PackedConv conv;
        std::string why;
        if (!PackedConv::Create(*k, g, w.data(), max_code, max_weight, stage, &conv, &why, tiles)) {
          // Winograd: transformed codes (up to 2 or 4 max_code) must be bytes, transformed weights (up to 3 or 9
          // max_weight) int8, and the method exact on them (int16 methods: their pairs int16).
          const int32_t max_v = WinogradMaxV(rows, max_code), max_u = WinogradUnitWeights(rows) * max_weight;
          if (rows > 0)
            EXPECT_TRUE(!WinogradApplies(c.win, rows) || !WinogradFitsBytes(max_v, max_u) ||
                        k->flush_steps(max_v, max_u) == 0)
                << k->name << " declined winograd on " << Describe(c) << ": " << why;
          else
            EXPECT_EQ(c.prec.nx, 256) << k->name << " declined " << Describe(c) << ": " << why;
          continue;
        }
        if (winograd_runs != nullptr) ++winograd_runs[rows];
        for (int threads : {1, 3}) {
          // Guard bytes past the output and the scratch: no store may reach them.
          constexpr size_t kGuard = 256;
          std::vector<uint8_t> scratch(conv.scratch_bytes(threads) + kGuard, 0xCD);
          std::vector<unsigned char> got(y_bytes + kGuard, 0xAB);
          conv.Run(x.data(), pad, got.data(), scratch.data(), threads);
          const auto diff = std::mismatch(want.begin(), want.end(), got.begin());
          EXPECT_TRUE(diff.first == want.end())
              << conv.name() << " differs from the reference at byte " << (diff.first - want.begin()) << " of "
              << y_bytes << " (" << threads << " threads) on " << Describe(c);
          EXPECT_TRUE(std::all_of(got.begin() + static_cast<std::ptrdiff_t>(y_bytes), got.end(),
                                  [](unsigned char b) { return b == 0xAB; }))
              << conv.name() << " wrote past the output (" << threads << " threads) on " << Describe(c);
          EXPECT_TRUE(std::all_of(scratch.end() - kGuard, scratch.end(), [](uint8_t b) { return b == 0xCD; }))
              << conv.name() << " wrote past its scratch (" << threads << " threads) on " << Describe(c);
        }
        ++ran;
      }
    }
  }
  return ran;
}

// The kernels with winograd tiles that this CPU runs.
int64_t WinogradKernels() {
  const std::vector<const Microkernel*> kernels = Microkernels();
  return std::count_if(kernels.begin(), kernels.end(), [](const Microkernel* k) { return k->winograd.name != nullptr; });
}

const arith::Precision kPrecisions[] = {{23, 23}, {5, 127}, {127, 5}, {15, 37}, {16, 16}, {256, 256}, {3, 3}};

// The registry lists only kernels this CPU can execute: each ISA's list is built by code compiled for that ISA, so
// on a CPU without AVX-512 merely asking for the AVX-512 list died with SIGILL (found on a Zen 3).
TEST(QConv, RegistryListsOnlyKernelsThisCpuRuns) {
  const std::vector<const Microkernel*> kernels = Microkernels();
  EXPECT_FALSE(kernels.empty() && DetectIsa() != Isa::kRef);
  for (const Microkernel* k : kernels) EXPECT_TRUE(IsaWithin(k->isa, DetectIsa())) << k->name;
}

TEST(QConv, EveryKernelMatchesTheReferenceOnRandomShapes) {
  std::mt19937 rng(4646);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int ran = 0, winograd_runs[3] = {};
  for (int i = 0; i < 300; ++i) {
    Case c;
    c.groups = pick(1, 4) == 4 ? pick(2, 3) : 1;
    c.xs = {pick(1, 2), c.groups * pick(1, 21), pick(1, 19), pick(1, 40)};
    c.cout = c.groups * pick(1, 14);
    Window2d& w = c.win;
    w.kh = pick(1, 4), w.kw = pick(1, 4), w.sh = pick(1, 3), w.sw = pick(1, 3), w.dh = pick(1, 2), w.dw = pick(1, 2);
    w.pad_t = pick(0, 2), w.pad_l = pick(0, 2), w.pad_b = pick(0, 2), w.pad_r = pick(0, 2);
    c.prec = kPrecisions[i % std::size(kPrecisions)];
    c.codes = static_cast<Case::Codes>(pick(0, 5) / 2 % 3);
    c.codes_out = pick(0, 3) != 0;
    if (!c.codes_out) c.act = {static_cast<FloatActivation::Kind>(pick(0, 3)), -1.5f, 2.5f};
    if (pick(0, 2) == 0) {  // winograd's shapes, often: along rows, and half of those two by two
      w.kw = 3, w.sw = w.dw = w.sh = 1;
      if (pick(0, 1) == 0) w.kh = 3, w.dh = 1;
    }
    if (c.xs.h + w.pad_t + w.pad_b < (w.kh - 1) * w.dh + 1 || c.xs.w + w.pad_l + w.pad_r < (w.kw - 1) * w.dw + 1)
      continue;
    ran += CheckCase(c, rng, winograd_runs);
  }
  EXPECT_GT(ran, 300) << "too few kernel runs: does this CPU have AVX2?";
  EXPECT_TRUE(WinogradKernels() == 0 || (winograd_runs[1] > 40 && winograd_runs[2] > 20))
      << winograd_runs[1] << " winograd runs along rows, " << winograd_runs[2] << " two by two";
}

// Winograd tiles at their accumulation bound: every code at its maximum and every weight at one extreme makes
// transform 1 (two by two: 5) sum 2 max_code times 3 max_weight (4 max_code times 9 max_weight) in every product
// (at (23, 23): 44 * 33, pairs of 2904, 11 steps to the int16 limit; 88 * 99, pairs of 17424, 1 step);
// alternating channels (maximum codes and one extreme, zero codes and the other) make every pair's product of one
// sign that large and the other's 0, so the sums reach the bound WinogradChunks allows for weights of both signs
// (1452 a pair, 22 steps at (23, 23) along rows), positive or negative; one heavy lane in the later steps catches
// a bound worked out from the wrong lane or step. Over reductions of 1 to 100 quads (4 to 400 input channels of a
// 3x3 kernel), odd and even widths and heights, every padding, both kinds of output; both tile forms of both
// layouts of every kernel that has them, two by two where the precision allows it ((23, 23) and (16, 16)).
TEST(QConv, WinogradTilesAtTheirBound) {
  std::mt19937 rng(23);
  int ran = 0, winograd_runs[3] = {};
  for (const arith::Precision prec : {arith::Precision{23, 23}, arith::Precision{16, 16}, arith::Precision{127, 5},
                                      arith::Precision{15, 37}})
    for (const int64_t cin : {4, 33, 44, 48, 400})
      for (const Case::Codes codes : {Case::kMaxPositive, Case::kMaxNegative, Case::kAlternatingPositive,
                                      Case::kAlternatingNegative, Case::kHeavyLateLane})
        for (const int64_t width : {1, 2, 7, 16, 35}) {
          Case c;
          c.xs = {1, cin, width == 7 ? 4 : 5, width};
          c.cout = 7;
          c.groups = 1;
          c.win.kh = c.win.kw = 3;
          c.win.pad_t = c.win.pad_b = c.win.pad_l = c.win.pad_r = width < 3 ? 1 : width % 3;
          c.prec = prec;
          c.codes = codes;
          c.codes_out = width != 16;
          ran += CheckCase(c, rng, winograd_runs);
        }
  EXPECT_GT(ran, 0);
  const int64_t kernels = WinogradKernels();
  EXPECT_TRUE(winograd_runs[1] == 1000 * kernels && winograd_runs[2] == 500 * kernels)
      << winograd_runs[1] << " winograd runs along rows, " << winograd_runs[2] << " two by two";
}

// Matrix products (1x1 kernels on 1 x 1 planes: fully connected layers): channel-lane tiles read the input where
// it is when its channels fill whole quads (no scratch: InputAsIsApplies) and deal their steps to three sets of
// accumulators (AccumulateDealt). Channels in whole quads and not, step counts that three does and does not
// divide, reductions past every int16 method's widening interval (1024 channels: 256 steps), codes at the bounds,
// one to 256 outputs, batches of two.
TEST(QConv, MatrixProducts) {
  std::mt19937 rng(51);
  int ran = 0, as_is = 0;
  for (const int64_t cin : {4, 7, 12, 64, 1024})
    for (const int64_t cout : {1, 10, 65, 256})
      for (const Case::Codes codes : {Case::kRandom, Case::kMaxPositive, Case::kAlternatingNegative,
                                      Case::kHeavyLateLane}) {
        Case c;
        c.xs = {cout % 2 == 1 ? 2 : 1, cin, 1, 1};
        c.cout = cout;
        c.groups = 1;
        c.prec = codes == Case::kRandom ? arith::Precision{256, 256} : arith::Precision{23, 23};
        c.codes = codes;
        c.codes_out = cout != 65;
        ran += CheckCase(c, rng);
        const Geometry g = MakeGeometry(c.xs, OutputDims(c), c.win, 1);
        const std::vector<int8_t> w(static_cast<size_t>(cin * cout), 1);
        OutputStage stage;
        stage.bias.assign(static_cast<size_t>(cout), 0);
        stage.scale.assign(static_cast<size_t>(cout), 1.0f);
        for (const Microkernel* k : Microkernels()) {
          PackedConv conv;
          std::string why;
          if (k->channels.name == nullptr || !IsaWithin(k->isa, DetectIsa()) ||
              !PackedConv::Create(*k, g, w.data(), 22, 11, stage, &conv, &why, &k->channels))
            continue;
          EXPECT_EQ(conv.scratch_bytes() == 0, cin % 4 == 0) << conv.name() << " on " << cin << " channels";
          as_is += conv.scratch_bytes() == 0;
        }
      }
  EXPECT_GT(ran, 0);
  EXPECT_TRUE(as_is > 0 || DetectIsa() == Isa::kRef);
}

// Unstrided layers repack each quad's channel planes whole: one run where nothing pads them above or beside;
// padded, rows of 16 quads or more in place and narrower ones as one run moved apart. A partial quad (its pad lanes
// read a plane of pad codes), planes past 16 columns, planes under 8 columns (scalar only), groups and batches,
// each padding; and stride 2 beside them (row by row).
// A thread repacks only the transformed rows its tiles read (PackedConv::Run): any band of rows, on images whose
// rows are repacked in place (16 quads or more) or staged whole and moved, equals those rows of the whole repack.
TEST(QConv, WinogradRepackOfABandOfRows) {
  std::mt19937 rng(7);
  Window2d win;
  win.kh = win.kw = 3, win.pad_t = win.pad_l = win.pad_b = win.pad_r = 1;
  for (const int64_t w : {13, 21})
    for (const int tile_rows : {1, 2}) {
      const Dims4 xs{1, 12, 9, w}, ys{1, 8, 9, w};
      const Geometry g = MakeWinogradGeometry(xs, ys, win, 1, tile_rows);
      const Geometry staging = WinogradStagingGeometry(g);
      std::vector<uint8_t> x(static_cast<size_t>(xs.size()));
      for (auto& v : x) v = static_cast<uint8_t>(rng() % 23);
      const size_t bytes = static_cast<size_t>(g.packed_input_bytes() + staging.scratch_bytes());
      std::vector<uint8_t> whole(bytes), band(bytes);
      RepackWinogradInput(g, staging, x.data(), 0, 3, 22, whole.data());
      for (int64_t r0 = 0; r0 < g.plane_h; ++r0)
        for (int64_t r1 = r0 + 1; r1 <= g.plane_h; ++r1) {
          std::fill(band.begin(), band.end(), 0xCD);
          RepackWinogradInput(g, staging, x.data(), 0, 3, 22, band.data(), WinogradInput{}, {r0, r1});
          int64_t differ = 0;
          for (int64_t q = 0; q < g.quads; ++q)
            for (int t = 0; t < g.transforms(); ++t) {
              const int64_t at = q * g.quad_bytes + t * g.transform_bytes();
              differ += !std::equal(whole.begin() + at + r0 * g.plane_w * 4, whole.begin() + at + r1 * g.plane_w * 4,
                                    band.begin() + at + r0 * g.plane_w * 4);
            }
          EXPECT_EQ(differ, 0) << "rows " << r0 << ".." << r1 << " of " << g.plane_h << ", width " << w
                               << ", tile rows " << tile_rows;
        }
    }
}

TEST(QConv, UnstridedLayersRepackWholePlanes) {
  std::mt19937 rng(7);
  const Dims4 inputs[] = {{1, 6, 5, 7}, {2, 5, 2, 3}, {1, 8, 9, 9}, {1, 13, 4, 4}, {2, 6, 1, 1}, {1, 4, 3, 19}};
  const int64_t pads[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 2, 0, 0}, {2, 0, 0, 1}, {0, 0, 1, 0}, {0, 0, 0, 2}};
  int ran = 0;
  for (const Dims4& xs : inputs)
    for (const int k : {1, 3})
      for (const int stride : {1, 2})
        for (const auto& pad : pads) {
          Case c;
          c.xs = xs;
          c.groups = xs.c % 2 == 0 ? 2 : 1;
          c.cout = 5 * c.groups;
          c.win.kh = c.win.kw = std::min<int64_t>(k, std::min(xs.h, xs.w));
          c.win.sh = c.win.sw = stride;
          c.win.pad_t = pad[0], c.win.pad_l = pad[1], c.win.pad_b = pad[2], c.win.pad_r = pad[3];
          c.prec = {23, 23};
          ran += CheckCase(c, rng);
        }
  EXPECT_GT(ran, 100);
}

// The kx-folded layout on the layers it is for (CheckCase runs every case in both layouts): an RGB stem (7x7,
// stride 2, pads 3; 21 virtual channels, the last quad 1/4 full), a grayscale 3x3, 6 channels of a dilated 5x5 at
// stride 3 in 2 groups; and where MakeGeometry folds on its own: the ResNet stem, not a 64-channel 3x3 layer.
TEST(QConv, KxFoldedLayoutOnFewInputChannels) {
  std::mt19937 rng(21);
  Case stem;
  stem.xs = {1, 3, 30, 37}, stem.cout = 13, stem.groups = 1;
  stem.win.kh = stem.win.kw = 7, stem.win.sh = stem.win.sw = 2;
  stem.win.pad_t = stem.win.pad_l = stem.win.pad_b = stem.win.pad_r = 3;
  Case gray = stem;
  gray.xs = {2, 1, 17, 23}, gray.cout = 8, gray.win = {};
  gray.win.kh = gray.win.kw = 3, gray.win.pad_t = gray.win.pad_l = gray.win.pad_b = gray.win.pad_r = 1;
  Case dilated = stem;
  dilated.xs = {1, 12, 19, 26}, dilated.cout = 10, dilated.groups = 2, dilated.win = {};
  dilated.win.kh = dilated.win.kw = 5, dilated.win.sh = dilated.win.sw = 3, dilated.win.dh = dilated.win.dw = 2;
  dilated.win.pad_l = 4, dilated.win.pad_r = 1, dilated.win.pad_t = 2;
  for (Case c : {stem, gray, dilated})
    for (const arith::Precision prec : {arith::Precision{23, 23}, arith::Precision{16, 16}})
      for (const bool codes_out : {true, false}) {
        c.prec = prec, c.codes_out = codes_out;
        EXPECT_GT(CheckCase(c, rng), 0);
      }

  Window2d resnet_stem = stem.win;
  EXPECT_TRUE(MakeGeometry({1, 3, 224, 224}, {1, 64, 112, 112}, resnet_stem, 1).kx_folded);
  Window2d three = gray.win;
  EXPECT_FALSE(MakeGeometry({1, 64, 56, 56}, {1, 64, 56, 56}, three, 1).kx_folded);
  EXPECT_TRUE(MakeGeometry({1, 1, 64, 64}, {1, 16, 64, 64}, three, 1).kx_folded);
}

// Kernels whose dilated width leaves the grid's dropped columns at least a vector wide (8 lanes on AVX2, 16 on
// AVX-512, 4 on NEON): some position vectors then hold no output at all and must store nothing (a whole store
// there wrote into the next channel's plane and past the tensor's end).
TEST(QConv, DroppedColumnsWiderThanAVector) {
  std::mt19937 rng(9);
  Case c;
  c.groups = 1;
  for (const int64_t dw : {4, 8}) {
    c.xs = {1, 8, 5, 2 * dw + 4}, c.cout = 7, c.win = {};
    c.win.kh = 1, c.win.kw = 3, c.win.dw = dw;
    for (const bool codes_out : {true, false}) {
      c.prec = {23, 23}, c.codes_out = codes_out;
      EXPECT_GT(CheckCase(c, rng), 0);
    }
  }
  c.xs = {1, 4, 11, 13}, c.cout = 5, c.win = {};
  c.win.kh = c.win.kw = 5, c.win.dh = c.win.dw = 2;
  c.prec = {23, 23}, c.codes_out = true;
  EXPECT_GT(CheckCase(c, rng), 0);
}

// Layers large enough that Run splits them over threads (it gives a thread about a million MACs), with rows that
// vectors cross and dropped columns a vector wide: tiles on different threads write neighbouring bytes of a plane.
TEST(QConv, ThreadsShareLargeLayers) {
  std::mt19937 rng(33);
  Case c;
  c.groups = 1, c.prec = {23, 23};
  c.xs = {1, 64, 23, 29}, c.cout = 48, c.win = {};
  c.win.kh = c.win.kw = 3, c.win.pad_t = c.win.pad_l = c.win.pad_b = c.win.pad_r = 1;
  for (const bool codes_out : {true, false}) {
    c.codes_out = codes_out;
    EXPECT_GT(CheckCase(c, rng), 0);
  }
  c.xs = {1, 64, 21, 45}, c.win = {};
  c.win.kh = c.win.kw = 3, c.win.dw = 8;
  c.codes_out = true;
  EXPECT_GT(CheckCase(c, rng), 0);
  // Rows narrower than 16 quads (repacked whole, then moved row by row), with fewer weights than input: each thread
  // repacks the rows of its own share of positions, in both winograd forms.
  c.xs = {1, 256, 14, 13}, c.cout = 24, c.win = {};
  c.win.kh = c.win.kw = 3, c.win.pad_t = c.win.pad_l = c.win.pad_b = c.win.pad_r = 1;
  int winograd_runs[3] = {};
  EXPECT_GT(CheckCase(c, rng, winograd_runs), 0);
  EXPECT_TRUE(WinogradKernels() == 0 || (winograd_runs[1] > 0 && winograd_runs[2] > 0));
  // Strided layers with fewer weights than input, row by row and kx-folded (CheckCase runs both), a 3x3 and a 1x1:
  // each thread repacks the rows of its own share, and those of the slices it takes from the others'.
  c.xs = {1, 12, 96, 93}, c.cout = 16, c.win = {};
  c.win.kh = c.win.kw = 3, c.win.sh = c.win.sw = 2, c.win.pad_t = c.win.pad_l = c.win.pad_b = c.win.pad_r = 1;
  EXPECT_GT(CheckCase(c, rng), 0);
  c.xs = {1, 32, 96, 90}, c.cout = 48, c.win = {};
  c.win.sh = c.win.sw = 2;
  EXPECT_GT(CheckCase(c, rng), 0);
}

// Reductions far past the int16 flush interval, every operand at its largest magnitude: 128 input channels of
// 3x3 taps are 288 steps (the flush interval is 67 steps at (23, 23), 65 at (127, 5), 136 at 4-bit).
TEST(QConv, ExtremeCodesOverLongReductions) {
  std::mt19937 rng(46);
  for (const arith::Precision prec : kPrecisions)
    for (const auto codes : {Case::kMaxPositive, Case::kMaxNegative})
      for (const bool codes_out : {true, false}) {
        Case c;
        c.xs = {1, 128, 9, 11};
        c.cout = 13;
        c.groups = 1;
        c.win.kh = c.win.kw = 3;
        c.win.pad_t = c.win.pad_l = c.win.pad_b = c.win.pad_r = 1;
        c.prec = prec;
        c.codes = codes;
        c.codes_out = codes_out;
        CheckCase(c, rng);
      }
}

TEST(QConv, FlushIntervalFollowsFromThePrecision) {
  for (const arith::Precision prec : kPrecisions) {
    const arith::CodeRange wr = arith::WeightCodes(prec.nw);
    const int64_t max_code = prec.nx - 1, max_weight = std::max(-wr.lo, wr.hi);
    for (const Microkernel* k : Microkernels()) {
      const int64_t steps = k->flush_steps(static_cast<int32_t>(max_code), static_cast<int32_t>(max_weight));
      if (steps == 0 || steps == std::numeric_limits<int64_t>::max()) continue;
      // The bound holds for `steps` pair sums and fails for one more: the interval is the longest exact one.
      // A centering method's activations reach at most max_code - center in magnitude.
      const int64_t h = max_code - k->center(static_cast<int32_t>(max_code));
      EXPECT_LE(steps * 2 * h * max_weight, 32767) << k->name;
      EXPECT_GT((steps + 1) * 2 * h * max_weight, 32767) << k->name;
    }
  }
}

}  // namespace
}  // namespace q46::kernels::qconv
