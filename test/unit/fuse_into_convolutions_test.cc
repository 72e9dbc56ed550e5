// The loader's fusion of residual Adds and Quantizes into quantized convolutions (runtime/fuse_into_convolutions.cc):
// which pairs it fuses and which it must leave, and that a fused network computes bit for bit what the plan as
// written computes (and what the compiler's simulation of it computes), on every ISA path and layout of the integer
// convolution, on one and two threads.
#include <random>
#include <string>

#include "compiler/simulate.h"
#include "gtest/gtest.h"
#include "runtime/context.h"
#include "runtime/fuse_into_convolutions.h"
#include "runtime/model.h"
#include "test/test_util.h"

namespace q46 {
namespace {

using kernels::qconv::Isa;

struct Block {
  std::vector<int64_t> x;  // NCHW
  int64_t oc, k, stride, groups;
  int max_weight = 11;  // the main convolution's weight codes are within +-max_weight (small: two-by-two winograd)
  plan::Activation::Kind activation = plan::Activation::CLIP;  // the Add's: ReLU6, or another kind
};

// Appends node `name` reading tensors `inputs` and writing tensor `out`; the caller sets its op.
plan::Node* AddNode(plan::Plan& p, const char* name, std::initializer_list<int> inputs, int out) {
  plan::Node* n = p.add_nodes();
  n->set_name(name);
  for (int in : inputs) n->add_inputs(in);
  n->add_outputs(out);
  return n;
}

// y = x + r, or r + x, with `kind` as its activation (CLIP: [lo, hi]; LEAKY_RELU: alpha 0.1).
void AddAdd(plan::Plan& p, std::initializer_list<int> inputs, int out, plan::Activation::Kind kind, float lo = 0,
            float hi = 6) {
  plan::Activation* act = AddNode(p, "add", inputs, out)->mutable_binary()->mutable_activation();
  act->set_kind(kind), act->set_alpha(0.1f);
  if (kind == plan::Activation::CLIP) act->set_lo(lo), act->set_hi(hi);
}

plan::QuantConv* AddConv(plan::Plan& p, const char* name, int in, int out, int64_t k, int64_t stride, int64_t groups,
                         int64_t ic, int64_t oc, int max_weight, std::mt19937& rng) {
  plan::QuantConv* c = AddNode(p, name, {in}, out)->mutable_quant_conv();
  for (int i = 0; i < 2; ++i) c->mutable_window()->add_kernel(k), c->mutable_window()->add_stride(stride);
  for (int i = 0; i < 4; ++i) c->mutable_window()->add_pads(k / 2);
  c->set_groups(groups);
  c->set_weight_levels(23);
  std::uniform_int_distribution<int> code(-max_weight, max_weight), bias(-300, 300);
  std::string w(static_cast<size_t>(oc * ic / groups * k * k), 0);
  for (char& v : w) v = static_cast<char>(code(rng));
  c->set_weight_codes(w);
  for (int64_t o = 0; o < oc; ++o) c->add_weight_scales(0.01f + 0.001f * static_cast<float>(o % 7)), c->add_bias(bias(rng));
  return c;
}

// A residual block: x -> codes -> conv k x k (stride, groups) -> main; codes -> conv 1x1 (same stride) -> shortcut,
// written after the main convolution (as ResNet's downsampling); y = ReLU6(main + shortcut), and y's codes as the
// next block would read them, dequantized (the graph's second output).
plan::Plan ResidualBlockPlan(const Block& b, std::mt19937& rng) {
  const int64_t oh = (b.x[2] - 1) / b.stride + 1, ow = (b.x[3] - 1) / b.stride + 1;
  const std::vector<int64_t> ys = {b.x[0], b.oc, oh, ow};
  plan::Plan p;
  test::AddPlanTensor(p, "x", b.x, false);
  test::AddPlanTensor(p, "xq", b.x, true);
  test::AddPlanTensor(p, "main", ys, false);
  test::AddPlanTensor(p, "shortcut", ys, false);
  test::AddPlanTensor(p, "y", ys, false);
  test::AddPlanTensor(p, "y_codes", ys, true)->mutable_quant()->set_scale(0.03f);
  test::AddPlanTensor(p, "y_codes_dequantized", ys, false);
  p.add_inputs(0);
  p.add_outputs(4);
  p.add_outputs(6);
  AddNode(p, "quantize", {0}, 1)->mutable_quantize();
  AddConv(p, "main_conv", 1, 2, b.k, b.stride, b.groups, b.x[1], b.oc, b.max_weight, rng);
  AddConv(p, "shortcut_conv", 1, 3, 1, b.stride, 1, b.x[1], b.oc, 11, rng);
  AddAdd(p, {3, 2}, 4, b.activation);  // the shortcut first: the fused addition must not depend on the order
  AddNode(p, "quantize_y", {4}, 5)->mutable_quantize();
  AddNode(p, "dequantize_y", {5}, 6)->mutable_dequantize();
  return p;
}

// Runs the plan on `inputs`; returns its outputs one after the other, and the implementation of node "main_conv".
FloatTensor RunBlock(const plan::Plan& plan, Isa isa, bool fuse, int threads, const std::vector<FloatTensor>& inputs,
                     std::string* kernel) {
  rt::LoadOptions options;
  options.max_isa = isa, options.fuse_into_convolutions = fuse;
  std::unique_ptr<rt::Model> model;
  const rt::Status st = rt::Model::FromPlan(plan, &model, &options);
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return {};
  for (int i = 0; i < model->plan().nodes_size(); ++i)
    if (model->plan().nodes(i).name() == "main_conv") *kernel = model->ops()[static_cast<size_t>(i)]->implementation();
  rt::Context ctx(*model);
  ctx.set_threads(threads);
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_TRUE(ctx.SetInput(i, inputs[i].data.data(), inputs[i].data.size()).ok());
  ctx.Run();
  FloatTensor outputs{{0}, {}};
  for (size_t i = 0; i < static_cast<size_t>(plan.outputs_size()); ++i) {
    size_t count = 0;
    const float* y = ctx.Output(i, &count);
    outputs.data.insert(outputs.data.end(), y, y + count);
  }
  outputs.dims[0] = static_cast<int64_t>(outputs.data.size());
  return outputs;
}

TEST(FuseIntoConvolutions, FusedBlocksMatchThePlanAsWritten) {
  const Block blocks[] = {
      {{1, 32, 30, 30}, 32, 3, 1, 1},  // winograd, positions on the lanes; large enough for two threads
      {{1, 64, 24, 20}, 64, 3, 1, 1, 2},  // winograd two by two
      {{2, 64, 7, 9}, 64, 3, 1, 1},    // winograd, channels on the lanes, two images
      {{1, 256, 10, 10}, 256, 3, 1, 1, 2},  // winograd two by two, channels on the lanes
      {{1, 16, 17, 23}, 24, 3, 2, 1},  // strided: the direct layout, positions on the lanes, dropped columns
      {{1, 32, 30, 30}, 32, 3, 1, 1, 11, plan::Activation::TANH},  // an activation run after the tiles
      {{1, 40, 3, 5}, 72, 1, 1, 1},    // 1x1 on a small plane: channels on the lanes
      {{1, 24, 12, 12}, 24, 3, 1, 24},  // depthwise
      {{1, 24, 12, 12}, 24, 3, 1, 24, 11, plan::Activation::TANH},
  };
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512, Isa::kVnni, Isa::kNeon})
    if (kernels::qconv::IsaWithin(isa, kernels::qconv::DetectIsa())) isas.push_back(isa);
  std::mt19937 rng(46);
  for (const Block& b : blocks) {
    const plan::Plan plan = ResidualBlockPlan(b, rng);
    FloatTensor x{b.x, std::vector<float>(static_cast<size_t>(FloatTensor::NumElements(b.x)))};
    std::uniform_real_distribution<float> value(-0.2f, 2.2f);
    for (float& v : x.data) v = value(rng);
    absl::StatusOr<std::vector<FloatTensor>> simulated_outputs = SimulatePlan(plan, {x});
    ASSERT_TRUE(simulated_outputs.ok()) << simulated_outputs.status();
    FloatTensor simulated{{0}, {}};
    for (const FloatTensor& t : *simulated_outputs) simulated.data.insert(simulated.data.end(), t.data.begin(), t.data.end());
    simulated.dims[0] = static_cast<int64_t>(simulated.data.size());
    for (Isa isa : isas)
      for (int threads : {1, 2}) {
        std::string kernel, unfused_kernel;
        const FloatTensor fused = RunBlock(plan, isa, true, threads, {x}, &kernel);
        const FloatTensor unfused = RunBlock(plan, isa, false, threads, {x}, &unfused_kernel);
        SCOPED_TRACE(testing::Message() << "block " << b.x[1] << "x" << b.x[2] << "x" << b.x[3] << " -> " << b.oc
                                        << ", " << kernels::qconv::IsaName(isa) << ", " << threads << " thread(s), "
                                        << kernel);
        EXPECT_NE(kernel.find("+add+quantize"), std::string::npos);
        EXPECT_EQ(test::BitDifferences(fused, unfused), 0);
        EXPECT_EQ(test::BitDifferences(fused, simulated), 0);
      }
  }
}

// y = act(conv(codes of x) + r) with r a graph input (with a residual) or y = conv(codes of x) (without), and y's
// codes dequantized; r holds NaN, infinities and negative zeros among ordinary values.
plan::Plan SpecialValuesPlan(const std::vector<int64_t>& xs, int64_t oc, bool residual, plan::Activation::Kind kind,
                             std::mt19937& rng) {
  const std::vector<int64_t> ys = {xs[0], oc, xs[2], xs[3]};
  plan::Plan p;
  test::AddPlanTensor(p, "x", xs, false);
  test::AddPlanTensor(p, "xq", xs, true);
  test::AddPlanTensor(p, "conv_out", ys, false);
  test::AddPlanTensor(p, "r", ys, false);
  test::AddPlanTensor(p, "y", ys, false);
  plan::ActivationQuant* q = test::AddPlanTensor(p, "y_codes", ys, true)->mutable_quant();
  q->set_scale(6.0f / 254), q->set_zero_point(127), q->set_levels(255);
  test::AddPlanTensor(p, "y_codes_dequantized", ys, false);
  p.add_inputs(0);
  if (residual) p.add_inputs(3);
  p.add_outputs(residual ? 4 : 2);
  p.add_outputs(6);
  AddNode(p, "quantize", {0}, 1)->mutable_quantize();
  AddConv(p, "main_conv", 1, 2, 3, 1, 1, xs[1], oc, 2, rng);
  if (residual) AddAdd(p, {2, 3}, 4, kind, -1, 6);
  AddNode(p, "quantize_y", {residual ? 4 : 2}, 5)->mutable_quantize();
  AddNode(p, "dequantize_y", {5}, 6)->mutable_dequantize();
  return p;
}

TEST(FuseIntoConvolutions, KeepsNaNsInfinitiesAndZerosAsTheSeparateOpsDo) {
  const std::vector<int64_t> shapes[] = {
      {1, 32, 30, 29},  // winograd, positions on the lanes, an odd output width
      {1, 64, 7, 9},    // winograd, channels on the lanes
  };
  const float special[] = {NAN, -NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 1e30f, -1e30f};
  std::mt19937 rng(5);
  for (const std::vector<int64_t>& xs : shapes)
    for (bool residual : {true, false})
      for (plan::Activation::Kind kind : {plan::Activation::NONE, plan::Activation::CLIP, plan::Activation::LEAKY_RELU}) {
        if (!residual && kind != plan::Activation::NONE) continue;
        const plan::Plan plan = SpecialValuesPlan(xs, xs[1], residual, kind, rng);
        FloatTensor x{xs, std::vector<float>(static_cast<size_t>(FloatTensor::NumElements(xs)))};
        std::uniform_real_distribution<float> value(-0.2f, 2.2f);
        for (float& v : x.data) v = value(rng);
        FloatTensor r = x;
        for (size_t i = 0; i < r.data.size(); ++i) r.data[i] = i % 5 == 0 ? special[i / 5 % 8] : 3 * value(rng) - 3;
        const std::vector<FloatTensor> inputs = residual ? std::vector<FloatTensor>{x, r} : std::vector<FloatTensor>{x};
        for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512, Isa::kVnni, Isa::kNeon}) {
          if (!kernels::qconv::IsaWithin(isa, kernels::qconv::DetectIsa())) continue;
          for (int threads : {1, 2}) {
            std::string kernel, unfused_kernel;
            const FloatTensor fused = RunBlock(plan, isa, true, threads, inputs, &kernel);
            const FloatTensor unfused = RunBlock(plan, isa, false, threads, inputs, &unfused_kernel);
            SCOPED_TRACE(testing::Message() << xs[1] << "x" << xs[2] << "x" << xs[3] << (residual ? " + r" : "")
                                            << ", activation " << kind << ", " << kernels::qconv::IsaName(isa) << ", "
                                            << threads << " thread(s), " << kernel);
            EXPECT_NE(kernel.find("+quantize"), std::string::npos);
            EXPECT_EQ(test::BitDifferences(fused, unfused), 0);
          }
        }
      }
}

// Fused nodes written by hand are checked as the loader's are: a clear error, never a crash.
TEST(FuseIntoConvolutions, RefusesMalformedFusedNodes) {
  const struct {
    const char* name;
    void (*change)(plan::Plan&);
    const char* message;
  } cases[] = {
      {"residual of codes", [](plan::Plan& p) { p.mutable_nodes(1)->add_inputs(1); }, "dtype"},
      {"residual of other dims", [](plan::Plan& p) { p.mutable_nodes(1)->add_inputs(0); }, "dims"},
      {"float second output", [](plan::Plan& p) { p.mutable_nodes(1)->add_outputs(3); }, "dtype"},
      {"three inputs", [](plan::Plan& p) { p.mutable_nodes(1)->add_inputs(7), p.mutable_nodes(1)->add_inputs(7); },
       "inputs"},
  };
  std::mt19937 rng(3);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    plan::Plan plan = SpecialValuesPlan({1, 8, 6, 6}, 16, false, plan::Activation::NONE, rng);
    // A float tensor of the convolution's output dims, written first, for the cases to read.
    test::AddPlanTensor(plan, "other", {1, 16, 6, 6}, false);
    plan.add_inputs(7);
    c.change(plan);
    std::unique_ptr<rt::Model> model;
    rt::LoadOptions options;
    options.fuse_into_convolutions = false;
    const rt::Status st = rt::Model::FromPlan(plan, &model, &options);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("main_conv"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.message();
  }
}

TEST(FuseIntoConvolutions, PutsTheFusedNodeWhereTheAddWas) {
  std::mt19937 rng(7);
  const plan::Plan plan = ResidualBlockPlan({{1, 8, 6, 6}, 8, 3, 1, 1}, rng);
  plan::Plan fused = plan;
  ASSERT_EQ(rt::FuseIntoConvolutions(&fused), 2);
  // quantize, the shortcut, the main convolution where the Add was (reading the shortcut, writing y and its codes),
  // the dequantization.
  ASSERT_EQ(fused.nodes_size(), 4);
  EXPECT_EQ(fused.nodes(3).SerializeAsString(), plan.nodes(5).SerializeAsString());
  const plan::Node& conv = fused.nodes(2);
  EXPECT_EQ(fused.nodes(1).SerializeAsString(), plan.nodes(2).SerializeAsString());
  EXPECT_EQ(conv.name(), "main_conv");
  ASSERT_EQ(conv.inputs_size(), 2);
  EXPECT_EQ(conv.inputs(0), 1);
  EXPECT_EQ(conv.inputs(1), 3);
  ASSERT_EQ(conv.outputs_size(), 2);
  EXPECT_EQ(conv.outputs(0), 4);
  EXPECT_EQ(conv.outputs(1), 5);
  EXPECT_EQ(conv.quant_conv().activation().SerializeAsString(), plan.nodes(3).binary().activation().SerializeAsString());
}

// y = conv(codes of x) + r, r a second graph input; change() makes it a pair that must not fuse.
struct Variant {
  const char* name;
  void (*change)(plan::Plan&);
};

TEST(FuseIntoConvolutions, LeavesEveryOtherPair) {
  const Variant variants[] = {
      {"sub", [](plan::Plan& p) { p.mutable_nodes(2)->mutable_binary()->set_kind(plan::Binary::SUB); }},
      {"conv output also a graph output", [](plan::Plan& p) { p.add_outputs(2); }},
      {"conv output read twice", [](plan::Plan& p) { p.mutable_nodes(2)->set_inputs(0, 2); }},  // conv + conv
      {"conv with its own activation",
       [](plan::Plan& p) {
         plan::Activation* a = p.mutable_nodes(1)->mutable_quant_conv()->mutable_activation();
         a->set_kind(plan::Activation::CLIP), a->set_lo(0), a->set_hi(1);
       }},
      {"broadcast residual", [](plan::Plan& p) { p.mutable_tensors(3)->set_dims(2, 1), p.mutable_tensors(3)->set_dims(3, 1); }},
      {"clamp out of order", [](plan::Plan& p) { p.mutable_nodes(2)->mutable_binary()->mutable_activation()->set_lo(7); }},
  };
  std::mt19937 rng(7);
  const auto build = [&] {
    plan::Plan p;
    test::AddPlanTensor(p, "x", {1, 8, 6, 6}, false);
    test::AddPlanTensor(p, "xq", {1, 8, 6, 6}, true);
    test::AddPlanTensor(p, "conv_out", {1, 8, 6, 6}, false);
    test::AddPlanTensor(p, "r", {1, 8, 6, 6}, false);
    test::AddPlanTensor(p, "y", {1, 8, 6, 6}, false);
    p.add_inputs(0), p.add_inputs(3);
    p.add_outputs(4);
    AddNode(p, "quantize", {0}, 1)->mutable_quantize();
    AddConv(p, "conv", 1, 2, 3, 1, 1, 8, 8, 11, rng);
    AddAdd(p, {3, 2}, 4, plan::Activation::CLIP);
    return p;
  };
  plan::Plan unchanged = build();
  EXPECT_EQ(rt::FuseIntoConvolutions(&unchanged), 1);  // the pair the variants break
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    plan::Plan plan = build();
    v.change(plan);
    plan::Plan fused = plan;
    EXPECT_EQ(rt::FuseIntoConvolutions(&fused), 0);
    EXPECT_EQ(fused.SerializeAsString(), plan.SerializeAsString());
  }
}

}  // namespace
}  // namespace q46
