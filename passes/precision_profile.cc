//===- precision_profile.cc - Per-layer damage and cost for --precision auto ===//
//
// Measures (or reads from the cache) the tables precision_profile.h describes. Uses the calibration passes on
// copies of the graph and the runtime to run and time them; never changes the graph it is given.
//
//===----------------------------------------------------------------------===//
#include "passes/precision_profile.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compiler/data/sample_source.h"
#include "compiler/plan_writer.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SHA256.h"
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

// g with every quantizable layer at p: ranges calibrated and weights nearest-rounded on `samples`.
absl::StatusOr<ir::Graph> UniformlyQuantized(const ir::Graph& g, const CompileOptions& o, arith::Precision p,
                                             const FloatTensor& samples) {
  ir::Graph q = g;
  for (ir::ConvAttrs* conv : LayerAttrs(q)) {
    conv->quant.emplace();
    conv->quant->precision = p;
    conv->quant->per_channel = !o.per_tensor_weights;
  }
  CompileOptions quiet = o;
  quiet.calibration = &samples;
  quiet.progress = false;
  PassContext ctx{quiet, {}};
  if (absl::Status st = CalibrateRanges(q, ctx); !st.ok()) return st;
  if (absl::Status st = QuantizeWeights(q, ctx); !st.ok()) return st;
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

absl::Status MeasureDamage(const ir::Graph& g, const CompileOptions& o, const FloatTensor& samples,
                           PrecisionProfile* p) {
  LowerOptions float_net, fake_quant;
  float_net.all_float = true;
  fake_quant.fake_quant = true;
  absl::StatusOr<std::vector<float>> reference = RunOutputs(g, float_net, samples);
  if (!reference.ok()) return reference.status();
  double energy = 0;
  for (float v : *reference) energy += double{v} * v;
  energy = std::max(energy, 1e-30);
  p->damage.assign(p->layers.size(), std::vector<double>(p->candidates.size(), 0.0));
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  for (size_t c = 0; c < p->candidates.size(); ++c) {
    if (!p->candidates[c]) continue;  // float does no damage
    absl::StatusOr<ir::Graph> q = UniformlyQuantized(g, o, *p->candidates[c], samples);
    if (!q.ok()) return q.status();
    std::vector<ir::ConvAttrs*> layers = LayerAttrs(*q);
    std::vector<std::optional<ir::ConvQuant>> saved;
    for (ir::ConvAttrs* conv : layers) saved.push_back(std::move(conv->quant));
    for (size_t l = 0; l < layers.size(); ++l) {
      for (size_t k = 0; k < layers.size(); ++k) layers[k]->quant.reset();
      layers[l]->quant = saved[l];
      absl::StatusOr<std::vector<float>> out = RunOutputs(*q, fake_quant, samples);
      if (!out.ok()) return out.status();
      double error = 0;
      for (size_t i = 0; i < out->size(); ++i) error += std::pow(double{(*out)[i]} - (*reference)[i], 2);
      p->damage[l][c] = error / energy;
    }
    if (o.progress && std::chrono::steady_clock::now() - last_report > std::chrono::seconds(1)) {
      last_report = std::chrono::steady_clock::now();
      std::fprintf(stderr, "\rchoose-precision: damage of each layer at %zu / %zu precisions ", c,
                   p->candidates.size() - 1);
    }
  }
  if (o.progress && last_report != started) std::fprintf(stderr, "\n");
  return absl::OkStatus();
}

// Per plan node: seconds (median over interleaved runs of all plans, one thread).
absl::StatusOr<std::vector<std::vector<double>>> TimeNodes(const std::vector<plan::Plan>& plans,
                                                           kernels::qconv::Isa isa) {
  rt::LoadOptions load;
  load.max_isa = isa;
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
    if (round >= 15 && std::chrono::steady_clock::now() - start > std::chrono::seconds(2)) break;
    for (size_t i = 0; i < plans.size(); ++i) {
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

absl::Status MeasureCost(const ir::Graph& g, const CompileOptions& o, const FloatTensor& samples,
                         PrecisionProfile* p) {
  std::vector<plan::Plan> plans;
  for (int k = 0; k < kKernelClasses; ++k) {
    LowerOptions lo;
    lo.all_float = k == kFloatClass;
    absl::StatusOr<ir::Graph> q = lo.all_float ? g : UniformlyQuantized(g, o, *kClassRepresentative[k], samples);
    if (!q.ok()) return q.status();
    absl::StatusOr<plan::Plan> plan = LowerToPlan(*q, lo);
    if (!plan.ok()) return plan.status();
    plans.push_back(*std::move(plan));
  }
  absl::StatusOr<std::vector<std::vector<double>>> node_seconds = TimeNodes(plans, o.isa);
  if (!node_seconds.ok()) return node_seconds.status();
  p->seconds.assign(p->layers.size(), std::vector<double>(kKernelClasses, 0.0));
  p->bytes = p->seconds;
  for (int k = 0; k < kKernelClasses; ++k) {
    const plan::Plan& plan = plans[k];
    std::vector<bool> attributed(plan.nodes_size(), false);
    for (size_t l = 0; l < p->layers.size(); ++l) {
      int conv = -1;
      for (int n = 0; n < plan.nodes_size() && conv < 0; ++n)
        if (!attributed[n] && plan.nodes(n).name() == p->layers[l]) conv = n;
      if (conv < 0) return absl::InternalError(absl::StrCat("layer '", p->layers[l], "' is missing from its plan"));
      attributed[conv] = true;
      p->seconds[l][k] = (*node_seconds)[k][conv];
      p->bytes[l][k] = static_cast<double>(plan.nodes(conv).ByteSizeLong());
      for (int n = 0; n < plan.nodes_size(); ++n)  // the separate quantization of its input, if any
        if (plan.nodes(n).has_quantize() && plan.nodes(n).outputs(0) == plan.nodes(conv).inputs(0)) {
          p->seconds[l][k] += (*node_seconds)[k][n];
          attributed[n] = true;
        }
    }
    if (k != kPairClass) continue;
    p->other_seconds = p->other_bytes = 0;
    for (int n = 0; n < plan.nodes_size(); ++n)
      if (!attributed[n]) p->other_seconds += (*node_seconds)[k][n];
    p->other_bytes = static_cast<double>(plan.ByteSizeLong());
    for (size_t l = 0; l < p->layers.size(); ++l) p->other_bytes -= p->bytes[l][k];
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

// A cached table for `key`, or nullopt when absent, unreadable or for another key or layer list.
std::optional<llvm::json::Object> ReadCache(const std::string& path, const std::string& key,
                                            const std::vector<std::string>& layers) {
  std::string bytes;
  if (!rt::ReadFileBytes(path, &bytes).ok()) return std::nullopt;
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(bytes);
  if (!json) {
    llvm::consumeError(json.takeError());
    return std::nullopt;
  }
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
  const std::string damage_key =
      Sha256Hex({network, samples_bytes, absl::StrCat(samples.dims[0]), absl::StrJoin(labels, " "), o.range_method,
                 absl::StrCat(o.percentile), o.weight_clip, absl::StrCat(o.per_tensor_weights)});
  const std::string isa = kernels::qconv::IsaName(o.isa);
  const char* onednn_isa = std::getenv("DNNL_MAX_CPU_ISA");  // the float layers' kernels
  const std::string cost_key =
      Sha256Hex({network, isa, onednn_isa ? onednn_isa : "", absl::StrCat(o.per_tensor_weights)});
  const auto path = [&](const std::string& key, const std::string& what) {
    return (std::filesystem::path(o.precision_cache) / (key.substr(0, 32) + what)).string();
  };
  const bool cache = !o.precision_cache.empty();

  std::optional<llvm::json::Object> damage;
  if (cache) damage = ReadCache(path(damage_key, ".damage.json"), damage_key, p.layers);
  p.damage_cached = damage && FromJson(damage->getArray("damage"), p.layers.size(), p.candidates.size(), &p.damage);
  if (!p.damage_cached) {
    if (absl::Status st = MeasureDamage(g, o, samples, &p); !st.ok()) return st;
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
  p.cost_cached = cost && FromJson(cost->getArray("seconds"), p.layers.size(), kKernelClasses, &p.seconds) &&
                  FromJson(cost->getArray("bytes"), p.layers.size(), kKernelClasses, &p.bytes) && cost->getNumber("other_seconds") &&
                  cost->getNumber("other_bytes");
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
                                    {"other_seconds", p.other_seconds}, {"other_bytes", p.other_bytes}},
                 cost_key, p.layers);
    }
  }
  return p;
}

}  // namespace q46
