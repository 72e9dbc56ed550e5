// q46bench: latency of a compiled plan through the runtime: warm-up, then the median and spread of whole-network
// runs, per-layer times with MACs per cycle (the clock measured in the same run), for a chosen ISA and thread
// count. With several threads it also reports, before and after the timed runs, the round trip between two cores
// (core_round_trip.h) and how alike their speeds are (core_speed.h). --json prints one object on stdout
// (median_ms: the whole-network median) for scripts in bench/.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/context.h"
#include "runtime/model.h"
#include "runtime/ops/op_builder.h"
#include "tools/core_round_trip.h"
#include "tools/core_speed.h"
#include "tools/cpu_clock.h"
#include "tools/tool_common.h"

namespace cl = llvm::cl;

namespace {

cl::OptionCategory kBench("Benchmark");
cl::opt<std::string> plan_path(cl::Positional, cl::desc("<model.q46>"), cl::Required, cl::cat(kBench));
cl::opt<unsigned> threads("threads", cl::desc("Threads each layer is split over (default 1)"), cl::init(1),
                          cl::cat(kBench));
cl::opt<std::string> isa("isa", cl::desc("Highest instruction set: ref, avx2, avx512, vnni, for the integer kernels "
                                         "and (unless DNNL_MAX_CPU_ISA is set) oneDNN's float layers (default: "
                                         "Q46_ISA for the integer kernels, else this CPU's best)"),
                         cl::cat(kBench));
cl::opt<unsigned> repeats("repeats", cl::desc("Timed whole-network runs"), cl::init(50), cl::cat(kBench));
cl::opt<double> min_seconds("min-time", cl::desc("Keep running past --repeats until this many seconds are timed"),
                            cl::init(1.0), cl::cat(kBench));
cl::opt<unsigned> warmup("warmup", cl::desc("Untimed runs first"), cl::init(5), cl::cat(kBench));
cl::opt<bool> layers("layers", cl::desc("Also time each layer (extra runs; on by default)"), cl::init(true),
                     cl::cat(kBench));
cl::opt<bool> fuse("fuse",
                   cl::desc("Fuse residual Adds and Quantizes into the convolutions before them at load, as the "
                            "runtime does by default (--fuse=false: the plan's nodes as written, for comparison)"),
                   cl::init(true), cl::cat(kBench));
cl::opt<bool> json("json", cl::desc("Print one JSON object on stdout"), cl::cat(kBench));

struct Spread {
  double median, p10, p90, min;
};
Spread SpreadOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9), v.front()};
}

// Multiply-accumulates of a convolution node (0 for other ops).
int64_t MacsOf(const q46::plan::Plan& plan, const q46::plan::Node& node) {
  const q46::plan::Window* window = nullptr;
  int64_t groups = 1;
  bool transposed = false;
  if (node.has_quant_conv()) window = &node.quant_conv().window(), groups = node.quant_conv().groups();
  if (node.has_float_conv())
    window = &node.float_conv().window(), groups = node.float_conv().groups(),
    transposed = node.float_conv().transposed();
  if (!window || groups < 1) return 0;
  int64_t kernel = 1;
  for (int64_t k : window->kernel()) kernel *= k;
  const std::vector<int64_t> x = q46::rt::DimsOf(plan.tensors(node.inputs(0)));
  const std::vector<int64_t> y = q46::rt::DimsOf(plan.tensors(node.outputs(0)));
  const int64_t x_elems = q46::rt::NumElements(plan.tensors(node.inputs(0)));
  const int64_t y_elems = q46::rt::NumElements(plan.tensors(node.outputs(0)));
  if (x.size() < 2 || y.size() < 2) return 0;
  // Each output element takes (C_in / groups) * kernel products; transposed: each input element gives that many.
  return transposed ? x_elems * (y[1] / groups) * kernel : y_elems * (x[1] / groups) * kernel;
}

std::string OpKind(const q46::plan::Node& node) {
  switch (node.op_case()) {
    case q46::plan::Node::kQuantConv: return "quant_conv";
    case q46::plan::Node::kFloatConv: return "float_conv";
    case q46::plan::Node::kPool: return "pool";
    case q46::plan::Node::kBinary: return "binary";
    case q46::plan::Node::kQuantize: return "quantize";
    case q46::plan::Node::kDequantize: return "dequantize";
    default: return "other";
  }
}

// Seconds of steady clock since `start`.
double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

absl::Status Main() {
  using q46::rt::Status;
  q46::rt::LoadOptions options;
  if (Status st = isa.empty() ? q46::rt::LoadOptionsFromEnvironment(&options)
                              : q46::rt::ResolveIsa(isa, &options.max_isa);
      !st.ok())
    return absl::InvalidArgumentError(st.message());
  if (!isa.empty()) q46::tools::CapOnednnIsa(options.max_isa);
  options.fuse_into_convolutions = fuse;
  if (threads < 1) return absl::InvalidArgumentError("--threads must be at least 1");
  if (repeats < 1 && min_seconds == 0) return absl::InvalidArgumentError("--repeats 0 and --min-time 0 time nothing");
  // A day: past that a typo (or inf) would only hang the run.
  if (!(min_seconds >= 0 && min_seconds <= 86400))
    return absl::InvalidArgumentError("--min-time must be between 0 and 86400 seconds");
  std::unique_ptr<q46::rt::Model> model;
  const auto load_start = std::chrono::steady_clock::now();
  if (Status st = q46::rt::Model::LoadFile(plan_path, &model, &options); !st.ok())
    return absl::InvalidArgumentError(st.message());
  // Reading, validating and packing the plan (weights packed and layouts chosen once, at load).
  const double load_seconds = SecondsSince(load_start);
  const q46::plan::Plan& plan = model->plan();
  q46::rt::Context ctx(*model);  // out of memory, or oneDNN refusing a float layer, throws: RunMain reports it
  ctx.set_threads(static_cast<int>(threads));
  std::mt19937 rng(46);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int i = 0; i < plan.inputs_size(); ++i) {
    std::vector<float> x(static_cast<size_t>(q46::rt::NumElements(plan.tensors(plan.inputs(i)))));
    for (float& v : x) v = unit(rng);
    if (Status st = ctx.SetInput(static_cast<size_t>(i), x.data(), x.size()); !st.ok())
      return absl::InternalError(st.message());
  }

  const double ghz = q46::tools::MeasureClockGhz();
  const auto round_trip = [&] { return threads > 1 ? q46::tools::MeasureCoreRoundTripNs() : 0.0; };
  const auto speed_ratio = [&] { return threads > 1 ? q46::tools::MeasureCoreSpeedRatio() : 0.0; };
  const double round_trip_before = round_trip(), speed_before = speed_ratio();
  for (unsigned i = 0; i < warmup; ++i) ctx.Run();
  std::vector<double> whole;
  double timed = 0;
  while (whole.size() < repeats || timed < min_seconds) {
    const auto start = std::chrono::steady_clock::now();
    ctx.Run();
    whole.push_back(SecondsSince(start));
    timed += whole.back();
  }
  const Spread net = SpreadOf(whole);
  const double round_trip_after = round_trip(), speed_after = speed_ratio();
  const bool round_trip_measured = round_trip_before > 0 && round_trip_after > 0;  // 0: one OpenMP thread
  const bool speed_measured = speed_before > 0 && speed_after > 0;

  const int nodes = plan.nodes_size();
  std::vector<std::vector<double>> per_op(static_cast<size_t>(nodes));
  if (layers) {
    std::vector<double> seconds;
    for (size_t r = 0; r < std::max<size_t>(whole.size() / 2, 5); ++r) {
      ctx.Run(&seconds);
      for (int i = 0; i < nodes; ++i) per_op[i].push_back(seconds[i]);
    }
  }
  int64_t total_macs = 0;
  for (const auto& node : plan.nodes()) total_macs += MacsOf(plan, node);
  const auto macs_per_cycle = [&](int64_t macs, double seconds) {
    return seconds > 0 ? static_cast<double>(macs) / (seconds * ghz * 1e9) : 0.0;
  };
  const std::string isa_name = q46::kernels::qconv::IsaName(options.max_isa);

  if (json) {
    std::string out = absl::StrFormat(
        "{\"model\":\"%s\",\"isa\":\"%s\",\"threads\":%u,\"runs\":%zu,\"median_ms\":%.6f,\"p10_ms\":%.6f,"
        "\"p90_ms\":%.6f,\"min_ms\":%.6f,\"clock_ghz\":%.4f,\"macs\":%d,\"macs_per_cycle\":%.3f,\"load_ms\":%.3f,",
        plan.model_name(), isa_name, threads.getValue(), whole.size(), net.median * 1e3, net.p10 * 1e3,
        net.p90 * 1e3, net.min * 1e3, ghz, total_macs, macs_per_cycle(total_macs, net.median), load_seconds * 1e3);
    if (threads > 1)
      out += round_trip_measured ? absl::StrFormat("\"core_round_trip_ns\":[%.0f,%.0f],", round_trip_before,
                                                   round_trip_after)
                                 : "\"core_round_trip_ns\":null,";
    if (threads > 1)
      out += speed_measured ? absl::StrFormat("\"core_speed_ratio\":[%.3f,%.3f],", speed_before, speed_after)
                            : "\"core_speed_ratio\":null,";
    out += "\"layers\":[";
    for (int i = 0; layers && i < nodes; ++i) {
      const Spread s = SpreadOf(per_op[i]);
      const int64_t macs = MacsOf(plan, plan.nodes(i));
      absl::StrAppendFormat(&out,
                            "%s{\"name\":\"%s\",\"op\":\"%s\",\"kernel\":\"%s\",\"median_ms\":%.6f,\"macs\":%d,"
                            "\"macs_per_cycle\":%.3f}",
                            i ? "," : "", plan.nodes(i).name(), OpKind(plan.nodes(i)),
                            model->ops()[i]->implementation(), s.median * 1e3, macs, macs_per_cycle(macs, s.median));
    }
    std::printf("%s]}\n", out.c_str());
    return absl::OkStatus();
  }
  std::printf("%s: ISA %s, %u thread(s), clock %.2f GHz (measured); loaded in %.1f ms\n", plan_path.c_str(),
              isa_name.c_str(), threads.getValue(), ghz, load_seconds * 1e3);
  std::printf("whole network: median %.4f ms (p10 %.4f, p90 %.4f, min %.4f) over %zu runs; %.1f M MACs, "
              "%.1f MACs/cycle\n",
              net.median * 1e3, net.p10 * 1e3, net.p90 * 1e3, net.min * 1e3, whole.size(), total_macs / 1e6,
              macs_per_cycle(total_macs, net.median));
  if (threads > 1) {
    if (round_trip_measured)
      std::printf("cores: a cache line's round trip between the first two threads took %.0f ns before the runs, "
                  "%.0f after (under ~100: the cores share a cache; over ~250: they do not, and threaded runs slow "
                  "down)\n",
                  round_trip_before, round_trip_after);
    if (speed_measured)
      std::printf("cores: the slower of the two ran the same vector additions at %.2f of the faster one's speed "
                  "before the runs, %.2f after (evenly split work waits for the slower)\n",
                  speed_before, speed_after);
    if (!round_trip_measured || !speed_measured)
      std::printf("cores: OpenMP gave one thread, so the two cores' round trip and speeds were not both measured\n");
  }
  if (!layers) return absl::OkStatus();
  std::printf("\n%-28s %-11s %-52s %10s %9s %9s\n", "layer", "op", "kernel", "median ms", "M MACs", "MAC/cyc");
  for (int i = 0; i < nodes; ++i) {
    const Spread s = SpreadOf(per_op[i]);
    const int64_t macs = MacsOf(plan, plan.nodes(i));
    std::printf("%-28s %-11s %-52s %10.4f %9.2f %9s\n", plan.nodes(i).name().substr(0, 28).c_str(),
                OpKind(plan.nodes(i)).c_str(), model->ops()[i]->implementation().c_str(), s.median * 1e3, macs / 1e6,
                macs ? absl::StrFormat("%.1f", macs_per_cycle(macs, s.median)).c_str() : "");
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  q46::tools::InitTool(argc, argv, {&kBench},
                       "q46bench: latency of a q46 plan (whole network and per layer)\n\n"
                       "  q46bench model.q46 --threads 1\n"
                       "  q46bench model.q46 --isa avx2 --json      # as on a CPU without AVX-512\n");
  return q46::tools::RunMain("q46bench", Main);
}
