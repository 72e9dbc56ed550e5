//===- calibrate_ranges.cc - Measure activation ranges on sample data -----===//
//
// The float network is lowered to a plan whose extra outputs are the inputs of every quantized layer, and run
// by the runtime (the compiler links the runtime, never the reverse) on the calibration samples, a model batch
// at a time. Each observed value gets a range: its min and max, or (--range-method percentile) the
// p-th and (100-p)-th percentiles of up to kMaxKept values per tensor, sampled at an even stride, or
// (--range-method mse) the shrunk range whose quantization error on those values is least.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compiler/plan_writer.h"
#include "passes/clip_search.h"
#include "passes/pass.h"
#include "runtime/context.h"
#include "runtime/model.h"

namespace q46 {
namespace {

constexpr size_t kMaxKept = size_t{1} << 21;

struct Observer {
  float lo = INFINITY, hi = -INFINITY;
  std::vector<float> kept;
  size_t stride = 1;
  size_t seen = 0;
  bool finite = true;

  void Add(const float* v, size_t n, bool keep) {
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(v[i])) {
        finite = false;
        continue;
      }
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
      if (keep && seen++ % stride == 0) kept.push_back(v[i]);
    }
  }
  float Percentile(double p) {
    if (kept.empty()) return 0;
    const size_t k = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(kept.size() - 1)));
    std::nth_element(kept.begin(), kept.begin() + static_cast<long>(k), kept.end());
    return kept[k];
  }
};

}  // namespace

absl::Status CalibrateRanges(ir::Graph& g, PassContext& ctx) {
  const CompileOptions& o = ctx.options;
  std::vector<ir::ValueId> observed;
  std::vector<int32_t> levels;  // N_x of the value's first quantized reader (what the MSE search optimises for)
  for (const ir::Node& n : g.nodes) {
    const auto* c = ir::AttrsIf<ir::ConvAttrs>(n);
    if (c && c->quant && std::find(observed.begin(), observed.end(), n.inputs[0]) == observed.end()) {
      observed.push_back(n.inputs[0]);
      levels.push_back(c->quant->precision.nx);
    }
  }
  if (observed.empty()) {
    ctx.summary = "nothing to calibrate (no quantized layer)";
    return absl::OkStatus();
  }
  if (!o.calibration) return absl::InvalidArgumentError("quantized layers need calibration data (--calib), or use --float");
  if (g.inputs.size() != 1) return absl::UnimplementedError("calibration supports models with one input");
  const bool percentile = o.range_method == "percentile", mse = o.range_method == "mse";
  if (!percentile && !mse && o.range_method != "minmax")
    return absl::InvalidArgumentError(absl::StrCat("unknown range method '", o.range_method, "' (minmax, percentile, mse)"));

  const std::vector<int64_t>& in_dims = g.values[g.inputs[0]].dims;
  const FloatTensor& data = *o.calibration;
  const std::vector<int64_t> sample_dims(in_dims.begin() + 1, in_dims.end());
  if (data.dims.size() != in_dims.size() || !std::equal(sample_dims.begin(), sample_dims.end(), data.dims.begin() + 1))
    return absl::InvalidArgumentError(absl::StrCat("calibration samples are [", absl::StrJoin(data.dims, ", "),
                                                   "] but the model input is [", absl::StrJoin(in_dims, ", "), "]"));
  LowerOptions lo;
  lo.all_float = true;
  lo.extra_outputs = observed;
  absl::StatusOr<plan::Plan> plan = LowerToPlan(g, lo);
  if (!plan.ok()) return plan.status();
  std::unique_ptr<rt::Model> model;
  if (rt::Status st = rt::Model::FromPlan(*std::move(plan), &model); !st.ok())
    return absl::InternalError("float plan for calibration: " + st.message());
  rt::Context run(*model);

  const int64_t batch = in_dims[0], per_sample = FloatTensor::NumElements(sample_dims), total = data.dims[0];
  std::vector<Observer> obs(observed.size());
  for (size_t i = 0; i < obs.size(); ++i) {
    const size_t values = static_cast<size_t>(FloatTensor::NumElements(g.values[observed[i]].dims) / batch * total);
    obs[i].stride = std::max<size_t>(1, values / kMaxKept);
  }
  std::vector<float> input(static_cast<size_t>(batch * per_sample));
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  for (int64_t start = 0; start < total; start += batch) {
    const auto now = std::chrono::steady_clock::now();
    if (o.progress && now - last_report > std::chrono::seconds(1)) {
      const double secs = std::chrono::duration<double>(now - started).count();
      std::fprintf(stderr, "\rcalibrate-ranges: %lld / %lld samples, %.0f s left ", static_cast<long long>(start),
                   static_cast<long long>(total), secs / static_cast<double>(start) * static_cast<double>(total - start));
      last_report = now;
    }
    const int64_t real = std::min(batch, total - start);
    for (int64_t b = 0; b < batch; ++b) {  // a short last batch repeats its samples; only real ones are observed
      const int64_t src = start + (b < real ? b : b % real);
      std::copy_n(data.data.begin() + src * per_sample, per_sample, input.begin() + b * per_sample);
    }
    if (rt::Status st = run.SetInput(0, input.data(), input.size()); !st.ok()) return absl::InternalError(st.message());
    run.Run();
    for (size_t i = 0; i < obs.size(); ++i) {
      size_t count;
      const float* out = run.Output(g.outputs.size() + i, &count);
      obs[i].Add(out, count / static_cast<size_t>(batch) * static_cast<size_t>(real), percentile || mse);
    }
  }
  if (o.progress && last_report != started) std::fprintf(stderr, "\n");
  for (size_t i = 0; i < obs.size(); ++i) {
    ir::Value& v = g.values[observed[i]];
    if (!obs[i].finite)
      return absl::InvalidArgumentError(absl::StrCat("value '", v.name, "' is NaN or infinite on calibration data"));
    ir::Range r{obs[i].lo, obs[i].hi};
    if (percentile) r = {obs[i].Percentile(100.0 - o.percentile), obs[i].Percentile(o.percentile)};
    if (mse) MseActivationRange(obs[i].kept, r.lo, r.hi, levels[i], &r.lo, &r.hi);
    v.range = r;
  }
  ctx.summary = absl::StrCat(observed.size(), " activation ranges from ", total, " samples (", o.range_method, ")");
  return absl::OkStatus();
}

}  // namespace q46
