// The float convolution op's oneDNN implementations (runtime/ops/float_conv_op.cc), through the runtime on a
// one-conv plan: on 1, 2, 3 and 8 threads the same bits, and the reference kernel's values.
// - Convolutions whose oneDNN implementation depends on the thread count run as fixed bands of output rows
//   (BandedFloatConv): padding, stride, dilation, groups, batch, no bias and a short last band included,
//   whichever way oneDNN chose.
// - Transposed convolutions whose kernel is their stride run as a 1x1 convolution to tap planes and a scatter
//   (TapPlanesTransposedConv): 2x2 and 3x3 and 2x1 kernels, groups, batch, no bias; other transposed ones do not.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <random>

#include "gtest/gtest.h"
#include "runtime/context.h"
#include "runtime/kernels/onednn/conv_f32_onednn.h"
#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/model.h"
#include "runtime/shape.h"
#include "runtime/thread_count_scope.h"

namespace q46::rt {
namespace {

using kernels::Dims4;
using kernels::Window2d;

struct Case {
  const char* name;
  Dims4 xs;
  int64_t oc;
  Window2d win;
  int64_t groups = 1;
  bool bias = true;
  bool transposed = false;
};

Dims4 OutputDims(const Case& c) {
  const Window2d& w = c.win;
  if (c.transposed)
    return {c.xs.n, c.oc, TransposedWindowOutputSize(c.xs.h, w.kh, w.sh, w.dh, w.pad_t, w.pad_b, w.out_pad_h),
            TransposedWindowOutputSize(c.xs.w, w.kw, w.sw, w.dw, w.pad_l, w.pad_r, w.out_pad_w)};
  return {c.xs.n, c.oc, WindowOutputSize(c.xs.h, w.kh, w.sh, w.dh, w.pad_t, w.pad_b),
          WindowOutputSize(c.xs.w, w.kw, w.sw, w.dw, w.pad_l, w.pad_r)};
}

plan::Plan OneConvPlan(const Case& c, const std::vector<float>& w, const std::vector<float>& bias) {
  const Dims4 ys = OutputDims(c);
  plan::Plan p;
  for (const Dims4& d : {c.xs, ys}) {
    plan::Tensor* t = p.add_tensors();
    t->set_name(p.tensors_size() == 1 ? "x" : "y");
    for (int64_t v : {d.n, d.c, d.h, d.w}) t->add_dims(v);
    t->set_dtype(plan::FLOAT32);
  }
  p.add_inputs(0);
  p.add_outputs(1);
  plan::Node* n = p.add_nodes();
  n->set_name(c.name);
  n->add_inputs(0);
  n->add_outputs(1);
  plan::FloatConv* fc = n->mutable_float_conv();
  plan::Window* win = fc->mutable_window();
  for (int64_t v : {c.win.kh, c.win.kw}) win->add_kernel(v);
  for (int64_t v : {c.win.sh, c.win.sw}) win->add_stride(v);
  for (int64_t v : {c.win.dh, c.win.dw}) win->add_dilation(v);
  for (int64_t v : {c.win.pad_t, c.win.pad_l, c.win.pad_b, c.win.pad_r}) win->add_pads(v);
  fc->set_groups(c.groups);
  fc->set_transposed(c.transposed);
  fc->set_weights(std::string(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float)));
  if (c.bias) fc->set_bias(std::string(reinterpret_cast<const char*>(bias.data()), bias.size() * sizeof(float)));
  fc->mutable_activation()->set_kind(plan::Activation::CLIP);
  fc->mutable_activation()->set_lo(0.0f);
  fc->mutable_activation()->set_hi(INFINITY);
  return p;
}

Window2d Win(int64_t k, int64_t stride, int64_t dilation, int64_t pad_t, int64_t pad_l, int64_t pad_b, int64_t pad_r) {
  Window2d w;
  w.kh = w.kw = k, w.sh = w.sw = stride, w.dh = w.dw = dilation;
  w.pad_t = pad_t, w.pad_l = pad_l, w.pad_b = pad_b, w.pad_r = pad_r;
  return w;
}

// Runs `c` (ReLU fused) through the runtime on 1, 2, 3 and 8 threads: the same bits each time, within 1e-4 of the
// reference. Returns the implementation the runtime chose.
std::string CheckSameBitsAndReference(const Case& c, std::mt19937& rng) {
  const Dims4 ys = OutputDims(c);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(c.xs.n * c.xs.c * c.xs.h * c.xs.w));
  std::vector<float> w(static_cast<size_t>(c.oc * c.xs.c / c.groups * c.win.kh * c.win.kw));
  std::vector<float> bias(static_cast<size_t>(c.oc));
  for (auto* v : {&x, &w, &bias})
    for (float& e : *v) e = unit(rng);
  std::vector<float> want(static_cast<size_t>(ys.n * ys.c * ys.h * ys.w));
  const float* b = c.bias ? bias.data() : nullptr;
  const kernels::FloatActivation relu{kernels::FloatActivation::kClip, 0, INFINITY};
  if (c.transposed)
    kernels::ConvTransposeF32Ref(x.data(), c.xs, w.data(), b, c.win, c.groups, relu, want.data(), ys);
  else
    kernels::ConvF32Ref(x.data(), c.xs, w.data(), b, c.win, c.groups, relu, want.data(), ys);

  std::unique_ptr<Model> model;
  EXPECT_TRUE(Model::FromPlan(OneConvPlan(c, w, bias), &model).ok());
  if (!model) return "";
  const std::string impl = model->ops()[0]->implementation();
  std::vector<float> first;
  for (int threads : {1, 2, 3, 8}) {
    Context ctx(*model);
    ctx.set_threads(threads);
    EXPECT_TRUE(ctx.SetInput(0, x.data(), x.size()).ok());
    ctx.Run();
    size_t count = 0;
    const float* y = ctx.Output(0, &count);
    EXPECT_EQ(count, want.size());
    if (count != want.size()) return impl;
    if (threads == 1) {
      first.assign(y, y + count);
      double worst = 0;
      for (size_t i = 0; i < count; ++i) worst = std::max(worst, std::fabs(double{y[i]} - want[i]));
      EXPECT_LT(worst, 1e-4) << impl;
    } else {
      EXPECT_EQ(std::memcmp(y, first.data(), count * sizeof(float)), 0) << threads << " threads, " << impl;
    }
  }
  return impl;
}

TEST(BandedFloatConv, SameBitsOnEveryThreadCountAndTheReferenceValues) {
  const Case cases[] = {
      {"resnet_stem", {1, 3, 224, 224}, 64, Win(7, 2, 1, 3, 3, 3, 3)},
      {"asymmetric_dilated_batch2", {2, 3, 61, 47}, 32, Win(5, 1, 2, 3, 1, 0, 4)},
      {"stride3_short_last_band", {1, 8, 241, 200}, 48, Win(3, 3, 1, 1, 0, 2, 1)},
      {"one_channel_wide", {1, 1, 256, 256}, 32, Win(3, 1, 1, 1, 1, 1, 1)},
      // Two groups, no bias, dilation 3, the input's last rows unread.
      {"grouped_no_bias", {1, 16, 201, 160}, 64, Win(3, 2, 3, 0, 2, 1, 0), 2, false},
  };
  std::mt19937 rng(46);
  int banded = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string impl = CheckSameBitsAndReference(c, rng);
    // Banded exactly where oneDNN's choice for the whole layer depends on the thread count (every case here has
    // work for several bands).
    std::vector<float> w(static_cast<size_t>(c.oc * c.xs.c / c.groups * c.win.kh * c.win.kw), 0.5f), bias(c.oc, 0.5f);
    std::string why;
    const auto whole = [&] {
      ThreadCountScope one(1);  // as the runtime builds it: oneDNN's choice may depend on the thread count
      return kernels::OnednnConvF32::Create(c.xs, w.data(), c.bias ? bias.data() : nullptr, c.win, c.groups, false,
                                            {kernels::FloatActivation::kClip, 0, INFINITY}, OutputDims(c), &why);
    }();
    ASSERT_NE(whole, nullptr) << why;
    EXPECT_EQ(impl.find("bands") != std::string::npos, !whole->ThreadCountInvariant()) << impl;
    banded += impl.find("bands") != std::string::npos;
  }
  std::printf("%d of %zu cases banded\n", banded, std::size(cases));
}

TEST(TapPlanesTransposedConv, SameBitsOnEveryThreadCountAndTheReferenceValues) {
  Window2d two_by_one = Win(1, 1, 1, 0, 0, 0, 0);
  two_by_one.kh = two_by_one.sh = 2;
  const Case cases[] = {
      {"unet_upconv", {1, 64, 64, 64}, 32, Win(2, 2, 1, 0, 0, 0, 0), 1, true, true},
      {"3x3_stride3_groups_batch2_no_bias", {2, 12, 9, 11}, 6, Win(3, 3, 1, 0, 0, 0, 0), 3, false, true},
      {"2x1_stride2x1", {1, 8, 17, 13}, 5, two_by_one, 1, true, true},
  };
  std::mt19937 rng(47);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string impl = CheckSameBitsAndReference(c, rng);
    EXPECT_NE(impl.find("tap planes"), std::string::npos) << impl;
  }
  // Overlapping taps (kernel 4, stride 2, padding 1) are not for it: oneDNN's deconvolution or the reference.
  const Case overlapping{"overlapping", {1, 8, 10, 12}, 4, Win(4, 2, 1, 1, 1, 1, 1), 1, true, true};
  EXPECT_EQ(CheckSameBitsAndReference(overlapping, rng).find("tap planes"), std::string::npos);
}

}  // namespace
}  // namespace q46::rt
