// The loader refuses inconsistent plans with a message naming what is wrong, and never crashes: each test
// breaks one thing in a small valid plan (Quantize -> QuantConv) and checks the message. Also the file layer
// under it (runtime/file_io.h).
#include <cmath>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <thread>

#include <unistd.h>

#include "gtest/gtest.h"
#include "runtime/model.h"
#include "runtime/plan_file.h"
#include "test/test_util.h"

namespace q46::rt {
namespace {

plan::Plan ValidPlan() {
  test::QuantConvPlanSpec s;
  s.x = {1, 2, 5, 5};
  s.oc = 4, s.kernel = 3;
  s.weight_codes = std::string(4 * 2 * 9, '\x05');
  for (int i = 0; i < 4; ++i) s.weight_scales.push_back(0.01f), s.bias.push_back(i);
  return test::QuantConvPlan(s);
}

std::string LoadError(const plan::Plan& p) {
  std::unique_ptr<Model> m;
  Status st = Model::FromPlan(p, &m);
  return st.ok() ? "" : st.message();
}

TEST(PlanValidation, ValidPlanLoadsAndRuns) { EXPECT_EQ(LoadError(ValidPlan()), ""); }

struct Breakage {
  const char* what;
  std::function<void(plan::Plan&)> apply;
  const char* message;  // a fragment the error must contain
};

TEST(PlanValidation, BrokenPlansAreRefused) {
  const Breakage cases[] = {
      {"weight code outside [-h_w, h_w]", [](plan::Plan& p) { (*p.mutable_nodes(1)->mutable_quant_conv()->mutable_weight_codes())[7] = 12; }, "outside [-11, 11]"},
      {"N_x * N_w breaks the rule", [](plan::Plan& p) { p.mutable_nodes(1)->mutable_quant_conv()->set_weight_levels(25); p.mutable_tensors(1)->mutable_quant()->set_levels(25); }, "h_x * h_w <= 127"},
      {"even levels", [](plan::Plan& p) { p.mutable_tensors(1)->mutable_quant()->set_levels(24); }, "levels"},
      {"zero point outside the codes", [](plan::Plan& p) { p.mutable_tensors(1)->mutable_quant()->set_zero_point(23); }, "zero point"},
      {"negative scale", [](plan::Plan& p) { p.mutable_tensors(1)->mutable_quant()->set_scale(-1); }, "scale"},
      {"too few weight codes", [](plan::Plan& p) { p.mutable_nodes(1)->mutable_quant_conv()->mutable_weight_codes()->pop_back(); }, "weight codes hold"},
      {"bias count", [](plan::Plan& p) { p.mutable_nodes(1)->mutable_quant_conv()->add_bias(0); }, "biases"},
      {"output dims", [](plan::Plan& p) { p.mutable_tensors(2)->set_dims(2, 4); }, "do not follow"},
      {"zero dimension", [](plan::Plan& p) { p.mutable_tensors(0)->set_dims(0, 0); }, "dimension 0"},
      {"huge dimensions", [](plan::Plan& p) { p.mutable_tensors(0)->set_dims(2, int64_t{1} << 40); },
       "more than 2^31 elements"},
      {"reads before written", [](plan::Plan& p) { p.mutable_nodes()->SwapElements(0, 1); }, "before anything writes it"},
      {"tensor index out of range", [](plan::Plan& p) { p.mutable_nodes(1)->set_inputs(0, 99); }, "out of range"},
      {"written twice", [](plan::Plan& p) { p.mutable_nodes(1)->set_outputs(0, 1); }, "already defined"},
      {"no op", [](plan::Plan& p) { p.mutable_nodes(1)->clear_op(); }, "no op"},
      {"code output without quantization", [](plan::Plan& p) { p.mutable_tensors(1)->clear_quant(); }, "levels"},
      {"float input to a quantized conv", [](plan::Plan& p) { p.mutable_nodes(1)->set_inputs(0, 0); }, "dtype"},
      {"accumulator overflow", [](plan::Plan& p) { p.mutable_nodes(1)->mutable_quant_conv()->set_bias(0, 2147483000); }, "overflow"},
      {"stride 0", [](plan::Plan& p) { auto* w = p.mutable_nodes(1)->mutable_quant_conv()->mutable_window(); w->add_stride(0); w->add_stride(1); }, "stride"},
      {"groups 0", [](plan::Plan& p) { p.mutable_nodes(1)->mutable_quant_conv()->set_groups(0); }, "groups"},
      {"graph output is codes", [](plan::Plan& p) { p.set_outputs(0, 1); }, "not float32"},
      {"activation memory over the limit (refused before allocating)", [](plan::Plan& p) {
         for (const char* name : {"big1", "big2", "big3"}) {
           test::AddPlanTensor(p, name, {1, 2, 1 << 15, 1 << 15}, false);
           p.add_inputs(p.tensors_size() - 1);
         }
       }, "activation memory"},
      {"absurd tensor count", [](plan::Plan& p) { for (int i = 0; i < (1 << 14); ++i) test::AddPlanTensor(p, "t", {1}, false); }, "too many tensors"},
  };
  for (const Breakage& c : cases) {
    plan::Plan p = ValidPlan();
    c.apply(p);
    const std::string error = LoadError(p);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.what << ": got '" << error << "'";
  }
}

// x [1, 2, 5, 5] -> Slice (rows 1..3, columns 4 and 2) -> s [1, 2, 3, 2] -> Reduce (mean over rows and columns)
// -> r [1, 2] -> Unary (LeakyRelu) -> y [1, 2].
plan::Plan SliceReducePlan() {
  plan::Plan p;
  test::AddPlanTensor(p, "x", {1, 2, 5, 5}, false);
  test::AddPlanTensor(p, "s", {1, 2, 3, 2}, false);
  test::AddPlanTensor(p, "r", {1, 2}, false);
  test::AddPlanTensor(p, "y", {1, 2}, false);
  p.add_inputs(0);
  p.add_outputs(3);
  plan::Node* s = p.add_nodes();
  s->add_inputs(0), s->add_outputs(1);
  for (int64_t v : {0, 0, 1, 4}) s->mutable_slice()->add_starts(v);
  for (int64_t v : {1, 1, 1, -2}) s->mutable_slice()->add_steps(v);
  plan::Node* r = p.add_nodes();
  r->add_inputs(1), r->add_outputs(2);
  r->mutable_reduce()->set_kind(plan::Reduce::MEAN);
  r->mutable_reduce()->add_axes(3), r->mutable_reduce()->add_axes(2);
  plan::Node* u = p.add_nodes();
  u->add_inputs(2), u->add_outputs(3);
  u->mutable_unary()->mutable_activation()->set_kind(plan::Activation::LEAKY_RELU);
  u->mutable_unary()->mutable_activation()->set_alpha(0.1f);
  return p;
}

TEST(PlanValidation, BrokenSlicesReductionsAndActivationsAreRefused) {
  EXPECT_EQ(LoadError(SliceReducePlan()), "");
  auto slice = [](plan::Plan& p) { return p.mutable_nodes(0)->mutable_slice(); };
  auto reduce = [](plan::Plan& p) { return p.mutable_nodes(1)->mutable_reduce(); };
  auto activation = [](plan::Plan& p) { return p.mutable_nodes(2)->mutable_unary()->mutable_activation(); };
  const Breakage cases[] = {
      {"step of INT64_MIN on a one-element axis", [&](plan::Plan& p) { slice(p)->set_steps(0, INT64_MIN); }, "leave the input"},
      {"step of 2^62", [&](plan::Plan& p) { slice(p)->set_steps(1, int64_t{1} << 62); }, "leave the input"},
      {"step of 0", [&](plan::Plan& p) { slice(p)->set_steps(2, 0); }, "leave the input"},
      {"negative start", [&](plan::Plan& p) { slice(p)->set_starts(2, -1); }, "leave the input"},
      {"backwards past the first element", [&](plan::Plan& p) { slice(p)->set_starts(3, 1); }, "leave the input"},
      {"forwards past the last element", [&](plan::Plan& p) { slice(p)->set_starts(2, 3); }, "leave the input"},
      {"a start missing", [&](plan::Plan& p) { slice(p)->mutable_starts()->RemoveLast(); }, "a start and step per axis"},
      {"reduce axis out of range", [&](plan::Plan& p) { reduce(p)->set_axes(0, 4); }, "within the input's rank"},
      {"reduce axis negative", [&](plan::Plan& p) { reduce(p)->set_axes(0, -1); }, "within the input's rank"},
      {"reduce axis twice", [&](plan::Plan& p) { reduce(p)->set_axes(0, 2); }, "distinct"},
      {"reduce output dims", [&](plan::Plan& p) { p.mutable_tensors(2)->set_dims(1, 3); }, "are neither"},
      {"reduce kind", [&](plan::Plan& p) { reduce(p)->set_kind(static_cast<plan::Reduce::Kind>(9)); }, "unknown reduce kind"},
      {"activation alpha NaN", [&](plan::Plan& p) { activation(p)->set_alpha(NAN); }, "finite"},
      {"activation kind", [&](plan::Plan& p) { activation(p)->set_kind(static_cast<plan::Activation::Kind>(17)); },
       "unknown activation kind"},
  };
  for (const Breakage& c : cases) {
    plan::Plan p = SliceReducePlan();
    c.apply(p);
    const std::string error = LoadError(p);
    EXPECT_NE(error.find(c.message), std::string::npos) << c.what << ": got '" << error << "'";
  }
}

TEST(PlanFile, EveryFlippedByteAndEveryTruncationIsRefused) {
  std::string bytes;
  ASSERT_TRUE(SerializePlan(ValidPlan(), &bytes).ok());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string broken = bytes;
    broken[i] = static_cast<char>(broken[i] ^ 0x01);
    plan::Plan p;
    EXPECT_FALSE(ParsePlanBytes(broken.data(), broken.size(), &p).ok()) << "byte " << i;
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    plan::Plan p;
    EXPECT_FALSE(ParsePlanBytes(bytes.data(), n, &p).ok()) << n << " bytes";
  }
  plan::Plan p;
  EXPECT_TRUE(ParsePlanBytes(bytes.data(), bytes.size(), &p).ok());
}

// A tool's outputs are written all or none: one that cannot be written leaves the others (and any file they
// would replace) as they were, and no temporary file behind.
TEST(FileIo, OutputsAreWrittenAllOrNone) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("q46_file_io_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string a = (dir / "a").string(), b = (dir / "b").string(), old = "old", fresh = "fresh";
  ASSERT_TRUE(WriteFileAtomically(a, old).ok());
  const Status failed = WriteFilesAtomically({{a, &fresh}, {(dir / "missing" / "c").string(), &fresh}});
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("missing"), std::string::npos) << failed.message();
  std::string bytes;
  ASSERT_TRUE(ReadFileBytes(a, &bytes).ok());
  EXPECT_EQ(bytes, old);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // a alone: no temporaries
  ASSERT_TRUE(WriteFilesAtomically({{a, &fresh}, {b, &old}}).ok());
  ASSERT_TRUE(ReadFileBytes(a, &bytes).ok());
  EXPECT_EQ(bytes, fresh);
  ASSERT_TRUE(ReadFileBytes(b, &bytes).ok());
  EXPECT_EQ(bytes, old);
  EXPECT_FALSE(ReadFileBytes(dir.string(), &bytes).ok());  // a folder is not a regular file
  fs::remove_all(dir);
}

// A pipe is read to its end (past the first buffer), and refused once it passes the size limit.
TEST(FileIo, PipesAreReadToTheirEnd) {
  const auto sigpipe = std::signal(SIGPIPE, SIG_IGN);  // the writer's end, once the reader stops early
  const auto read_pipe = [](const std::string& content, uint64_t max_bytes, std::string* bytes) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    std::thread writer([&] {
      size_t done = 0;
      while (done < content.size()) {
        const ssize_t n = ::write(fds[1], content.data() + done, content.size() - done);
        if (n <= 0) break;  // the reader gave up and closed its end
        done += static_cast<size_t>(n);
      }
      ::close(fds[1]);
    });
    const Status st = ReadFileBytes("/dev/fd/" + std::to_string(fds[0]), bytes, max_bytes);
    ::close(fds[0]);
    writer.join();
    return st;
  };
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + i / 4096);
  std::string bytes;
  ASSERT_TRUE(read_pipe(content, kMaxFileBytes, &bytes).ok());
  EXPECT_EQ(bytes, content);
  ASSERT_TRUE(read_pipe(content, content.size(), &bytes).ok());  // exactly at the limit
  EXPECT_EQ(bytes, content);
  const Status over = read_pipe(content, content.size() - 1, &bytes);
  EXPECT_FALSE(over.ok());
  EXPECT_NE(over.message().find("more than the limit"), std::string::npos) << over.message();
  std::signal(SIGPIPE, sigpipe);
}

}  // namespace
}  // namespace q46::rt
