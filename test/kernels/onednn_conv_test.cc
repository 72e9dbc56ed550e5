// Tests of the oneDNN float convolution wrapper (runtime/kernels/onednn/) against the reference kernels
// ConvF32Ref / ConvTransposeF32Ref on random shapes: groups, depthwise, dilation, stride, asymmetric pads,
// dense layers as 1x1 on [N, K, 1, 1], transposed with output_padding, every fused activation, concurrent runs,
// and primitives built for several threads giving the one-thread results bit for bit.
// Tests only; touches no kernel code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/kernels/onednn/conv_f32_onednn.h"
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/thread_count_scope.h"

namespace q46::kernels {
namespace {

struct ConvCase {
  const char* name;
  Dims4 xs;
  int64_t oc;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t pad_t, pad_l, pad_b, pad_r;
  int64_t groups;
  bool transposed = false;
  int64_t out_pad_h = 0, out_pad_w = 0;
  // oneDNN may refuse it (Create returns nullptr with a reason and the runtime falls back to the ref kernel).
  bool may_refuse = false;

  Window2d Win() const {
    Window2d w;
    w.kh = kh, w.kw = kw, w.sh = sh, w.sw = sw, w.dh = dh, w.dw = dw;
    w.pad_t = pad_t, w.pad_l = pad_l, w.pad_b = pad_b, w.pad_r = pad_r;
    w.out_pad_h = out_pad_h, w.out_pad_w = out_pad_w;
    return w;
  }
  // ONNX output shapes.
  Dims4 Ys() const {
    auto conv = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
      return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
    };
    auto deconv = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, int64_t op) {
      return (in - 1) * s - pb - pe + d * (k - 1) + op + 1;
    };
    if (transposed)
      return {xs.n, oc, deconv(xs.h, kh, sh, dh, pad_t, pad_b, out_pad_h),
              deconv(xs.w, kw, sw, dw, pad_l, pad_r, out_pad_w)};
    return {xs.n, oc, conv(xs.h, kh, sh, dh, pad_t, pad_b), conv(xs.w, kw, sw, dw, pad_l, pad_r)};
  }
  int64_t WeightSize() const { return transposed ? xs.c * (oc / groups) * kh * kw : oc * (xs.c / groups) * kh * kw; }
};

const ConvCase kCases[] = {
    // name, xs, oc, kh, kw, sh, sw, dh, dw, pad_t, pad_l, pad_b, pad_r, groups
    //   [, transposed, out_pad_h, out_pad_w, may_refuse]
    {"3x3_same", {2, 3, 7, 6}, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"stride2_asymmetric_pads", {1, 4, 9, 8}, 8, 3, 3, 2, 2, 1, 1, 1, 0, 2, 1, 1},
    {"dilation2", {1, 3, 10, 9}, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},
    {"rect_kernel_mixed_stride_dilation", {1, 6, 11, 9}, 4, 5, 2, 2, 1, 1, 3, 2, 0, 1, 3, 1},
    {"groups2", {1, 4, 6, 6}, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},
    {"depthwise_stride2", {2, 8, 7, 7}, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8},
    {"depthwise_multiplier2", {1, 4, 5, 5}, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},
    {"depthwise_dilated_asym", {1, 16, 12, 10}, 16, 3, 3, 1, 1, 2, 2, 2, 1, 2, 3, 16},
    {"dense_as_1x1", {3, 64, 1, 1}, 10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"pointwise", {1, 16, 5, 5}, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
    {"7x7_stride2", {1, 3, 20, 20}, 16, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
    {"t_stride2_outpad", {1, 4, 5, 5}, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true, 1, 1},
    {"t_4x4_stride2_groups2", {1, 4, 4, 4}, 6, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 2, true},
    {"t_depthwise", {2, 8, 3, 4}, 8, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 8, true},
    {"t_asym_pads_rect_stride", {1, 3, 4, 5}, 2, 3, 3, 3, 2, 1, 1, 1, 2, 0, 1, 1, true, 2, 1},
    {"t_dilated", {1, 2, 4, 4}, 3, 3, 3, 1, 1, 2, 2, 1, 0, 1, 2, 1, true},
    // output_padding >= stride (ONNX allows it below the dilation): oneDNN can express it only as end padding
    // reduced by output_padding, and needs pad_end - output_padding + stride > 0.
    {"t_outpad_ge_stride_padded", {1, 2, 4, 4}, 3, 3, 3, 1, 1, 2, 2, 0, 0, 2, 1, 1, true, 1, 1},
    {"t_outpad_ge_stride_unpadded", {1, 2, 4, 4}, 3, 3, 3, 1, 1, 2, 2, 0, 0, 0, 0, 1, true, 1, 1, true},
    {"t_1x1_dense", {2, 32, 1, 1}, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true},
};

const FloatActivation kActivations[] = {
    {},
    {FloatActivation::kClip, 0.0f, 6.0f},
    {FloatActivation::kClip, 0.0f, INFINITY},
    {FloatActivation::kClip, -INFINITY, 0.25f},
    {FloatActivation::kTanh},
    {FloatActivation::kSigmoid},
};

std::vector<float> Random(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = u(rng);
  return v;
}

void Reference(const ConvCase& c, const std::vector<float>& x, const std::vector<float>& w, const float* bias,
               const FloatActivation& act, std::vector<float>& y) {
  const Dims4 ys = c.Ys();
  y.assign(static_cast<size_t>(ys.size()), 0.0f);
  if (c.transposed)
    ConvTransposeF32Ref(x.data(), c.xs, w.data(), bias, c.Win(), c.groups, act, y.data(), ys);
  else
    ConvF32Ref(x.data(), c.xs, w.data(), bias, c.Win(), c.groups, act, y.data(), ys);
}

void ExpectMatches(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f * std::max(1.0f, std::fabs(want[i])))) {
      ADD_FAILURE() << "element " << i << ": " << got[i] << " vs reference " << want[i];
      ++bad;
    }
}

// Runs `conv` on x into y through a binding with scratch of its own, as a context does.
void RunBound(const OnednnConvF32& conv, const std::vector<float>& x, std::vector<float>& y, dnnl::stream& stream) {
  std::vector<unsigned char> scratch(conv.scratch_bytes());
  conv.Bind(x.data(), y.data(), scratch.data()).Run(stream);
}

TEST(OnednnConvF32, MatchesReference) {
  std::mt19937 rng(4646);
  dnnl::stream stream(CpuEngine());
  for (const ConvCase& c : kCases) {
    const std::vector<float> x = Random(c.xs.size(), rng), w = Random(c.WeightSize(), rng);
    const std::vector<float> bias = Random(c.oc, rng);
    for (size_t a = 0; a < std::size(kActivations); ++a) {
      const FloatActivation& act = kActivations[a];
      const float* b = a % 2 == 0 ? bias.data() : nullptr;
      SCOPED_TRACE(std::string(c.name) + " activation #" + std::to_string(a) + (b ? " bias" : " no bias"));
      std::string why;
      auto conv = OnednnConvF32::Create(c.xs, w.data(), b, c.Win(), c.groups, c.transposed, act, c.Ys(), &why);
      if (!conv && c.may_refuse) {
        EXPECT_FALSE(why.empty());
        continue;
      }
      ASSERT_NE(conv, nullptr) << why;
      std::vector<float> want, got(static_cast<size_t>(c.Ys().size()), NAN);
      Reference(c, x, w, b, act, want);
      RunBound(*conv, x, got, stream);
      ExpectMatches(got, want);
    }
  }
}

TEST(OnednnConvF32, WeightsAndBiasAreCopied) {
  std::mt19937 rng(7);
  const ConvCase& c = kCases[4];  // groups2
  std::vector<float> x = Random(c.xs.size(), rng), w = Random(c.WeightSize(), rng), bias = Random(c.oc, rng);
  std::vector<float> want;
  Reference(c, x, w, bias.data(), {}, want);
  std::string why;
  auto conv = OnednnConvF32::Create(c.xs, w.data(), bias.data(), c.Win(), c.groups, false, {}, c.Ys(), &why);
  ASSERT_NE(conv, nullptr) << why;
  w.assign(w.size(), 1e6f);
  bias.assign(bias.size(), 1e6f);
  std::vector<float> got(want.size());
  dnnl::stream stream(CpuEngine());
  RunBound(*conv, x, got, stream);
  ExpectMatches(got, want);
  EXPECT_FALSE(conv->Implementation().empty());
}

TEST(OnednnConvF32, ConcurrentRuns) {
  std::mt19937 rng(11);
  const ConvCase& c = kCases[1];
  const std::vector<float> w = Random(c.WeightSize(), rng), bias = Random(c.oc, rng);
  const FloatActivation relu6{FloatActivation::kClip, 0.0f, 6.0f};
  std::string why;
  auto conv = OnednnConvF32::Create(c.xs, w.data(), bias.data(), c.Win(), c.groups, false, relu6, c.Ys(), &why);
  ASSERT_NE(conv, nullptr) << why;
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> xs, wants;
  for (int t = 0; t < kThreads; ++t) {
    xs.push_back(Random(c.xs.size(), rng));
    wants.emplace_back();
    Reference(c, xs.back(), w, bias.data(), relu6, wants.back());
  }
  std::vector<std::vector<float>> gots(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      dnnl::stream stream(CpuEngine());
      std::vector<float> y(wants[t].size());
      std::vector<unsigned char> scratch(conv->scratch_bytes());
      const OnednnConvF32::Bound bound = conv->Bind(xs[t].data(), y.data(), scratch.data());
      for (int i = 0; i < 50; ++i) {
        std::fill(y.begin(), y.end(), NAN);
        bound.Run(stream);
        if (i == 0)
          gots[t] = y;
        else if (y != gots[t])
          gots[t].assign(y.size(), NAN);  // a run that disagrees with the first poisons it
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ExpectMatches(gots[t], wants[t]);
}

// The runtime gives multi-threaded contexts their own primitives for large float layers
// (runtime/ops/float_conv_op.cc) and promises results independent of the thread count: for implementations
// declared ThreadCountInvariant, outputs are the same bits whatever the work split (brgconv and gemm:jit are not:
// they differ on 8 threads, and the runtime bands them instead, banded_float_conv_test). The shapes of the
// runtime's float layers (a ResNet stem, U-Net up-convolutions) and deep layers, and the random cases above, on
// 2, 3, 4 and 8 threads.
TEST(OnednnConvF32, ThreadCountDoesNotChangeResults) {
  std::vector<ConvCase> cases(std::begin(kCases), std::end(kCases));
  cases.push_back({"resnet_stem", {1, 3, 112, 112}, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1});
  cases.push_back({"unet_upconv", {1, 64, 48, 48}, 32, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, true});
  cases.push_back({"unet_upconv_deep", {1, 256, 12, 12}, 128, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, true});
  cases.push_back({"3x3_wide", {1, 64, 28, 28}, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  cases.push_back({"3x3_deep", {1, 256, 14, 14}, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  cases.push_back({"1x1_deep", {1, 512, 7, 7}, 512, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1});
  std::mt19937 rng(99);
  dnnl::stream stream(CpuEngine());
  const FloatActivation relu{FloatActivation::kClip, 0.0f, INFINITY};
  int compared = 0;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<float> x = Random(c.xs.size(), rng), w = Random(c.WeightSize(), rng), bias = Random(c.oc, rng);
    const auto create = [&](int threads) {
      rt::ThreadCountScope scope(threads);
      std::string why;
      return OnednnConvF32::Create(c.xs, w.data(), bias.data(), c.Win(), c.groups, c.transposed, relu, c.Ys(), &why);
    };
    const auto run = [&](const OnednnConvF32& conv, int threads) {
      rt::ThreadCountScope scope(threads);
      std::vector<float> y(static_cast<size_t>(c.Ys().size()), NAN);
      RunBound(conv, x, y, stream);
      return y;
    };
    const std::unique_ptr<OnednnConvF32> one = create(1);
    if (!one) continue;  // refused: the runtime uses the ref kernel
    const std::vector<float> want = run(*one, 1);
    for (int threads : {2, 3, 4, 8}) {
      const std::unique_ptr<OnednnConvF32> many = create(threads);
      ASSERT_NE(many, nullptr);
      // The runtime keeps one thread unless the implementation is the same and declared invariant.
      if (many->Implementation() != one->Implementation() || !one->ThreadCountInvariant()) continue;
      const std::vector<float> got = run(*many, threads);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << threads << " threads, "
                                                                                     << one->Implementation();
      ++compared;
    }
  }
  EXPECT_GE(compared, 8);  // at least the up-convolutions on every count (more on CPUs without AVX-512)
}

TEST(OnednnConvF32, RefusesInconsistentShapesWithoutThrowing) {
  const std::vector<float> w(4 * 3 * 3 * 3, 0.5f);
  Window2d win;
  win.kh = win.kw = 3;
  std::string why;
  // A 7x7 input under a 3x3 kernel without padding gives 5x5: a 6x6 output must be refused (by oneDNN).
  auto conv = OnednnConvF32::Create({1, 3, 7, 7}, w.data(), nullptr, win, 1, false, {}, {1, 4, 6, 6}, &why);
  EXPECT_EQ(conv, nullptr);
  EXPECT_FALSE(why.empty());
  why.clear();  // 3 input channels do not split into 2 groups
  conv = OnednnConvF32::Create({1, 3, 7, 7}, w.data(), nullptr, win, 2, false, {}, {1, 4, 5, 5}, &why);
  EXPECT_EQ(conv, nullptr);
  EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace q46::kernels
