//===- reconstruct_layers.cc - Choose weight codes that reproduce each layer ===//
//
// Front to back over the quantized layers: the layer's input is taken from the network whose earlier layers
// are already quantized (corrected inputs, run fake-quantized at float speed) and its target from the float
// network. Both networks are stepped forward node by node over all samples (network_stepper.h), or, when their
// live values would not fit in memory, cut to what the layer needs and rerun for each layer. The layer's reconstruction
// statistics (layer_gram.h) feed the rounding search (rounding_search.h: --calib-method none, adaquant or
// adaround, plus bias correction), whose codes and bias replace the nearest-rounded ones of quantize-weights.
// Scales and activation ranges are not changed here. Deterministic for a given --seed.
//
//===----------------------------------------------------------------------===//
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "passes/layer_gram.h"
#include "passes/network_stepper.h"
#include "passes/pass.h"
#include "passes/rounding_search.h"
#include "passes/sample_runner.h"

namespace q46 {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// Rows sampled per calibration sample: enough for a well-determined problem (several times K'), few enough that
// accumulating H (rows * K'^2) stays cheap, never more than 65,536 in all.
int64_t RowsPerSample(int64_t field, int64_t samples) {
  const int64_t kp = field + 1;
  const int64_t rows = std::min<int64_t>(65536, std::max<int64_t>(4 * kp, (int64_t{1} << 32) / (kp * kp)));
  return (rows + samples - 1) / samples;
}

GramBuilder MakeGramBuilder(const ir::Graph& g, const ir::Node& n, double drop, int64_t samples, uint64_t seed) {
  const auto& q = *std::get<ir::ConvAttrs>(n.attrs).quant;
  const ConvGeometry geo = ConvGeometry::Of(g, n);
  const FloatTensor* bias = n.inputs.size() > 2 ? &*g.values[n.inputs[2]].constant : nullptr;
  return GramBuilder(geo, g.values[n.inputs[1]].constant->data, bias ? bias->data : std::vector<float>{}, q.in_scale,
                     q.in_zero_point, q.precision.nx, drop, RowsPerSample(geo.FieldSize(), samples), seed);
}

// The layer's input in both networks from the stepper, which holds them for every sample.
absl::Status FeedFromStepper(NetworkStepper& stepper, int node, ir::ValueId x, GramBuilder* gram) {
  if (absl::Status st = stepper.AdvanceTo(node); !st.ok()) return st;
  const FloatTensor &q = stepper.Quantized(x), &f = stepper.Float(x);
  const int64_t per = f.size() / f.dims[0];
  for (int64_t s = 0; s < f.dims[0]; ++s) gram->AddSample(s, q.data.data() + s * per, f.data.data() + s * per);
  return absl::OkStatus();
}

// The layer's input in both networks by running, over the samples, the part of each network it depends on.
absl::Status FeedFromPrefixRuns(const ir::Graph& g, const ir::Node& n, const FloatTensor& samples, GramBuilder* gram) {
  const ir::Graph slice = g.SliceTo({n.inputs[0]});
  LowerOptions float_net, quant_net;
  float_net.all_float = true;
  quant_net.fake_quant = true;
  absl::StatusOr<std::unique_ptr<SampleRunner>> f = SampleRunner::Create(slice, float_net, samples);
  if (!f.ok()) return f.status();
  absl::StatusOr<std::unique_ptr<SampleRunner>> qn = SampleRunner::Create(slice, quant_net, samples);
  if (!qn.ok()) return qn.status();
  const int64_t size = (*f)->OutputSampleSize(0);
  for (;;) {
    bool more_q = false;
    std::thread quant_batch([&] { more_q = (*qn)->Next(); });  // the two networks run side by side
    const bool more_f = (*f)->Next();
    quant_batch.join();
    if (!more_f || !more_q) break;
    for (int64_t b = 0; b < (*f)->count(); ++b)
      gram->AddSample((*f)->first() + b, (*qn)->Output(0) + b * size, (*f)->Output(0) + b * size);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReconstructLayers(ir::Graph& g, PassContext& ctx) {
  const CompileOptions& o = ctx.options;
  if (o.calib_method != "none" && o.calib_method != "adaquant" && o.calib_method != "adaround")
    return absl::InvalidArgumentError(
        absl::StrCat("unknown calibration method '", o.calib_method, "' (none, adaquant, adaround)"));
  std::vector<int> layers;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    const auto* c = ir::AttrsIf<ir::ConvAttrs>(g.nodes[i]);
    if (c && c->quant) layers.push_back(i);
  }
  if (layers.empty() || (o.calib_method == "none" && !o.bias_correction)) {
    ctx.summary = layers.empty() ? "nothing to do (no quantized layer)" : "off (nearest rounding)";
    return absl::OkStatus();
  }
  // Work per optimisation step, for sharing a time budget between layers.
  std::vector<double> work;
  double work_left = 0;
  for (int i : layers) {
    work.push_back(ConvGeometry::Of(g, g.nodes[i]).FitStepWork());
    work_left += work.back();
  }
  const int64_t samples = o.calibration->dims[0];
  std::optional<NetworkStepper> stepper;
  if (NetworkStepper::MemoryBytes(g, samples, layers.back() + 1) <= o.reconstruct_memory)
    stepper.emplace(g, *o.calibration, layers.back() + 1);
  const Clock::time_point started = Clock::now();
  double sum_before = 0, sum_after = 0;
  int steps_total = 0;
  for (size_t li = 0; li < layers.size(); ++li) {
    ir::Node& n = g.nodes[layers[li]];
    const Clock::time_point layer_start = Clock::now();
    GramBuilder builder = MakeGramBuilder(g, n, o.calib_drop, samples, o.seed + li);
    if (absl::Status st = stepper ? FeedFromStepper(*stepper, layers[li], n.inputs[0], &builder)
                                  : FeedFromPrefixRuns(g, n, *o.calibration, &builder);
        !st.ok())
      return st;
    const std::vector<LayerGram> grams = builder.Finish();
    const double gather_seconds = Seconds(layer_start);

    RoundingOptions ro;
    ro.method = o.calib_method;
    ro.steps = o.calib_steps;
    ro.learning_rate = o.calib_learning_rate;
    ro.bias_correction = o.bias_correction;
    if (o.calib_time_budget > 0 && ro.method != "none") {
      // This layer's share of what is left of the budget, in steps at the measured cost of one with the whole
      // product (AdaQuant's steps mostly update it for less, so the budget is rarely used up).
      const double share = std::max(0.0, o.calib_time_budget - Seconds(started)) * work[li] / work_left;
      ReconstructionObjective probe(grams[0]);
      std::vector<float> w(static_cast<size_t>(grams[0].out * grams[0].k), 0.0f), grad;
      const Clock::time_point t = Clock::now();
      probe.Gradient(w, &grad);
      const double per_step = 1.5 * Seconds(t) * static_cast<double>(grams.size());
      ro.steps = static_cast<int>(std::min<double>(ro.steps, share / std::max(per_step, 1e-9)));
      if (ro.steps < 20) ro.method = "none";  // too few steps to anneal: plain rounding and bias correction
    }
    work_left -= work[li];

    auto& conv = std::get<ir::ConvAttrs>(n.attrs);
    ir::ConvQuant& q = *conv.quant;
    const FloatTensor& w = *g.values[n.inputs[1]].constant;
    const FloatTensor* bias = n.inputs.size() > 2 ? &*g.values[n.inputs[2]].constant : nullptr;
    const int64_t k = ConvGeometry::Of(g, n).FieldSize(), out_g = grams[0].out;
    double before = 0, after = 0, energy = 0;
    int steps = 0;
    for (size_t gi = 0; gi < grams.size(); ++gi) {
      GroupWeights start;
      start.out = out_g;
      start.k = k;
      start.codes = arith::WeightCodes(q.precision.nw);
      const int64_t first = static_cast<int64_t>(gi) * out_g;
      start.w.assign(w.data.begin() + first * k, w.data.begin() + (first + out_g) * k);
      for (int64_t c = 0; c < out_g; ++c) {
        start.bias.push_back(bias ? bias->data[first + c] : 0.0f);
        start.scale.push_back(q.weight_scales[q.per_channel ? first + c : 0]);
      }
      const RoundingResult r = SearchRounding(ReconstructionObjective(grams[gi]), start, ro);
      for (int64_t c = 0; c < out_g; ++c) {
        for (int64_t j = 0; j < k; ++j) q.weight_codes[(first + c) * k + j] = static_cast<int8_t>(r.codes[c * k + j]);
        q.bias[first + c] = arith::QuantizeBias(r.bias[c], arith::AccumulatorScale(q.in_scale, start.scale[c]));
      }
      before += r.error_nearest, after += r.error, energy += r.target_energy;
      steps = std::max(steps, r.steps);
    }
    const double rel_before = before / std::max(energy, 1e-30), rel_after = after / std::max(energy, 1e-30);
    sum_before += rel_before, sum_after += rel_after, steps_total += steps;
    if (o.progress)
      std::fprintf(stderr, "reconstruct: [%zu/%zu] %-24s %-8s %5d steps  relative error %.3e -> %.3e  (%.1f s: %.1f s data)\n",
                   li + 1, layers.size(), n.name.c_str(), ro.method.c_str(), steps, rel_before, rel_after,
                   Seconds(layer_start), gather_seconds);
  }
  const double count = static_cast<double>(layers.size());
  ctx.summary = absl::StrFormat("%d layers, %s%s%s: mean relative output error %.3e -> %.3e", layers.size(),
                                o.calib_method, o.calib_drop > 0 ? absl::StrFormat(" (QDrop %g)", o.calib_drop) : "",
                                o.bias_correction ? " + bias correction" : "", sum_before / count, sum_after / count);
  if (steps_total > 0) absl::StrAppend(&ctx.summary, ", ", steps_total, " steps");
  return absl::OkStatus();
}

}  // namespace q46
