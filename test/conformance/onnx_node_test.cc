// ONNX's own operator conformance data (Debian's libonnx-testdata: /usr/share/libonnx-testdata/data/node/test_*/,
// each a model.onnx and test_data_set_N/{input,output}_K.pb) run through the whole q46 float path: importer,
// pass pipeline (CompileOptions.all_float), plan writer, runtime. Every test directory whose model uses only op
// types the importer supports (SupportedOnnxOps()) is a case; the cases are grouped by the op type of the
// model's last node, one gtest per supported op (OnnxNode/Conformance.Op/<op>).
//
// HOW A CASE IS RUN. q46 compiles deployable CNNs: one runtime input, every weight a constant. ONNX's node tests
// instead feed every operand (weights, Clip bounds, Reshape shapes, Resize scales, ...) as a graph input. So
// before compiling, the harness REWRITES THE MODEL:
//  - Runtime mode (every group but those below): every graph input that has test data, EXCEPT THE FIRST
//    (input_K.pb, K >= 1, of test_data_set_0), becomes an initializer holding that test data (same name and
//    data type). It leaves graph.input, as in an exported model (below IR version 4, which requires initializers to
//    be listed there, it stays). The first graph input stays the runtime input and is fed input_0.
//  - Folded mode (groups in kFoldedOnlyOps: ops the importer supports only by folding them on constants, since
//    every shape in a q46 model is static; and Cast, whose conformance data casts from or to types other than
//    float32, which q46 meets only in folded shape arithmetic): EVERY graph input with test data becomes an
//    initializer, a float graph input "q46_probe" of shape [1] is added, and each graph output y is replaced by
//    Add(q46_probe, Cast<float>(y)), so the importer must fold the op on the test data and the runtime adds a
//    zero to the folded value. (A rank-0 output then comes back as [1].)
// The model is compiled from memory (ImportOnnxBytes + RunPipeline + LowerToPlan, as q46c does), run once on
// the whole input_0 (runtime mode) or on [0] (folded mode), and each output K compared with output_K
// elementwise: |got - want| <= 1e-5 + 1e-4 * |want| (NaN matches NaN, infinities match exactly), dims equal.
// Only test_data_set_0 is used: the rewrite bakes its operands into the model.
//
// THE LISTS. A case in neither list must compile and match. kExpectedUnsupported names the cases q46 rejects on
// purpose (1-D / 3-D windows, integer tensors, cubic resize, training-mode ops, ...): each must FAIL TO COMPILE
// with a clean error (a status naming a node, a graph input / output, an initializer or the opset; never a
// crash), so the list cannot silently rot: a listed case that starts to compile fails the test until it is
// moved out of the list. kKnownBugs names cases that q46 gets wrong (importer / runtime bugs: should pass, or
// should be rejected cleanly at compile time), each with the outcome it has while the bug lasts; a case whose
// outcome changes fails the test until its entry is deleted (it passes) or moved to kExpectedUnsupported.
// ListsNameRealCases checks that every listed name is a discovered case; Summary prints the totals
// (Q46_CONFORMANCE_VERBOSE=1 prints every case's outcome).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compiler/onnx_import_context.h"
#include "compiler/onnx_importer.h"
#include "compiler/plan_writer.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"
#include "passes/pass.h"
#include "runtime/context.h"
#include "runtime/model.h"

namespace q46 {
namespace {

namespace fs = std::filesystem;

constexpr char kNodeDataDir[] = "/usr/share/libonnx-testdata/data/node";
constexpr double kAtol = 1e-5, kRtol = 1e-4;

// Groups run in folded mode (see the top comment).
const std::set<std::string> kFoldedOnlyOps = {"Cast", "Constant", "ConstantOfShape", "Gather", "Shape"};

enum class Outcome { kPassed, kCompileError, kRunError, kMismatch };

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPassed: return "PASS";
    case Outcome::kCompileError: return "COMPILE-ERROR";
    case Outcome::kRunError: return "RUN-ERROR";
    case Outcome::kMismatch: return "MISMATCH";
  }
  return "?";
}

struct Listed {
  const char* name;
  const char* reason;
};

struct Bug {
  const char* name;
  Outcome now;  // how the case fails while the bug lasts; any other outcome means the code changed
  const char* what;
};

// Reasons shared by several cases.
constexpr char kNonFloatInput[] =
    "non-float32 runtime input (integer, float16, bfloat16, double, string): q46 runs float32 networks";
constexpr char kNonFloatData[] =
    "float16 / bfloat16 (ONNX 1.12 stores it as UINT16) / string tensor data: q46 imports float, double and "
    "integer tensors";
constexpr char kNot2d[] = "1-D or 3-D window: q46 convolves and pools 2-D NCHW tensors only";
constexpr char kTrainingBn[] = "training-mode BatchNormalization (batch statistics, extra outputs)";
constexpr char kDropoutMask[] = "Dropout's mask output";
constexpr char kDropoutTraining[] = "training-mode Dropout with a nonzero ratio (random)";
constexpr char kCastTarget[] = "Cast to FLOAT16 / BFLOAT16 / STRING: q46 constants hold float, double and integers";
constexpr char kArgmax[] = "MaxPool's Indices output";
constexpr char kGemmTransA[] = "Gemm transA = 1 (the runtime input is the left operand, rows are samples)";
constexpr char kGemmMatrixBias[] = "Gemm with a full [N, M] matrix C: q46's dense layer takes a bias per output";
constexpr char kOpset1[] = "model at opset 1: q46 imports opsets 6 to 17";
constexpr char kNoTensorInput[] = "optional / sequence input: q46 takes tensors";
constexpr char kZeroDim[] = "zero-sized dimension: q46 tensors are not empty";
constexpr char kCubic[] = "Resize mode 'cubic': q46 resizes nearest and linear";
constexpr char kResizeCoords[] = "Resize coordinate mode tf_crop_and_resize / tf_half_pixel_for_nn";

// Cases q46 rejects by design: each must fail to compile with a clean error.
const std::vector<Listed> kExpectedUnsupported = {
    // Runtime mode.
    {"test_add_uint8", kNonFloatInput},
    {"test_averagepool_1d_default", kNot2d},
    {"test_averagepool_3d_default", kNot2d},
    {"test_batchnorm_epsilon_training_mode", kTrainingBn},
    {"test_batchnorm_example_training_mode", kTrainingBn},
    {"test_clip_default_int8_inbounds", kNonFloatInput},
    {"test_clip_default_int8_max", kNonFloatInput},
    {"test_clip_default_int8_min", kNonFloatInput},
    {"test_convtranspose_1d", kNot2d},
    {"test_convtranspose_3d", kNot2d},
    {"test_div_uint8", kNonFloatInput},
    {"test_dropout_default_mask", kDropoutMask},
    {"test_dropout_default_mask_ratio", kDropoutMask},
    {"test_edge_pad", "Pad mode 'edge' (and an int32 input)"},
    {"test_gemm_all_attributes", kGemmTransA},
    {"test_gemm_default_matrix_bias", kGemmMatrixBias},
    {"test_gemm_transposeA", kGemmTransA},
    {"test_globalaveragepool", kOpset1},
    {"test_globalaveragepool_precomputed", kOpset1},
    {"test_globalmaxpool", kOpset1},
    {"test_globalmaxpool_precomputed", kOpset1},
    {"test_identity_opt", kNoTensorInput},
    {"test_identity_sequence", kNoTensorInput},
    {"test_maxpool_1d_default", kNot2d},
    {"test_maxpool_2d_uint8", kNonFloatInput},
    {"test_maxpool_3d_default", kNot2d},
    {"test_maxpool_with_argmax_2d_precomputed_pads", kArgmax},
    {"test_maxpool_with_argmax_2d_precomputed_strides", kArgmax},
    {"test_mul_uint8", kNonFloatInput},
    {"test_reflect_pad", "Pad mode 'reflect' (and an int32 input)"},
    {"test_reshape_allowzero_reordered", kZeroDim},
    {"test_resize_downsample_scales_cubic", kCubic},
    {"test_resize_downsample_scales_cubic_A_n0p5_exclude_outside", kCubic},
    {"test_resize_downsample_scales_cubic_align_corners", kCubic},
    {"test_resize_downsample_sizes_cubic", kCubic},
    {"test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn", kResizeCoords},
    {"test_resize_tf_crop_and_resize", kResizeCoords},
    {"test_resize_upsample_scales_cubic", kCubic},
    {"test_resize_upsample_scales_cubic_A_n0p5_exclude_outside", kCubic},
    {"test_resize_upsample_scales_cubic_align_corners", kCubic},
    {"test_resize_upsample_scales_cubic_asymmetric", kCubic},
    {"test_resize_upsample_sizes_cubic", kCubic},
    {"test_slice_start_out_of_bounds", kZeroDim},
    {"test_split_zero_size_splits", kZeroDim},
    {"test_sub_uint8", kNonFloatInput},
    {"test_training_dropout", kDropoutTraining},
    {"test_training_dropout_default", kDropoutTraining},
    {"test_training_dropout_default_mask", kDropoutMask},
    {"test_training_dropout_mask", kDropoutMask},
    {"test_training_dropout_zero_ratio_mask", kDropoutMask},
    // Folded mode.
    {"test_cast_BFLOAT16_to_FLOAT", kNonFloatData},
    {"test_cast_FLOAT16_to_DOUBLE", kNonFloatData},
    {"test_cast_FLOAT16_to_FLOAT", kNonFloatData},
    {"test_cast_STRING_to_FLOAT", kNonFloatData},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded", kNonFloatData},
    {"test_castlike_DOUBLE_to_FLOAT16_expanded", kNonFloatData},
    {"test_castlike_FLOAT16_to_DOUBLE_expanded", kNonFloatData},
    {"test_castlike_FLOAT16_to_FLOAT_expanded", kNonFloatData},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded", kNonFloatData},
    {"test_castlike_FLOAT_to_FLOAT16_expanded", kNonFloatData},
    {"test_castlike_FLOAT_to_STRING_expanded", kNonFloatData},
    {"test_castlike_STRING_to_FLOAT_expanded", kNonFloatData},
    {"test_cast_DOUBLE_to_FLOAT16", kCastTarget},
    {"test_cast_FLOAT_to_BFLOAT16", kCastTarget},
    {"test_cast_FLOAT_to_FLOAT16", kCastTarget},
    {"test_cast_FLOAT_to_STRING", kCastTarget},
    {"test_constantofshape_int_shape_zero", kZeroDim},
};

// Cases that should work, or be rejected cleanly, but are not yet: real bugs. Each must still fail exactly as
// recorded in `now`; when a fix changes that, the test fails until the entry is deleted (the case passes) or
// moved to kExpectedUnsupported (it is now rejected cleanly at compile time).
const std::vector<Bug> kKnownBugs = {};

// The entry of `list` named `name`, or nullptr.
template <typename Entry>
const Entry* Find(const std::vector<Entry>& list, const std::string& name) {
  for (const Entry& e : list)
    if (name == e.name) return &e;
  return nullptr;
}

bool ReadFile(const fs::path& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *bytes = ss.str();
  return true;
}

bool ReadTensorProto(const fs::path& path, onnx::TensorProto* t) {
  std::string bytes;
  return ReadFile(path, &bytes) && t->ParseFromString(bytes);
}

struct Case {
  std::string name;  // the directory name, e.g. "test_conv_with_strides_padding"
  fs::path dir;
  std::string group;  // op type of the model's last node
  bool folded = false;
  onnx::ModelProto model;
};

// Every node test whose nodes are all of supported op types (default domain), sorted by name.
const std::vector<Case>& AllCases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> out;
    const std::vector<std::string> ops = SupportedOnnxOps();
    const std::set<std::string> supported(ops.begin(), ops.end());
    std::error_code ec;
    if (!fs::is_directory(kNodeDataDir, ec)) return out;
    for (const fs::directory_entry& e : fs::directory_iterator(kNodeDataDir, ec)) {
      const std::string name = e.path().filename().string();
      if (!e.is_directory() || name.rfind("test_", 0) != 0) continue;
      std::string bytes;
      Case c;
      if (!ReadFile(e.path() / "model.onnx", &bytes) || !c.model.ParseFromString(bytes)) continue;
      const onnx::GraphProto& g = c.model.graph();
      if (g.node_size() == 0 || !fs::is_directory(e.path() / "test_data_set_0")) continue;
      const bool all_supported = std::all_of(g.node().begin(), g.node().end(), [&](const onnx::NodeProto& n) {
        return (n.domain().empty() || n.domain() == "ai.onnx") && supported.count(n.op_type());
      });
      if (!all_supported) continue;
      c.name = name;
      c.dir = e.path();
      c.group = g.node(g.node_size() - 1).op_type();
      c.folded = kFoldedOnlyOps.count(c.group) > 0;
      out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
    return out;
  }();
  return cases;
}

struct Result {
  Outcome outcome;
  std::string message;
};

constexpr char kProbe[] = "q46_probe";

// The rewrite described at the top.
absl::StatusOr<std::string> RewriteModel(const Case& c) {
  onnx::ModelProto m = c.model;
  onnx::GraphProto* g = m.mutable_graph();
  std::set<std::string> inits;
  for (const auto& t : g->initializer()) inits.insert(t.name());
  std::vector<int> inputs;  // graph inputs that are not initializers: input_K.pb belongs to the K-th
  for (int i = 0; i < g->input_size(); ++i)
    if (!inits.count(g->input(i).name())) inputs.push_back(i);
  const fs::path data = c.dir / "test_data_set_0";
  std::set<int> baked;
  for (size_t k = c.folded ? 0 : 1; k < inputs.size(); ++k) {
    const fs::path pb = data / absl::StrCat("input_", k, ".pb");
    if (!fs::exists(pb)) continue;
    onnx::TensorProto t;
    if (!ReadTensorProto(pb, &t)) return absl::InternalError(absl::StrCat("cannot read ", pb.string()));
    t.set_name(g->input(inputs[k]).name());
    *g->add_initializer() = std::move(t);
    baked.insert(inputs[k]);
  }
  if (m.ir_version() >= 4) {  // IR 4+: initializers need not be inputs; drop them, as exporters do
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
    for (int i = 0; i < g->input_size(); ++i)
      if (!baked.count(i)) *kept.Add() = g->input(i);
    g->mutable_input()->Swap(&kept);
  }
  if (c.folded) {
    onnx::ValueInfoProto* probe = g->add_input();
    probe->set_name(kProbe);
    auto* tt = probe->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    for (int k = 0; k < g->output_size(); ++k) {
      onnx::ValueInfoProto& out = *g->mutable_output(k);
      const std::string y = out.name(), as_float = y + "/q46_float", probed = y + "/q46_probed";
      onnx::TensorProto want;  // the checker wants the output's shape: that of the expected value
      const fs::path pb = data / absl::StrCat("output_", k, ".pb");
      if (!ReadTensorProto(pb, &want)) return absl::InternalError(absl::StrCat("cannot read ", pb.string()));
      onnx::NodeProto* cast = g->add_node();
      cast->set_op_type("Cast");
      cast->set_name(y + "/q46_cast");
      cast->add_input(y);
      cast->add_output(as_float);
      onnx::AttributeProto* to = cast->add_attribute();
      to->set_name("to");
      to->set_type(onnx::AttributeProto::INT);
      to->set_i(onnx::TensorProto::FLOAT);
      onnx::NodeProto* add = g->add_node();
      add->set_op_type("Add");
      add->set_name(y + "/q46_add");
      add->add_input(kProbe);
      add->add_input(as_float);
      add->add_output(probed);
      out.set_name(probed);
      out.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
      onnx::TensorShapeProto* shape = out.mutable_type()->mutable_tensor_type()->mutable_shape();
      shape->clear_dim();
      for (int64_t d : want.dims()) shape->add_dim()->set_dim_value(d);
      if (want.dims_size() == 0) shape->add_dim()->set_dim_value(1);
    }
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return absl::InternalError("cannot serialize the rewritten model");
  return bytes;
}

absl::StatusOr<plan::Plan> Compile(const Case& c) {
  absl::StatusOr<std::string> bytes = RewriteModel(c);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<ir::Graph> g = ImportOnnxBytes(*bytes, c.name);
  if (!g.ok()) return g.status();
  CompileOptions options;
  options.all_float = true;
  if (absl::Status st = RunPipeline(*g, options, nullptr); !st.ok()) return st;
  return LowerToPlan(*g, LowerOptions{});
}

// Elementwise comparison; "" when within tolerance, else how many differ and the worst.
std::string Compare(const std::vector<int64_t>& got_dims, const float* got, const FloatTensor& want) {
  if (got_dims != want.dims)
    return absl::StrCat("dims [", absl::StrJoin(got_dims, ", "), "], expected [", absl::StrJoin(want.dims, ", "), "]");
  double worst = 0;
  int64_t worst_i = -1, bad = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    const double a = got[i], b = want.data[i];
    double ratio;
    if (std::isnan(b) || std::isnan(a)) ratio = std::isnan(a) && std::isnan(b) ? 0 : INFINITY;
    else if (std::isinf(b) || std::isinf(a)) ratio = a == b ? 0 : INFINITY;
    else ratio = std::fabs(a - b) / (kAtol + kRtol * std::fabs(b));
    if (ratio > 1) ++bad;
    if (ratio > worst || (worst_i < 0 && ratio > 1)) worst = ratio, worst_i = i;
  }
  if (bad == 0) return "";
  return absl::StrCat(bad, " of ", want.size(), " elements out of tolerance; worst at flat index ", worst_i,
                      ": got ", got[worst_i], ", expected ", want.data[worst_i]);
}

Result RunCase(const Case& c) {
  absl::StatusOr<plan::Plan> plan = Compile(c);
  if (!plan.ok()) return {Outcome::kCompileError, std::string(plan.status().ToString())};
  const fs::path data = c.dir / "test_data_set_0";
  FloatTensor x{{1}, {0.0f}};  // the probe, in folded mode
  if (!c.folded) {
    onnx::TensorProto x_proto;
    if (!ReadTensorProto(data / "input_0.pb", &x_proto)) return {Outcome::kRunError, "no input_0.pb"};
    if (absl::Status st = TensorFromProto(x_proto, &x); !st.ok()) return {Outcome::kRunError, st.ToString()};
  }
  std::unique_ptr<rt::Model> model;
  if (rt::Status st = rt::Model::FromPlan(*plan, &model); !st.ok())
    return {Outcome::kRunError, "runtime rejected the plan: " + st.message()};
  if (plan->inputs_size() != 1) return {Outcome::kRunError, absl::StrCat("plan has ", plan->inputs_size(), " inputs")};
  rt::Context ctx(*model);
  if (rt::Status st = ctx.SetInput(0, x.data.data(), x.data.size()); !st.ok())
    return {Outcome::kRunError, "SetInput: " + st.message()};
  ctx.Run();
  int expected_outputs = 0;
  while (fs::exists(data / absl::StrCat("output_", expected_outputs, ".pb"))) ++expected_outputs;
  if (plan->outputs_size() != expected_outputs)
    return {Outcome::kMismatch,
            absl::StrCat("plan has ", plan->outputs_size(), " outputs, test data ", expected_outputs)};
  for (int k = 0; k < expected_outputs; ++k) {
    onnx::TensorProto want_proto;
    FloatTensor want;
    if (!ReadTensorProto(data / absl::StrCat("output_", k, ".pb"), &want_proto))
      return {Outcome::kRunError, absl::StrCat("cannot read output_", k, ".pb")};
    if (absl::Status st = TensorFromProto(want_proto, &want); !st.ok())
      return {Outcome::kRunError, absl::StrCat("output_", k, ".pb: ", st.ToString())};
    if (c.folded && want.dims.empty()) want.dims = {1};  // Add(probe [1], scalar) is [1]
    size_t count = 0;
    const float* got = ctx.Output(k, &count);
    const plan::Tensor& t = plan->tensors(plan->outputs(k));
    const std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    if (static_cast<int64_t>(count) != FloatTensor::NumElements(dims))
      return {Outcome::kMismatch, absl::StrCat("output ", k, " has ", count, " elements for dims [",
                                               absl::StrJoin(dims, ", "), "]")};
    if (std::string diff = Compare(dims, got, want); !diff.empty())
      return {Outcome::kMismatch, absl::StrCat("output ", k, ": ", diff)};
  }
  return {Outcome::kPassed, ""};
}

// A clean compile error says where: a node (its name or op type), a graph input or output, an initializer, the
// opset, ONNX's own checker.
bool NamesWhere(const Case& c, const std::string& message) {
  for (const auto& n : c.model.graph().node())
    if ((!n.name().empty() && message.find(n.name()) != std::string::npos) ||
        message.find(absl::StrCat("(", n.op_type(), ", opset")) != std::string::npos)
      return true;
  for (const char* where : {"graph input '", "graph output '", "initializer", "opset", "ONNX rejected the model",
                            "non-constant input"})
    if (message.find(where) != std::string::npos) return true;
  return false;
}

struct Tally {
  int passed = 0, unsupported = 0, known_bugs = 0, failed = 0;
};

// Runs one case and checks it against the lists; failures are reported through gtest when `report`.
void CheckCase(const Case& c, bool report, Tally* tally) {
  SCOPED_TRACE(c.name + (c.folded ? " (folded mode)" : ""));
  const Result r = RunCase(c);
  if (const Listed* l = Find(kExpectedUnsupported, c.name)) {
    if (r.outcome != Outcome::kCompileError) {
      ++tally->failed;
      if (report)
        ADD_FAILURE() << c.name << " is in kExpectedUnsupported (" << l->reason << ") but "
                      << (r.outcome == Outcome::kPassed ? "compiles and matches: remove it from the list"
                                                        : "compiles, then fails: " + r.message);
    } else if (!NamesWhere(c, r.message)) {
      ++tally->failed;
      if (report) ADD_FAILURE() << c.name << ": the error does not say where: " << r.message;
    } else {
      ++tally->unsupported;
    }
  } else if (const Bug* b = Find(kKnownBugs, c.name)) {
    if (r.outcome != b->now) {
      ++tally->failed;
      if (report)
        ADD_FAILURE() << c.name << " is in kKnownBugs as " << OutcomeName(b->now) << " (" << b->what << ") but now "
                      << (r.outcome == Outcome::kPassed
                              ? "passes: delete the entry"
                              : std::string(r.outcome == Outcome::kCompileError
                                                ? "fails to compile (move it to kExpectedUnsupported if the bug is "
                                                  "fixed): "
                                                : "gives ") +
                                    OutcomeName(r.outcome) + " " + r.message);
    } else {
      ++tally->known_bugs;
    }
  } else if (r.outcome != Outcome::kPassed) {
    ++tally->failed;
    if (report) ADD_FAILURE() << c.name << ": " << r.message;
  } else {
    ++tally->passed;
  }
  if (report && std::getenv("Q46_CONFORMANCE_VERBOSE"))
    std::printf("  %-60s %-6s %s %s\n", c.name.c_str(), c.folded ? "folded" : "", OutcomeName(r.outcome),
                r.message.c_str());
}

bool HaveData() { return fs::is_directory(kNodeDataDir); }
constexpr char kNoData[] = "no ONNX conformance data at /usr/share/libonnx-testdata/data/node: install Debian's "
                           "libonnx-testdata (tools/install-deps.sh does)";

class Conformance : public testing::TestWithParam<std::string> {};

TEST_P(Conformance, Op) {
  ASSERT_TRUE(HaveData()) << kNoData;
  Tally t;
  int cases = 0;
  for (const Case& c : AllCases()) {
    if (c.group != GetParam()) continue;
    ++cases;
    CheckCase(c, /*report=*/true, &t);
  }
  if (cases == 0) GTEST_SKIP() << "ONNX has no node test for " << GetParam();
  std::printf("%s%s: %d cases passed, %d expected-unsupported, %d known bugs, %d failed\n", GetParam().c_str(),
              kFoldedOnlyOps.count(GetParam()) ? " (folded mode)" : "", t.passed, t.unsupported, t.known_bugs,
              t.failed);
}

INSTANTIATE_TEST_SUITE_P(OnnxNode, Conformance, testing::ValuesIn(SupportedOnnxOps()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(OnnxNodeConformance, ListsNameRealCases) {
  ASSERT_TRUE(HaveData()) << kNoData;
  std::set<std::string> names;
  for (const Case& c : AllCases()) names.insert(c.name);
  std::set<std::string> seen;
  for (const Listed& l : kExpectedUnsupported) {
    EXPECT_TRUE(names.count(l.name)) << "kExpectedUnsupported names " << l.name << ", not a case of supported ops";
    EXPECT_TRUE(seen.insert(l.name).second) << l.name << " is listed twice";
  }
  for (const Bug& l : kKnownBugs) {
    EXPECT_TRUE(names.count(l.name)) << "kKnownBugs names " << l.name << ", not a case of supported ops";
    EXPECT_TRUE(seen.insert(l.name).second) << l.name << " is listed twice";
  }
}

TEST(OnnxNodeConformance, Summary) {
  ASSERT_TRUE(HaveData()) << kNoData;
  Tally t;
  for (const Case& c : AllCases()) CheckCase(c, /*report=*/false, &t);
  std::printf("ONNX node conformance: %zu cases of supported ops: %d cases passed, %d expected-unsupported, "
              "%d known bugs, %d failed\n",
              AllCases().size(), t.passed, t.unsupported, t.known_bugs, t.failed);
  EXPECT_GT(t.passed, 0);
  EXPECT_EQ(t.failed, 0) << "see the OnnxNode/Conformance.Op/* tests for the failing cases";
}

}  // namespace
}  // namespace q46
