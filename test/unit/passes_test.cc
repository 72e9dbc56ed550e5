// Pass unit tests on small hand-built graphs: each rewrite leaves the network's function unchanged (checked by
// running the float plan before and after) and has the structural effect it promises.
#include <random>

#include "compiler/plan_writer.h"
#include "gtest/gtest.h"
#include "passes/clip_search.h"
#include "passes/pass.h"
#include "test/test_util.h"

namespace q46 {
namespace {

FloatTensor Random(std::vector<int64_t> dims, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  FloatTensor t{std::move(dims), {}};
  t.data.resize(static_cast<size_t>(t.size()));
  for (float& v : t.data) v = u(rng);
  return t;
}

// A tiny graph builder: values by name, nodes appended in order.
struct Builder {
  ir::Graph g;
  ir::ValueId Input(std::vector<int64_t> dims) {
    const ir::ValueId v = g.AddValue({"input", std::move(dims), std::nullopt, std::nullopt});
    g.inputs.push_back(v);
    return v;
  }
  ir::ValueId Const(const std::string& name, FloatTensor t) { return g.AddConstant(name, std::move(t)); }
  ir::ValueId Add(const std::string& name, ir::Attrs attrs, std::vector<ir::ValueId> in, std::vector<int64_t> dims) {
    const ir::ValueId out = g.AddValue({name + ".out", std::move(dims), std::nullopt, std::nullopt});
    g.nodes.push_back({name, "test", std::move(in), {out}, std::move(attrs)});
    return out;
  }
  ir::ValueId Conv(const std::string& name, ir::ValueId x, int64_t out_c, uint32_t seed) {
    const std::vector<int64_t> d = g.values[x].dims;  // a copy: adding values below reallocates
    ir::ConvAttrs a;
    a.window.kh = a.window.kw = 3;
    const ir::ValueId w = Const(name + ".w", Random({out_c, d[1], 3, 3}, seed));
    const ir::ValueId b = Const(name + ".b", Random({out_c}, seed + 1));
    return Add(name, a, {x, w, b}, {d[0], out_c, d[2] - 2, d[3] - 2});
  }
  void Output(ir::ValueId v) { g.outputs.push_back(v); }
};

FloatTensor Eval(const ir::Graph& g, const FloatTensor& x) {
  absl::StatusOr<plan::Plan> plan = LowerToPlan(g, LowerOptions{true, {}, "test"});
  EXPECT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<FloatTensor> y = test::RunPlan(*plan, x);
  EXPECT_TRUE(y.ok()) << y.status();
  return *y;
}

absl::Status RunPass(PassFn pass, ir::Graph& g, const CompileOptions& o = {}) {
  PassContext ctx{o, {}};
  return pass(g, ctx);
}

template <typename A>
int Count(const ir::Graph& g) {
  int n = 0;
  for (const ir::Node& node : g.nodes) n += std::holds_alternative<A>(node.attrs);
  return n;
}

TEST(FoldConstants, DivideAfterConvFoldsIntoWeights) {
  Builder b;
  const ir::ValueId c = b.Conv("conv0", b.Input({1, 3, 8, 8}), 4, 1);
  const ir::ValueId two = b.Const("two", FloatTensor{{}, {2.0f}});
  b.Output(b.Add("div", ir::BinaryAttrs{kernels::BinaryKind::kDiv, {}}, {c, two}, {1, 4, 6, 6}));
  const FloatTensor x = Random({1, 3, 8, 8}, 7);
  const FloatTensor before = Eval(b.g, x);
  ASSERT_TRUE(RunPass(FoldConstants, b.g).ok());
  EXPECT_EQ(Count<ir::BinaryAttrs>(b.g), 0);
  EXPECT_LE(test::ToleranceRatio(Eval(b.g, x), before, 1e-6, 1e-5), 1.0);
}

TEST(FoldConstants, PerChannelAddFoldsButFullTensorDoesNot) {
  Builder b;
  const ir::ValueId c = b.Conv("conv0", b.Input({1, 3, 8, 8}), 4, 1);
  const ir::ValueId k = b.Const("k", Random({1, 4, 1, 1}, 3));
  const ir::ValueId added = b.Add("add", ir::BinaryAttrs{kernels::BinaryKind::kAdd, {}}, {k, c}, {1, 4, 6, 6});
  const ir::ValueId c2 = b.Conv("conv1", added, 2, 5);
  const ir::ValueId full = b.Const("full", Random({1, 2, 4, 4}, 4));
  b.Output(b.Add("sub", ir::BinaryAttrs{kernels::BinaryKind::kSub, {}}, {c2, full}, {1, 2, 4, 4}));
  const FloatTensor x = Random({1, 3, 8, 8}, 7);
  const FloatTensor before = Eval(b.g, x);
  ASSERT_TRUE(RunPass(FoldConstants, b.g).ok());
  EXPECT_EQ(Count<ir::BinaryAttrs>(b.g), 1);  // only the full-tensor subtraction stays
  EXPECT_LE(test::ToleranceRatio(Eval(b.g, x), before, 1e-5, 1e-5), 1.0);
}

TEST(FoldConstants, ZeroPadFoldsIntoConvolution) {
  Builder b;
  const ir::ValueId x = b.Input({1, 3, 8, 8});
  const ir::ValueId padded = b.Add("pad", ir::PadAttrs{{0, 0, 1, 2, 0, 0, 3, 0}, 0.0f}, {x}, {1, 3, 12, 10});
  b.Output(b.Conv("conv", padded, 4, 1));
  const FloatTensor in = Random({1, 3, 8, 8}, 2);
  const FloatTensor before = Eval(b.g, in);
  ASSERT_TRUE(RunPass(FoldConstants, b.g).ok());
  EXPECT_EQ(Count<ir::PadAttrs>(b.g), 0);
  EXPECT_LE(test::ToleranceRatio(Eval(b.g, in), before, 1e-6, 1e-5), 1.0);
}

TEST(FoldBatchNorm, AfterConvFoldsElsewhereBecomesAffine) {
  Builder b;
  const ir::ValueId c = b.Conv("conv", b.Input({2, 3, 8, 8}), 4, 1);
  auto bn = [&](const std::string& name, ir::ValueId x, uint32_t seed) {
    const ir::ValueId s = b.Const(name + ".s", Random({4}, seed, 0.5f, 1.5f));
    const ir::ValueId t = b.Const(name + ".t", Random({4}, seed + 1));
    const ir::ValueId m = b.Const(name + ".m", Random({4}, seed + 2));
    const ir::ValueId v = b.Const(name + ".v", Random({4}, seed + 3, 0.5f, 2.0f));
    const std::vector<int64_t> dims = b.g.values[x].dims;
    return b.Add(name, ir::BatchNormAttrs{1e-5f}, {x, s, t, m, v}, dims);
  };
  const ir::ValueId bn1 = bn("bn1", c, 10);
  ir::PoolAttrs pool;
  pool.window.kh = pool.window.kw = pool.window.sh = pool.window.sw = 2;
  const ir::ValueId pooled = b.Add("pool", pool, {bn1}, {2, 4, 3, 3});
  b.Output(bn("bn2", pooled, 20));
  // Structure only here: the numerics of both forms are checked against torch by the e2e op models
  // (batchnorm alone, conv + batchnorm + relu).
  ASSERT_TRUE(RunPass(FoldBatchNorm, b.g).ok());
  EXPECT_EQ(Count<ir::BatchNormAttrs>(b.g), 0);
  EXPECT_EQ(Count<ir::BinaryAttrs>(b.g), 2);  // bn2 after the pool: Mul + Add
  const FloatTensor x = Random({2, 3, 8, 8}, 3);
  const FloatTensor y = Eval(b.g, x);
  ASSERT_EQ(y.dims, (std::vector<int64_t>{2, 4, 3, 3}));
  for (float v : y.data) EXPECT_TRUE(std::isfinite(v));
}

TEST(FuseActivations, ReluAfterPoolIsHoistedAndFused) {
  Builder b;
  const ir::ValueId c = b.Conv("conv", b.Input({1, 3, 10, 10}), 4, 1);
  ir::PoolAttrs pool;
  pool.window.kh = pool.window.kw = pool.window.sh = pool.window.sw = 2;
  const ir::ValueId pooled = b.Add("pool", pool, {c}, {1, 4, 4, 4});
  const ir::FloatActivation relu6{ir::FloatActivation::kClip, 0.0f, 6.0f};
  const ir::ValueId act = b.Add("relu6", ir::UnaryAttrs{relu6}, {pooled}, {1, 4, 4, 4});
  b.Output(b.Add("hardtanh", ir::UnaryAttrs{{ir::FloatActivation::kClip, -1.0f, 1.0f}}, {act}, {1, 4, 4, 4}));
  const FloatTensor x = Random({1, 3, 10, 10}, 9, -3, 3);
  const FloatTensor before = Eval(b.g, x);
  ASSERT_TRUE(RunPass(FuseActivations, b.g).ok());
  EXPECT_EQ(Count<ir::UnaryAttrs>(b.g), 0);
  const auto& conv = std::get<ir::ConvAttrs>(b.g.nodes[0].attrs);
  EXPECT_EQ(conv.activation.kind, ir::FloatActivation::kClip);
  EXPECT_EQ(conv.activation.lo, 0.0f);  // [0, 6] then [-1, 1] intersect to [0, 1]
  EXPECT_EQ(conv.activation.hi, 1.0f);
  EXPECT_EQ(test::BitDifferences(Eval(b.g, x), before), 0);
}

// HardSwish dips below zero, so max(hardswish(x)) != hardswish(max(x)); LeakyRelu rises, but a conv cannot take
// it either, so moved above the pool it would only run on the larger tensor. Both stay after the pool.
TEST(FuseActivations, ActivationsAConvCannotTakeStayAfterThePool) {
  for (const ir::FloatActivation::Kind kind : {ir::FloatActivation::kHardSwish, ir::FloatActivation::kLeakyRelu}) {
    Builder b;
    const ir::ValueId c = b.Conv("conv", b.Input({1, 3, 10, 10}), 4, 1);
    ir::PoolAttrs pool;
    pool.window.kh = pool.window.kw = pool.window.sh = pool.window.sw = 2;
    const ir::ValueId pooled = b.Add("pool", pool, {c}, {1, 4, 4, 4});
    ir::FloatActivation act{kind};
    act.alpha = kind == ir::FloatActivation::kHardSwish ? 1.0f / 6 : 0.1f;
    act.beta = 0.5f;
    b.Output(b.Add("act", ir::UnaryAttrs{act}, {pooled}, {1, 4, 4, 4}));
    const FloatTensor x = Random({1, 3, 10, 10}, 9, -3, 3);
    const FloatTensor before = Eval(b.g, x);
    ASSERT_TRUE(RunPass(FuseActivations, b.g).ok());
    ASSERT_EQ(Count<ir::UnaryAttrs>(b.g), 1);
    EXPECT_EQ(std::get<ir::ConvAttrs>(b.g.nodes[0].attrs).activation.kind, ir::FloatActivation::kNone);
    EXPECT_TRUE(std::holds_alternative<ir::PoolAttrs>(b.g.nodes[1].attrs));
    EXPECT_EQ(test::BitDifferences(Eval(b.g, x), before), 0);
  }
}

TEST(Relu6, OnlyWithTheFlagAndOnlyPlainRelu) {
  Builder b;
  const ir::ValueId x = b.Input({1, 2});
  const ir::ValueId r = b.Add("relu", ir::UnaryAttrs{{ir::FloatActivation::kClip, 0.0f, INFINITY}}, {x}, {1, 2});
  b.Output(b.Add("clip", ir::UnaryAttrs{{ir::FloatActivation::kClip, 0.0f, 3.0f}}, {r}, {1, 2}));
  ASSERT_TRUE(RunPass(ReluToRelu6, b.g).ok());
  EXPECT_TRUE(std::isinf(std::get<ir::UnaryAttrs>(b.g.nodes[0].attrs).activation.hi));
  CompileOptions o;
  o.relu6 = true;
  ASSERT_TRUE(RunPass(ReluToRelu6, b.g, o).ok());
  EXPECT_EQ(std::get<ir::UnaryAttrs>(b.g.nodes[0].attrs).activation.hi, 6.0f);
  EXPECT_EQ(std::get<ir::UnaryAttrs>(b.g.nodes[1].attrs).activation.hi, 3.0f);
}

Builder ThreeConvs() {
  Builder b;
  ir::ValueId v = b.Input({1, 3, 12, 12});
  for (int i = 0; i < 3; ++i) v = b.Conv("conv" + std::to_string(i), v, 4, 10 * i);
  b.Output(v);
  return b;
}

bool Quantized(const ir::Graph& g, int i) { return std::get<ir::ConvAttrs>(g.nodes[i].attrs).quant.has_value(); }

TEST(AssignPrecision, FirstAndLastFloatMapOverridesFloatFlagWins) {
  Builder b = ThreeConvs();
  ASSERT_TRUE(RunPass(AssignPrecision, b.g).ok());
  EXPECT_FALSE(Quantized(b.g, 0));
  EXPECT_TRUE(Quantized(b.g, 1));
  EXPECT_FALSE(Quantized(b.g, 2));
  CompileOptions o;
  o.precision_map["conv0"] = arith::Precision{16, 16};
  o.precision_map["conv1"] = std::nullopt;
  ASSERT_TRUE(RunPass(AssignPrecision, b.g, o).ok());
  EXPECT_EQ(std::get<ir::ConvAttrs>(b.g.nodes[0].attrs).quant->precision.nx, 16);
  EXPECT_FALSE(Quantized(b.g, 1));
  o.all_float = true;
  ASSERT_TRUE(RunPass(AssignPrecision, b.g, o).ok());
  EXPECT_FALSE(Quantized(b.g, 0));
}

TEST(AssignPrecision, UnknownLayerAndBadPairAreErrors) {
  Builder b = ThreeConvs();
  CompileOptions o;
  o.precision_map["conv9"] = arith::Precision{23, 23};
  absl::Status st = RunPass(AssignPrecision, b.g, o);
  EXPECT_NE(st.message().find("conv9"), std::string::npos) << st;
  EXPECT_NE(st.message().find("conv0, conv1, conv2"), std::string::npos) << st;
  o.precision_map = {{"conv1", arith::Precision{25, 25}}};
  EXPECT_FALSE(RunPass(AssignPrecision, b.g, o).ok());
}

TEST(QuantizeWeights, PerChannelScalesCodesAndBias) {
  Builder b = ThreeConvs();
  const FloatTensor calib = Random({4, 3, 12, 12}, 1);
  CompileOptions o;
  o.calibration = &calib;
  o.range_method = "minmax";
  o.weight_clip = "absmax";
  for (PassFn p : {AssignPrecision, CalibrateRanges, QuantizeWeights}) ASSERT_TRUE(RunPass(p, b.g, o).ok());
  const ir::Node& n = b.g.nodes[1];
  const ir::ConvQuant& q = *std::get<ir::ConvAttrs>(n.attrs).quant;
  const FloatTensor& w = *b.g.values[n.inputs[1]].constant;
  ASSERT_EQ(q.weight_scales.size(), 4u);
  for (int oc = 0; oc < 4; ++oc) {
    float absmax = 0;
    for (int k = 0; k < 36; ++k) absmax = std::max(absmax, std::fabs(w.data[oc * 36 + k]));
    EXPECT_FLOAT_EQ(q.weight_scales[oc], absmax / 11);
    int max_code = 0;
    for (int k = 0; k < 36; ++k) max_code = std::max(max_code, std::abs(int{q.weight_codes[oc * 36 + k]}));
    EXPECT_EQ(max_code, 11);  // the largest weight maps to h_w
    const float bias = b.g.values[n.inputs[2]].constant->data[oc];
    EXPECT_NEAR(q.bias[oc] * q.in_scale * q.weight_scales[oc], bias, q.in_scale * q.weight_scales[oc]);
  }
  const ir::Range& r = *b.g.values[n.inputs[0]].range;
  EXPECT_LT(r.lo, 0.0f);
  EXPECT_GT(r.hi, 0.0f);
}

// Reconstruction replaces nearest codes with searched ones, the same ones on every run, and the quantized
// network then reproduces the float one better on its calibration data (every layer quantized here).
TEST(Reconstruct, RepeatsAndBringsTheQuantizedNetworkCloser) {
  const FloatTensor calib = Random({16, 3, 12, 12}, 1);
  auto compile = [&](const std::string& method, double memory = 8e9) {
    Builder b = ThreeConvs();
    CompileOptions o;
    o.reconstruct_memory = memory;
    o.calibration = &calib;
    o.precision = {7, 7};
    o.precision_map = {{"conv0", arith::Precision{7, 7}}, {"conv2", arith::Precision{7, 7}}};
    o.calib_method = method;
    o.calib_steps = 200;
    for (PassFn p : {AssignPrecision, CalibrateRanges, QuantizeWeights, ReconstructLayers})
      EXPECT_TRUE(RunPass(p, b.g, o).ok()) << method;
    return b.g;
  };
  const ir::Graph float_net = ThreeConvs().g;
  auto error = [&](const ir::Graph& g) {
    double sum = 0;
    for (int64_t s = 0; s < 16; ++s) {
      FloatTensor x{{1, 3, 12, 12}, std::vector<float>(calib.data.begin() + s * 432, calib.data.begin() + (s + 1) * 432)};
      absl::StatusOr<plan::Plan> plan = LowerToPlan(g, LowerOptions{});
      EXPECT_TRUE(plan.ok());
      const absl::StatusOr<FloatTensor> y = test::RunPlan(*plan, x);
      const FloatTensor want = Eval(float_net, x);
      for (size_t i = 0; i < want.data.size(); ++i) sum += std::pow(y->data[i] - want.data[i], 2);
    }
    return sum;
  };
  const ir::Graph nearest = compile("none"), searched = compile("adaround"), again = compile("adaround");
  const auto codes = [](const ir::Graph& g, int i) { return std::get<ir::ConvAttrs>(g.nodes[i].attrs).quant->weight_codes; };
  const ir::Graph rerun_prefixes = compile("adaround", 0);  // no room to keep values: the other way, same result
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(codes(searched, i), codes(again, i)) << i;
    EXPECT_EQ(codes(searched, i), codes(rerun_prefixes, i)) << i;
  }
  EXPECT_NE(codes(searched, 1), codes(nearest, 1));
  EXPECT_LT(error(searched), error(nearest));
  CompileOptions bad;
  bad.calib_method = "magic";
  Builder b = ThreeConvs();
  const absl::Status st = RunPass(ReconstructLayers, b.g, bad);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("magic"), std::string::npos) << st;
}

// Codegen: two quantized layers joined by a Concat that feeds a third travel as codes all the way (each writes
// the third's input codes, the Concat joins codes), and the integer plan computes what the fake-quantized one does.
TEST(Lowering, ConcatBetweenQuantizedLayersJoinsCodes) {
  const FloatTensor calib = Random({8, 3, 12, 12}, 3);
  Builder b;
  const ir::ValueId x = b.Input({1, 3, 12, 12});
  const ir::ValueId left = b.Conv("left", x, 4, 10), right = b.Conv("right", x, 5, 20);
  const ir::ValueId joined = b.Add("join", ir::ConcatAttrs{1}, {left, right}, {1, 9, 10, 10});
  b.Output(b.Conv("last", joined, 2, 30));
  CompileOptions o;
  o.calibration = &calib;
  o.precision = {23, 23};
  for (const char* layer : {"left", "right", "last"}) o.precision_map[layer] = arith::Precision{23, 23};
  for (PassFn p : {AssignPrecision, CalibrateRanges, QuantizeWeights}) ASSERT_TRUE(RunPass(p, b.g, o).ok());

  absl::StatusOr<plan::Plan> plan = LowerToPlan(b.g, LowerOptions{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  int quantize_nodes = 0;
  for (const plan::Node& n : plan->nodes()) {
    quantize_nodes += n.has_quantize();
    if (!n.has_concat()) continue;
    EXPECT_EQ(plan->tensors(n.outputs(0)).dtype(), plan::UINT8_CODES);
    for (int in : n.inputs()) EXPECT_EQ(plan->tensors(in).dtype(), plan::UINT8_CODES);
  }
  EXPECT_EQ(quantize_nodes, 1);  // the network's input only

  LowerOptions fake;
  fake.fake_quant = true;
  absl::StatusOr<plan::Plan> simulated = LowerToPlan(b.g, fake);
  ASSERT_TRUE(simulated.ok()) << simulated.status();
  const FloatTensor in{{1, 3, 12, 12}, std::vector<float>(calib.data.begin(), calib.data.begin() + 432)};
  const absl::StatusOr<FloatTensor> y = test::RunPlan(*plan, in), want = test::RunPlan(*simulated, in);
  ASSERT_TRUE(y.ok() && want.ok());
  for (size_t i = 0; i < want->data.size(); ++i) EXPECT_NEAR(y->data[i], want->data[i], 1e-4) << i;
}

}  // namespace
}  // namespace q46

namespace q46 {
namespace {

// The MSE searches never do worse than the plain range they start from, and do better on heavy tails.
TEST(ClipSearch, NeverWorseThanAbsmaxAndBetterOnOutliers) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0, 1);
  for (int32_t nw : {5, 23, 16, 256}) {
    std::vector<float> w(512);
    for (float& v : w) v = normal(rng);
    w[0] = 12.0f;  // one outlier
    const float absmax_scale = 12.0f / static_cast<float>(arith::WeightScaleDivisor(nw));
    const double plain = WeightQuantError(w.data(), w.size(), absmax_scale, nw);
    const double best = WeightQuantError(w.data(), w.size(), MseWeightScale(w.data(), w.size(), nw), nw);
    EXPECT_LE(best, plain) << nw;
    if (nw == 23) {
      EXPECT_LT(best, 0.9 * plain);
    }
  }
  std::vector<float> acts(4000);
  for (float& v : acts) v = std::fabs(normal(rng));
  acts[0] = 20.0f;
  float lo, hi;
  MseActivationRange(acts, 0.0f, 20.0f, 23, &lo, &hi);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_LT(hi, 20.0f);
  EXPECT_GE(hi, 6.0f);
}

}  // namespace
}  // namespace q46
