//===- precision_profile.cc - Per-layer damage and cost for --precision auto ===//
//
// Measures (or reads from the cache) the tables precision_profile.h describes. Uses the calibration passes on
// copies of the graph and the runtime to run and time them; never changes the graph it is given.
//
//===----------------------------------------------------------------------===//
#include "passes/precision_profile.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compiler/data/sample_source.h"
#include "compiler/plan_writer.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SHA256.h"
#include "passes/json_file.h"
#include "passes/layer_gram.h"
#include "passes/sample_runner.h"
#include "runtime/context.h"
#include "runtime/file_io.h"
#include "runtime/model.h"
#include "runtime/ops/op_builder.h"

namespace q46 {

KernelClass ClassOf(const Candidate& c) {
  if (!c) return kFloatClass;
  if (c->nx == 16) return kFourBitClass;
  if (c->nx == 256) return kEightBitClass;
  return kPairClass;
}

const char* ClassName(KernelClass k) {
  static const char* const names[] = {"float", "4.6-bit pairs", "4-bit", "8-bit"};
  return names[k];
}

std::string CandidateLabel(const Candidate& c) { return c ? absl::StrCat(c->nx, "x", c->nw) : "float"; }

namespace {

constexpr int kCacheVersion = 1;
// Part of the cost table's key: bumped when what it measures changes (3: borders, warm runs).
constexpr int kCostModel = 3;
constexpr int kDamageModel = 2;  // the damage table's: 2: layers fitted as compiled (--calib-method)
// A short fit: on CNN10 (AVX2 costs, budget 1.0) it chose a map scoring 86.42 against 86.15 with the full 500
// steps and 86.02 with bias correction alone (nearest rounding alone: 85.84), for a third of the full fit's time.
constexpr int kDamageFitSteps = 100;
// Fewer steps where the network is large: a fit costs at most this much work (out x K'^2 per layer and step,
// summed; CNN10's 100 steps take 1.6e10, 2 s here; ResNet-18's would take 200 times that). Under 20 steps a
// layer, the fit is bias correction alone.
constexpr double kDamageFitWork = 4e10;

// The compile's options as the damage table's fits use them (what its cache key names).
CompileOptions DamageFitOptions(const ir::Graph& g, const CompileOptions& o) {
  double work = 0;
  for (const ir::Node& n : g.nodes)
    if (IsQuantizableLayer(n)) work += ConvGeometry::Of(g, n).FitStepWork();
  CompileOptions fit = o;
  fit.calib_time_budget = 0;
  fit.calib_steps = static_cast<int>(
      std::min<double>({static_cast<double>(o.calib_steps), kDamageFitSteps, kDamageFitWork / std::max(work, 1.0)}));
  if (fit.calib_steps < 20) fit.calib_method = "none", fit.calib_steps = 0;
  return fit;
}
const Candidate kClassRepresentative[kKernelClasses] = {std::nullopt, arith::Precision{23, 23},
                                                        arith::Precision{16, 16}, arith::Precision{256, 256}};

std::vector<Candidate> Candidates() {
  std::vector<Candidate> all = {std::nullopt};
  for (arith::Precision p : arith::kMaximalPairs) all.push_back(p);
  all.push_back(arith::Precision{16, 16});
  all.push_back(arith::Precision{256, 256});
  return all;
}

std::vector<ir::ConvAttrs*> LayerAttrs(ir::Graph& g) {
  std::vector<ir::ConvAttrs*> layers;
  for (ir::Node& n : g.nodes)
    if (IsQuantizableLayer(n)) layers.push_back(&std::get<ir::ConvAttrs>(n.attrs));
  return layers;
}

// g with every quantizable layer at p: ranges calibrated and weights nearest-rounded on `samples`, then, with
// `reconstruct`, weights and biases fitted by the reconstruct pass with o's settings.
absl::StatusOr<ir::Graph> UniformlyQuantized(const ir::Graph& g, const CompileOptions& o, arith::Precision p,
                                             const FloatTensor& samples, bool reconstruct = false) {
  ir::Graph q = g;
  for (ir::ConvAttrs* conv : LayerAttrs(q)) {
    conv->quant.emplace();
    conv->quant->precision = p;
    conv->quant->per_channel = !o.per_tensor_weights;
  }
  CompileOptions quiet = o;
  quiet.calibration = &samples;
  quiet.progress = quiet.live_progress = false;
  PassContext ctx{quiet, {}};
  if (absl::Status st = CalibrateRanges(q, ctx); !st.ok()) return st;
  if (absl::Status st = QuantizeWeights(q, ctx); !st.ok()) return st;
  if (reconstruct)
    if (absl::Status st = ReconstructLayers(q, ctx); !st.ok()) return st;
  return q;
}

// Every output of g on every sample, concatenated.
absl::StatusOr<std::vector<float>> RunOutputs(const ir::Graph& g, const LowerOptions& lo, const FloatTensor& samples) {
  absl::StatusOr<std::unique_ptr<SampleRunner>> runner = SampleRunner::Create(g, lo, samples);
  if (!runner.ok()) return runner.status();
  std::vector<float> out;
  while ((*runner)->Next()) {
    const SampleRunner& r = **runner;
    for (size_t i = 0; i < g.outputs.size(); ++i)
      out.insert(out.end(), r.Output(i), r.Output(i) + r.OutputSampleSize(i) * r.count());
  }
  return out;
}

// `o`: DamageFitOptions.
absl::Status MeasureDamage(const ir::Graph& g, const CompileOptions& o, const FloatTensor& samples,
                           PrecisionProfile* p) {
  p->damage.assign(p->layers.size(), std::vector<double>(p->candidates.size(), 0.0));
  if (p->layers.empty()) return absl::OkStatus();
  LowerOptions float_net, fake_quant;
  float_net.all_float = true;
  fake_quant.fake_quant = true;
  absl::StatusOr<std::vector<float>> reference = RunOutputs(g, float_net, samples);
  if (!reference.ok()) return reference.status();
  double energy = 0;
  for (float v : *reference) energy += double{v} * v;
  energy = std::max(energy, 1e-30);
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  for (size_t c = 0; c < p->candidates.size(); ++c) {
    if (!p->candidates[c]) continue;  // float does no damage
    absl::StatusOr<ir::Graph> q = UniformlyQuantized(g, o, *p->candidates[c], samples, /*reconstruct=*/true);
    if (!q.ok()) return q.status();
    std::vector<std::optional<ir::ConvQuant>> saved;
    for (ir::ConvAttrs* conv : LayerAttrs(*q)) saved.push_back(conv->quant);
    // Each layer alone, the layers shared out over one thread per core (each run single-threaded, so the
    // figures do not depend on how many run at once).
    const size_t workers = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), saved.size()));
    std::atomic<size_t> next_layer{0};
    std::vector<absl::Status> failed(workers);
    std::vector<std::thread> pool;
    for (size_t w = 0; w < workers; ++w)
      pool.emplace_back([&, w] {
        ir::Graph alone = *q;
        std::vector<ir::ConvAttrs*> layers = LayerAttrs(alone);
        for (size_t l; (l = next_layer++) < layers.size();) {
          for (ir::ConvAttrs* conv : layers) conv->quant.reset();
          layers[l]->quant = saved[l];
          absl::StatusOr<std::vector<float>> out = RunOutputs(alone, fake_quant, samples);
          if (!out.ok()) {
            failed[w] = out.status();
            return;
          }
          double error = 0;
          for (size_t i = 0; i < out->size(); ++i) error += std::pow(double{(*out)[i]} - (*reference)[i], 2);
          p->damage[l][c] = error / energy;
        }
      });
    for (std::thread& t : pool) t.join();
    for (const absl::Status& st : failed)
      if (!st.ok()) return st;
    if (o.live_progress && std::chrono::steady_clock::now() - last_report > std::chrono::seconds(1)) {
      last_report = std::chrono::steady_clock::now();
      std::fprintf(stderr, "\rchoose-precision: damage of each layer at %zu / %zu precisions ", c,
                   p->candidates.size() - 1);
    }
  }
  if (o.live_progress && last_report != started) std::fprintf(stderr, "\n");
  return absl::OkStatus();
}

// Per plan node: seconds (median over interleaved rounds of all plans, one thread). Each round runs a plan twice
// and times the second run: a run right after another plan's meets cold caches, which a deployed network, run
// again and again, does not (timed cold, the plan after the float one looked 4% slower than it runs).
absl::StatusOr<std::vector<std::vector<double>>> TimeNodes(const std::vector<plan::Plan>& plans,
                                                           kernels::qconv::Isa isa) {
  rt::LoadOptions load;
  load.max_isa = isa;
  load.fuse_into_convolutions = false;  // a time per node of the plan as lowered
  std::vector<std::unique_ptr<rt::Model>> models(plans.size());
  std::vector<std::unique_ptr<rt::Context>> contexts;
  std::mt19937 rng(46);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (size_t i = 0; i < plans.size(); ++i) {
    if (rt::Status st = rt::Model::FromPlan(plans[i], &models[i], &load); !st.ok())
      return absl::InternalError("timing plan: " + st.message());
    contexts.push_back(std::make_unique<rt::Context>(*models[i]));
    std::vector<float> x(static_cast<size_t>(rt::NumElements(plans[i].tensors(plans[i].inputs(0)))));
    for (float& v : x) v = unit(rng);
    contexts.back()->SetInput(0, x.data(), x.size());
    contexts.back()->Run();  // warm-up
  }
  std::vector<std::vector<std::vector<double>>> runs(plans.size());
  std::vector<double> seconds;
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < 200; ++round) {
    if (round >= 15 && std::chrono::steady_clock::now() - start > std::chrono::seconds(3)) break;
    for (size_t i = 0; i < plans.size(); ++i) {
      contexts[i]->Run();
      contexts[i]->Run(&seconds);
      runs[i].resize(seconds.size());
      for (size_t n = 0; n < seconds.size(); ++n) runs[i][n].push_back(seconds[n]);
    }
  }
  std::vector<std::vector<double>> median(plans.size());
  for (size_t i = 0; i < plans.size(); ++i)
    for (std::vector<double>& r : runs[i]) {
      std::nth_element(r.begin(), r.begin() + static_cast<long>(r.size() / 2), r.end());
      median[i].push_back(r[r.size() / 2]);
    }
  return median;
}

// Per plan, the node first writing each tensor name (later writers of a name are conversions of that tensor).
std::map<std::string, int> FirstWriters(const plan::Plan& plan) {
  std::map<std::string, int> writers;
  for (int n = 0; n < plan.nodes_size(); ++n) writers.emplace(plan.tensors(plan.nodes(n).outputs(0)).name(), n);
  return writers;
}

// How each layer reads its input in a plan with every layer quantized: chain_source[l] is the layer whose output
// codes it reads directly, through ops that run on codes (max pools, pads, reshapes), or -1; path[l] names the
// tensors those ops write.
struct Chains {
  std::vector<int> source;
  std::vector<std::vector<std::string>> path;
};

Chains FindChains(const plan::Plan& plan, const std::vector<int>& conv_node) {
  std::map<int, int> writer, layer_of_node;  // tensor -> node; node -> layer
  for (int n = 0; n < plan.nodes_size(); ++n) writer.emplace(plan.nodes(n).outputs(0), n);
  for (size_t l = 0; l < conv_node.size(); ++l) layer_of_node[conv_node[l]] = static_cast<int>(l);
  Chains chains{std::vector<int>(conv_node.size(), -1), std::vector<std::vector<std::string>>(conv_node.size())};
  for (size_t l = 0; l < conv_node.size(); ++l) {
    std::vector<std::string> path;
    for (int t = plan.nodes(conv_node[l]).inputs(0); writer.count(t) && plan.tensors(t).dtype() == plan::UINT8_CODES;) {
      const plan::Node& n = plan.nodes(writer[t]);
      if (auto it = layer_of_node.find(writer[t]); it != layer_of_node.end()) {
        chains.source[l] = it->second;
        chains.path[l] = path;
        break;
      }
      if (n.has_quantize() || n.inputs_size() != 1) break;
      path.push_back(plan.tensors(t).name());
      t = n.inputs(0);
    }
  }
  return chains;
}

absl::Status MeasureCost(const ir::Graph& g, const CompileOptions& o, const FloatTensor& samples,
                         PrecisionProfile* p) {
  std::vector<std::string> layer_outputs;  // tensor names, the same in every plan
  for (const ir::Node& n : g.nodes)
    if (IsQuantizableLayer(n)) layer_outputs.push_back(g.values[n.outputs[0]].name);
  const size_t layers = layer_outputs.size();
  // One plan per kernel class with every layer in it ("chained" plans), then, per integer class, two plans
  // alternating quantized and float layers along each chain, so that every chained layer meets a float
  // neighbour on each side in one of them.
  std::vector<plan::Plan> plans;
  std::vector<ir::Graph> quantized(kKernelClasses);
  for (int k = 0; k < kKernelClasses; ++k) {
    LowerOptions lo;
    lo.all_float = k == kFloatClass;
    absl::StatusOr<ir::Graph> q = lo.all_float ? g : UniformlyQuantized(g, o, *kClassRepresentative[k], samples);
    if (!q.ok()) return q.status();
    quantized[k] = *std::move(q);
    absl::StatusOr<plan::Plan> plan = LowerToPlan(quantized[k], lo);
    if (!plan.ok()) return plan.status();
    plans.push_back(*std::move(plan));
  }
  // Per plan: the node writing each tensor name, and conv_node[plan][l], layer l's node.
  std::vector<std::map<std::string, int>> writers;
  std::vector<std::vector<int>> conv_node;
  const auto index_plan = [&](const plan::Plan& plan) {
    writers.push_back(FirstWriters(plan));
    conv_node.emplace_back();
    for (size_t l = 0; l < layers; ++l) {
      auto it = writers.back().find(layer_outputs[l]);
      if (it == writers.back().end())
        return absl::InternalError(absl::StrCat("layer '", p->layers[l], "' is missing from its plan"));
      conv_node.back().push_back(it->second);
    }
    return absl::OkStatus();
  };
  for (const plan::Plan& plan : plans)
    if (absl::Status st = index_plan(plan); !st.ok()) return st;
  const Chains chains = FindChains(plans[kPairClass], conv_node[kPairClass]);
  std::vector<int> depth(layers, 0);  // along its chain; neighbours differ in parity
  for (size_t l = 0; l < layers; ++l)
    if (chains.source[l] >= 0) depth[l] = depth[chains.source[l]] + 1;
  const auto alternating = [&](int k, int parity) { return kKernelClasses + 2 * (k - kPairClass) + parity; };
  const bool any_chain = std::any_of(chains.source.begin(), chains.source.end(), [](int s) { return s >= 0; });
  for (int k = kPairClass; k < kKernelClasses && any_chain; ++k)
    for (int parity = 0; parity < 2; ++parity) {
      ir::Graph alt = quantized[k];
      std::vector<ir::ConvAttrs*> attrs = LayerAttrs(alt);
      for (size_t l = 0; l < layers; ++l)
        if (depth[l] % 2 != parity) attrs[l]->quant.reset();
      absl::StatusOr<plan::Plan> plan = LowerToPlan(alt, LowerOptions{});
      if (!plan.ok()) return plan.status();
      plans.push_back(*std::move(plan));
      if (absl::Status st = index_plan(plans.back()); !st.ok()) return st;
    }
  absl::StatusOr<std::vector<std::vector<double>>> node_seconds = TimeNodes(plans, o.isa);
  if (!node_seconds.ok()) return node_seconds.status();
  // Seconds of the ops on a chain's path in a plan (on codes in a chained plan, on floats in an alternating one).
  const auto path_seconds = [&](int plan, const std::vector<std::string>& path) {
    double sum = 0;
    for (const std::string& t : path)
      if (auto it = writers[plan].find(t); it != writers[plan].end()) sum += (*node_seconds)[plan][it->second];
    return sum;
  };
  // The conversion nodes of a tensor in a plan: its quantization (`to_codes`) or dequantization.
  const auto conversions_of = [&](int plan, int tensor, bool to_codes) {
    double sum = 0;
    for (int n = 0; n < plans[plan].nodes_size(); ++n) {
      const plan::Node& node = plans[plan].nodes(n);
      const bool matches = to_codes ? node.has_quantize() && node.outputs(0) == tensor
                                    : node.has_dequantize() && node.inputs(0) == tensor;
      if (matches) sum += (*node_seconds)[plan][n];
    }
    return sum;
  };

  p->seconds.assign(layers, std::vector<double>(kKernelClasses, 0.0));
  p->bytes = p->enter_seconds = p->leave_seconds = p->seconds;
  p->chain_source = chains.source;
  for (int k = 0; k < kKernelClasses; ++k) {
    const plan::Plan& plan = plans[k];
    std::vector<bool> attributed(plan.nodes_size(), false);
    for (size_t l = 0; l < layers; ++l) {
      const int conv = conv_node[k][l];
      attributed[conv] = true;
      p->seconds[l][k] = (*node_seconds)[k][conv];
      p->bytes[l][k] = static_cast<double>(plan.nodes(conv).ByteSizeLong());
      for (int n = 0; n < plan.nodes_size(); ++n)  // the separate quantization of its input, if any
        if (plan.nodes(n).has_quantize() && plan.nodes(n).outputs(0) == plan.nodes(conv).inputs(0)) {
          p->seconds[l][k] += (*node_seconds)[k][n];
          attributed[n] = true;
        }
    }
    std::vector<bool> leave_measured(layers, false);  // a source's leave is its first chain's
    if (k != kFloatClass)
      for (size_t l = 0; l < layers; ++l) {  // borders: the chain from source s to l crossing to float
        const int s = chains.source[l];
        if (s < 0) continue;
        // In l_alt, l is quantized and s float; in s_alt, s quantized and l float.
        const int l_alt = alternating(k, depth[l] % 2), s_alt = alternating(k, depth[s] % 2);
        const int l_conv = conv_node[l_alt][l], s_conv = conv_node[s_alt][s];
        const double on_codes = path_seconds(k, chains.path[l]);
        // Quantized l after float s: its input quantized separately, the path's ops on floats.
        const double enter = conversions_of(l_alt, plans[l_alt].nodes(l_conv).inputs(0), true) +
                             path_seconds(l_alt, chains.path[l]) - on_codes;
        // Quantized s before float l: its output written as floats (and any dequantization), the path on floats.
        const double leave = (*node_seconds)[s_alt][s_conv] - (*node_seconds)[k][conv_node[k][s]] +
                             conversions_of(s_alt, plans[s_alt].nodes(s_conv).outputs(0), false) +
                             path_seconds(s_alt, chains.path[l]) - on_codes;
        p->enter_seconds[l][k] = std::max(0.0, enter);
        if (!leave_measured[s]) p->leave_seconds[s][k] = std::max(0.0, leave);
        leave_measured[s] = true;
      }
    if (k != kPairClass) continue;
    p->other_seconds = p->other_bytes = 0;
    for (int n = 0; n < plan.nodes_size(); ++n)
      if (!attributed[n]) p->other_seconds += (*node_seconds)[k][n];
    p->other_bytes = static_cast<double>(plan.ByteSizeLong());
    for (size_t l = 0; l < layers; ++l) p->other_bytes -= p->bytes[l][k];
  }
  return absl::OkStatus();
}

std::string Sha256Hex(const std::vector<std::string>& parts) {
  llvm::SHA256 hash;
  for (const std::string& part : parts) {
    hash.update(absl::StrCat(part.size(), ":"));
    hash.update(part);
  }
  return llvm::toHex(llvm::arrayRefFromStringRef(hash.final()), /*LowerCase=*/true);
}

llvm::json::Array ToJson(const std::vector<std::vector<double>>& table) {
  llvm::json::Array rows;
  for (const std::vector<double>& row : table) rows.push_back(llvm::json::Array(row));
  return rows;
}

bool FromJson(const llvm::json::Array* rows, size_t height, size_t width, std::vector<std::vector<double>>* table) {
  if (!rows || rows->size() != height) return false;
  table->clear();
  for (const llvm::json::Value& row : *rows) {
    const llvm::json::Array* a = row.getAsArray();
    if (!a || a->size() != width) return false;
    table->emplace_back();
    for (const llvm::json::Value& v : *a) {
      llvm::Optional<double> d = v.getAsNumber();
      if (!d) return false;
      table->back().push_back(*d);
    }
  }
  return true;
}

bool ChainsFromJson(const llvm::json::Array* sources, size_t layers, std::vector<int>* chain_source) {
  if (!sources || sources->size() != layers) return false;
  chain_source->clear();
  for (const llvm::json::Value& v : *sources) {
    llvm::Optional<int64_t> s = v.getAsInteger();
    if (!s || *s < -1 || *s >= static_cast<int64_t>(chain_source->size())) return false;  // a source comes before
    chain_source->push_back(static_cast<int>(*s));
  }
  return true;
}

// A cached table for `key`, or nullopt when absent, unreadable or for another key or layer list.
std::optional<llvm::json::Object> ReadCache(const std::string& path, const std::string& key,
                                            const std::vector<std::string>& layers) {
  absl::StatusOr<llvm::json::Value> json = ReadJsonFile(path);
  if (!json.ok()) return std::nullopt;
  llvm::json::Object* obj = json->getAsObject();
  if (!obj || obj->getString("key") != llvm::StringRef(key) || obj->getInteger("version") != llvm::Optional<int64_t>(kCacheVersion))
    return std::nullopt;
  const llvm::json::Array* names = obj->getArray("layers");
  if (!names || names->size() != layers.size()) return std::nullopt;
  for (size_t i = 0; i < layers.size(); ++i)
    if ((*names)[i].getAsString() != llvm::StringRef(layers[i])) return std::nullopt;
  return std::move(*obj);
}

void WriteCache(const std::string& path, llvm::json::Object obj, const std::string& key,
                const std::vector<std::string>& layers) {
  obj["key"] = key;
  obj["version"] = kCacheVersion;
  obj["layers"] = llvm::json::Array(layers);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const rt::Status st = rt::WriteFileAtomically(path, llvm::formatv("{0:2}", llvm::json::Value(std::move(obj))).str());
  if (!st.ok()) std::fprintf(stderr, "q46c: warning: precision cache not written: %s\n", st.message().c_str());
}

}  // namespace

double PrecisionProfile::MapCost(const std::vector<Candidate>& map, bool by_size) const {
  double sum = by_size ? other_bytes : other_seconds;
  for (size_t l = 0; l < map.size(); ++l) sum += by_size ? Bytes(l, map[l]) : Seconds(l, map[l]);
  if (by_size) return sum;
  for (size_t s = 0; s < map.size(); ++s) {
    std::vector<size_t> readers;
    for (size_t l = 0; l < map.size(); ++l)
      if (chain_source[l] == static_cast<int>(s)) readers.push_back(l);
    if (readers.empty()) continue;
    bool shared = map[s].has_value();
    for (size_t l : readers) shared = shared && map[l] && map[l]->nx == map[readers[0]]->nx;
    if (shared) continue;
    if (map[s]) sum += leave_seconds[s][ClassOf(map[s])];
    for (size_t l : readers)
      if (map[l]) sum += enter_seconds[l][ClassOf(map[l])];
  }
  return sum;
}

absl::StatusOr<PrecisionProfile> ProfilePrecision(const ir::Graph& g, const CompileOptions& o) {
  PrecisionProfile p;
  p.candidates = Candidates();
  for (const ir::Node& n : g.nodes)
    if (IsQuantizableLayer(n)) p.layers.push_back(n.name);
  if (!o.calibration) return absl::InvalidArgumentError("--precision auto needs calibration data (--calib)");
  const FloatTensor samples =
      Batch(*o.calibration, 0, std::min<int64_t>(o.sensitivity_samples, o.calibration->dims[0]));
  LowerOptions float_net;
  float_net.all_float = true;
  absl::StatusOr<plan::Plan> float_plan = LowerToPlan(g, float_net);
  if (!float_plan.ok()) return float_plan.status();
  const std::string network = float_plan->SerializeAsString();
  std::vector<std::string> labels;
  for (const Candidate& c : p.candidates) labels.push_back(CandidateLabel(c));
  const std::string samples_bytes(reinterpret_cast<const char*>(samples.data.data()), samples.data.size() * 4);
  const CompileOptions fit = DamageFitOptions(g, o);
  const std::string damage_key =
      Sha256Hex({network, samples_bytes, absl::StrCat(samples.dims[0]), absl::StrJoin(labels, " "), o.range_method,
                 absl::StrCat(o.percentile), o.weight_clip, absl::StrCat(o.per_tensor_weights),
                 absl::StrCat("damage model ", kDamageModel), fit.calib_method,
                 absl::StrCat(fit.calib_steps, " ", fit.calib_learning_rate, " ", fit.bias_correction, " ",
                              fit.calib_drop, " ", fit.seed)});
  const std::string isa = kernels::qconv::IsaName(o.isa);
  const char* onednn_isa = std::getenv("DNNL_MAX_CPU_ISA");  // the float layers' kernels
  const std::string cost_key =
      Sha256Hex({network, isa, onednn_isa ? onednn_isa : "", absl::StrCat(o.per_tensor_weights),
                 absl::StrCat("cost model ", kCostModel)});
  const auto path = [&](const std::string& key, const std::string& what) {
    return (std::filesystem::path(o.precision_cache) / (key.substr(0, 32) + what)).string();
  };
  const bool cache = !o.precision_cache.empty();

  std::optional<llvm::json::Object> damage;
  if (cache) damage = ReadCache(path(damage_key, ".damage.json"), damage_key, p.layers);
  p.damage_cached = damage && FromJson(damage->getArray("damage"), p.layers.size(), p.candidates.size(), &p.damage);
  if (!p.damage_cached) {
    if (absl::Status st = MeasureDamage(g, fit, samples, &p); !st.ok()) return st;
    if (cache)
      WriteCache(path(damage_key, ".damage.json"),
                 llvm::json::Object{{"candidates", llvm::json::Array(labels)},
                                    {"samples", samples.dims[0]},
                                    {"damage", ToJson(p.damage)}},
                 damage_key, p.layers);
  }
  std::optional<llvm::json::Object> cost;
  const std::string cost_file = absl::StrCat(".cost-", isa, ".json");
  if (cache) cost = ReadCache(path(cost_key, cost_file), cost_key, p.layers);
  const size_t layers = p.layers.size();
  p.cost_cached = cost && FromJson(cost->getArray("seconds"), layers, kKernelClasses, &p.seconds) &&
                  FromJson(cost->getArray("bytes"), layers, kKernelClasses, &p.bytes) &&
                  FromJson(cost->getArray("enter_seconds"), layers, kKernelClasses, &p.enter_seconds) &&
                  FromJson(cost->getArray("leave_seconds"), layers, kKernelClasses, &p.leave_seconds) &&
                  ChainsFromJson(cost->getArray("chain_source"), layers, &p.chain_source) &&
                  cost->getNumber("other_seconds") && cost->getNumber("other_bytes");
  if (p.cost_cached) {
    p.other_seconds = *cost->getNumber("other_seconds");
    p.other_bytes = *cost->getNumber("other_bytes");
  } else {
    if (absl::Status st = MeasureCost(g, o, samples, &p); !st.ok()) return st;
    if (cache) {
      llvm::json::Array classes;
      for (int k = 0; k < kKernelClasses; ++k) classes.push_back(ClassName(static_cast<KernelClass>(k)));
      WriteCache(path(cost_key, cost_file),
                 llvm::json::Object{{"isa", isa}, {"threads", 1}, {"classes", std::move(classes)},
                                    {"seconds", ToJson(p.seconds)}, {"bytes", ToJson(p.bytes)},
                                    {"enter_seconds", ToJson(p.enter_seconds)},
                                    {"leave_seconds", ToJson(p.leave_seconds)},
                                    {"chain_source", llvm::json::Array(p.chain_source)},
                                    {"other_seconds", p.other_seconds}, {"other_bytes", p.other_bytes}},
                 cost_key, p.layers);
    }
  }
  return p;
}

}  // namespace q46
