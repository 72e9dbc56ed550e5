// Test helpers (see test_util.h).
#include "test/test_util.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "compiler/data/sample_source.h"
#include "compiler/onnx_importer.h"
#include "compiler/plan_writer.h"
#include "compiler/simulate.h"
#include "runtime/context.h"
#include "runtime/model.h"

namespace q46::test {

std::string ModelsDir() {
  const char* d = std::getenv("Q46_TEST_MODELS");
  return d ? d : "";
}

plan::Tensor* AddPlanTensor(plan::Plan& p, const char* name, const std::vector<int64_t>& dims, bool codes) {
  plan::Tensor* t = p.add_tensors();
  t->set_name(name);
  for (int64_t d : dims) t->add_dims(d);
  t->set_dtype(codes ? plan::UINT8_CODES : plan::FLOAT32);
  if (codes) {
    t->mutable_quant()->set_scale(0.1f);
    t->mutable_quant()->set_zero_point(3);
    t->mutable_quant()->set_levels(23);
  }
  return t;
}

plan::Plan QuantConvPlan(const QuantConvPlanSpec& s) {
  const auto out = [&](int64_t in) { return (in + 2 * s.pad - s.kernel) / s.stride + 1; };
  plan::Plan p;
  AddPlanTensor(p, "x", s.x, false);
  AddPlanTensor(p, "xq", s.x, true);
  AddPlanTensor(p, "y", {s.x[0], s.oc, out(s.x[2]), out(s.x[3])}, false);
  p.add_inputs(0);
  p.add_outputs(2);
  plan::Node* q = p.add_nodes();
  q->set_name("quantize");
  q->add_inputs(0);
  q->add_outputs(1);
  q->mutable_quantize();
  plan::Node* c = p.add_nodes();
  c->set_name("conv");
  c->add_inputs(1);
  c->add_outputs(2);
  plan::QuantConv* qc = c->mutable_quant_conv();
  plan::Window* w = qc->mutable_window();
  for (int i = 0; i < 2; ++i) {
    w->add_kernel(s.kernel);
    if (s.stride != 1) w->add_stride(s.stride);
  }
  for (int i = 0; i < 4 && s.pad != 0; ++i) w->add_pads(s.pad);
  qc->set_groups(1);
  qc->set_weight_levels(23);
  qc->set_weight_codes(s.weight_codes);
  for (float scale : s.weight_scales) qc->add_weight_scales(scale);
  for (int32_t b : s.bias) qc->add_bias(b);
  return p;
}

absl::StatusOr<plan::Plan> CompileOnnx(const std::string& path, const CompileOptions& options) {
  absl::StatusOr<ir::Graph> g = ImportOnnxFile(path);
  if (!g.ok()) return g.status();
  if (absl::Status st = RunPipeline(*g, options, nullptr); !st.ok()) return st;
  return LowerToPlan(*g, LowerOptions{});
}

namespace {

// Calls run(batch_input) -> first output, for each model batch of `input`; concatenates the real rows.
template <typename RunBatch>
absl::StatusOr<FloatTensor> Batched(const plan::Plan& plan, const FloatTensor& input, RunBatch run) {
  const plan::Tensor& in = plan.tensors(plan.inputs(0));
  const std::vector<int64_t> in_dims(in.dims().begin(), in.dims().end());
  const int64_t batch = in_dims[0], total = input.dims[0];
  FloatTensor out;
  for (int64_t start = 0; start < total; start += batch) {
    FloatTensor x = Batch(input, start, batch);
    const int64_t real = x.dims[0];
    if (real < batch) {  // repeat the last sample to fill the model batch
      const int64_t per = x.size() / real;
      for (int64_t i = real; i < batch; ++i) x.data.insert(x.data.end(), x.data.end() - per, x.data.end());
    }
    x.dims = in_dims;
    absl::StatusOr<FloatTensor> y = run(x);
    if (!y.ok()) return y.status();
    const int64_t per_out = y->size() / batch;
    if (out.dims.empty()) {
      out.dims = y->dims;
      out.dims[0] = 0;
    }
    out.dims[0] += real;
    out.data.insert(out.data.end(), y->data.begin(), y->data.begin() + real * per_out);
  }
  return out;
}

}  // namespace

absl::StatusOr<FloatTensor> RunPlan(const plan::Plan& plan, const FloatTensor& input) {
  std::unique_ptr<rt::Model> model;
  if (rt::Status st = rt::Model::FromPlan(plan, &model); !st.ok()) return absl::InvalidArgumentError(st.message());
  rt::Context ctx(*model);
  ctx.set_threads(2);  // results must not depend on the thread count: exercise the split paths
  return Batched(plan, input, [&](const FloatTensor& x) -> absl::StatusOr<FloatTensor> {
    if (rt::Status st = ctx.SetInput(0, x.data.data(), x.data.size()); !st.ok())
      return absl::InvalidArgumentError(st.message());
    ctx.Run();
    size_t count;
    const float* y = ctx.Output(0, &count);
    const plan::Tensor& t = plan.tensors(plan.outputs(0));
    return FloatTensor{{t.dims().begin(), t.dims().end()}, std::vector<float>(y, y + count)};
  });
}

absl::StatusOr<FloatTensor> SimulatePlanBatched(const plan::Plan& plan, const FloatTensor& input) {
  return Batched(plan, input, [&](const FloatTensor& x) -> absl::StatusOr<FloatTensor> {
    absl::StatusOr<std::vector<FloatTensor>> y = SimulatePlan(plan, {x});
    if (!y.ok()) return y.status();
    return std::move((*y)[0]);
  });
}

double ToleranceRatio(const FloatTensor& a, const FloatTensor& b, double atol, double rtol) {
  if (a.data.size() != b.data.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    const double d = std::fabs(double{a.data[i]} - b.data[i]);
    if (!(d <= 1e300)) return INFINITY;  // NaN
    worst = std::max(worst, d / (atol + rtol * std::fabs(double{b.data[i]})));
  }
  return worst;
}

int64_t BitDifferences(const FloatTensor& a, const FloatTensor& b) {
  if (a.data.size() != b.data.size()) return -1;
  int64_t n = 0;
  for (size_t i = 0; i < a.data.size(); ++i) n += std::memcmp(&a.data[i], &b.data[i], sizeof(float)) != 0;
  return n;
}

}  // namespace q46::test
