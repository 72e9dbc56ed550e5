// NetworkStepper (see network_stepper.h). Each node runs as a one-node plan through the runtime.
#include "passes/network_stepper.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "compiler/plan_writer.h"
#include "runtime/context.h"
#include "runtime/model.h"

namespace q46 {
namespace {

// The node's distinct non-constant inputs, in order.
std::vector<ir::ValueId> LiveInputs(const ir::Graph& g, const ir::Node& n) {
  std::vector<ir::ValueId> in;
  for (ir::ValueId v : n.inputs)
    if (!g.IsConstant(v) && std::find(in.begin(), in.end(), v) == in.end()) in.push_back(v);
  return in;
}

// Readers of each value among nodes [0, end).
std::map<ir::ValueId, int> CountReaders(const ir::Graph& g, int end) {
  std::map<ir::ValueId, int> readers;
  for (int i = 0; i < end; ++i)
    for (ir::ValueId v : LiveInputs(g, g.nodes[i])) ++readers[v];
  return readers;
}

int64_t PerSample(const ir::Graph& g, ir::ValueId v) {
  return FloatTensor::NumElements(g.values[v].dims) / g.values[v].dims[0];
}

}  // namespace

NetworkStepper::NetworkStepper(const ir::Graph& g, const FloatTensor& samples, int end)
    : g_(g), samples_(samples.dims[0]), readers_left_(CountReaders(g, end)) {
  FloatTensor input = samples;
  float_[g.inputs[0]] = input;
  quant_[g.inputs[0]] = std::move(input);
}

double NetworkStepper::MemoryBytes(const ir::Graph& g, int64_t samples, int end) {
  std::map<ir::ValueId, int> readers = CountReaders(g, end);
  double live = static_cast<double>(PerSample(g, g.inputs[0])), peak = live;
  for (int i = 0; i < end; ++i) {
    for (ir::ValueId v : g.nodes[i].outputs) live += static_cast<double>(PerSample(g, v));
    peak = std::max(peak, live);
    for (ir::ValueId v : LiveInputs(g, g.nodes[i]))
      if (--readers[v] == 0) live -= static_cast<double>(PerSample(g, v));
  }
  return 2 * peak * static_cast<double>(samples) * sizeof(float);
}

absl::Status NetworkStepper::RunNode(const ir::Node& n, bool quantized, std::map<ir::ValueId, FloatTensor>* values) {
  ir::Graph one;
  one.values.resize(g_.values.size());  // value ids stay the same; only the node's own values are filled in
  for (ir::ValueId v : n.inputs) one.values[v] = g_.values[v];
  one.values[n.outputs[0]] = g_.values[n.outputs[0]];
  one.inputs = LiveInputs(g_, n);
  one.outputs = {n.outputs[0]};
  one.nodes = {n};
  LowerOptions lo;
  lo.all_float = !quantized;
  lo.fake_quant = quantized;
  absl::StatusOr<plan::Plan> plan = LowerToPlan(one, lo);
  if (!plan.ok()) return plan.status();
  std::unique_ptr<rt::Model> model;
  if (rt::Status st = rt::Model::FromPlan(*std::move(plan), &model); !st.ok())
    return absl::InternalError(absl::StrCat("node '", n.name, "': ", st.message()));
  rt::Context ctx(*model);
  const int64_t batch = g_.values[n.outputs[0]].dims[0], per_out = PerSample(g_, n.outputs[0]);
  FloatTensor out{g_.values[n.outputs[0]].dims, std::vector<float>(static_cast<size_t>(samples_ * per_out))};
  out.dims[0] = samples_;
  std::vector<std::vector<float>> in(one.inputs.size());
  for (int64_t first = 0; first < samples_; first += batch) {
    const int64_t count = std::min(batch, samples_ - first);
    for (size_t i = 0; i < one.inputs.size(); ++i) {
      const int64_t per = PerSample(g_, one.inputs[i]);
      const FloatTensor& src = values->at(one.inputs[i]);
      in[i].resize(static_cast<size_t>(batch * per));
      for (int64_t b = 0; b < batch; ++b)  // a short last batch repeats its samples
        std::copy_n(src.data.begin() + (first + b % count) * per, per, in[i].begin() + b * per);
      if (rt::Status st = ctx.SetInput(i, in[i].data(), in[i].size()); !st.ok()) return absl::InternalError(st.message());
    }
    ctx.Run();
    size_t unused;
    const float* y = ctx.Output(0, &unused);
    std::copy_n(y, count * per_out, out.data.begin() + first * per_out);
  }
  (*values)[n.outputs[0]] = std::move(out);
  return absl::OkStatus();
}

absl::Status NetworkStepper::AdvanceTo(int node) {
  for (; next_ < node; ++next_) {
    const ir::Node& n = g_.nodes[next_];
    if (n.outputs.size() != 1) return absl::UnimplementedError(absl::StrCat("node '", n.name, "' has several outputs"));
    for (bool quantized : {false, true})
      if (absl::Status st = RunNode(n, quantized, quantized ? &quant_ : &float_); !st.ok()) return st;
    for (ir::ValueId v : LiveInputs(g_, n))
      if (--readers_left_[v] == 0) float_.erase(v), quant_.erase(v);
  }
  return absl::OkStatus();
}

}  // namespace q46
