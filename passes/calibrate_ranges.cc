//===- calibrate_ranges.cc - Measure activation ranges on sample data -----===//
//
// The float network, cut to the inputs of every quantized layer, is run by the runtime (the compiler links the
// runtime, never the reverse) on the calibration samples, a model batch at a time. Each observed value gets a
// range: its min and max, or (--range-method percentile) the p-th and (100-p)-th percentiles of up to kMaxKept
// values per tensor, sampled at an even stride, or (--range-method mse) the shrunk range whose quantization
// error on those values is least.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "passes/clip_search.h"
#include "passes/pass.h"
#include "passes/sample_runner.h"

namespace q46 {
namespace {

constexpr size_t kMaxKept = size_t{1} << 18;

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
  if (absl::Status st = CheckRangeOptions(o); !st.ok()) return st;
  const bool percentile = o.range_method == "percentile", mse = o.range_method == "mse";

  LowerOptions lo;
  lo.all_float = true;
  absl::StatusOr<std::unique_ptr<SampleRunner>> runner = SampleRunner::Create(g.SliceTo(observed), lo, *o.calibration);
  if (!runner.ok()) return runner.status();
  const int64_t total = o.calibration->dims[0];
  std::vector<Observer> obs(observed.size());
  for (size_t i = 0; i < obs.size(); ++i) {
    const size_t values = static_cast<size_t>((*runner)->OutputSampleSize(i) * total);
    obs[i].stride = std::max<size_t>(1, values / kMaxKept);
  }
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  while ((*runner)->Next()) {
    const SampleRunner& r = **runner;
    for (size_t i = 0; i < obs.size(); ++i)
      obs[i].Add(r.Output(i), static_cast<size_t>(r.OutputSampleSize(i) * r.count()), percentile || mse);
    const auto now = std::chrono::steady_clock::now();
    if (o.live_progress && now - last_report > std::chrono::seconds(1)) {
      const double secs = std::chrono::duration<double>(now - started).count();
      const int64_t done = r.first() + r.count();
      std::fprintf(stderr, "\rcalibrate-ranges: %lld / %lld samples, %.0f s left ", static_cast<long long>(done),
                   static_cast<long long>(total), secs / static_cast<double>(done) * static_cast<double>(total - done));
      last_report = now;
    }
  }
  if (o.live_progress && last_report != started) std::fprintf(stderr, "\n");
  for (size_t i = 0; i < obs.size(); ++i) {
    ir::Value& v = g.values[observed[i]];
    if (!obs[i].finite)
      return absl::InvalidArgumentError(absl::StrCat("value '", v.name,
                                                     "' is NaN or infinite on calibration data: from the samples, or "
                                                     "from a weight, bias or constant before it"));
    ir::Range r{obs[i].lo, obs[i].hi};
    if (percentile) r = {obs[i].Percentile(100.0 - o.percentile), obs[i].Percentile(o.percentile)};
    if (mse) MseActivationRange(obs[i].kept, r.lo, r.hi, levels[i], &r.lo, &r.hi);
    // A value that never varies gets a zero-width range: its quantization would be meaningless on real data.
    if (!(obs[i].hi > obs[i].lo))
      return absl::InvalidArgumentError(absl::StrCat(
          "value '", v.name, "' is constant (", obs[i].lo, ") on all ", total,
          " calibration samples: the samples may be blank or identical (--calib), or the layers before it give a "
          "constant (zero weights, a ReLU that never fires)"));
    v.range = r;
  }
  ctx.summary = absl::StrCat(observed.size(), " activation ranges from ", total, " samples (", o.range_method, ")");
  return absl::OkStatus();
}

absl::Status CheckRangeOptions(const CompileOptions& o) {
  const bool percentile = o.range_method == "percentile";
  if (!percentile && o.range_method != "mse" && o.range_method != "minmax")
    return absl::InvalidArgumentError(absl::StrCat("unknown range method '", o.range_method, "' (minmax, percentile, mse)"));
  if (percentile && !(o.percentile > 50 && o.percentile <= 100))
    return absl::InvalidArgumentError(absl::StrCat("percentile ", o.percentile,
                                                   " is not in (50, 100]: the range runs from the (100 - p)-th to the "
                                                   "p-th percentile"));
  return absl::OkStatus();
}

}  // namespace q46
