// q46c: the compiler driver. ONNX model in, plan out: import, run the pass pipeline, lower, write atomically,
// print what was done. Flag parsing and reporting only; the work is in compiler/ and passes/.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "compiler/data/sample_source.h"
#include "compiler/onnx_importer.h"
#include "compiler/onnx_qdq_exporter.h"
#include "compiler/plan_writer.h"
#include "compiler/simulate.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/JSON.h"
#include "passes/pass.h"
#include "runtime/context.h"
#include "runtime/load_options.h"
#include "runtime/model.h"
#include "runtime/plan_file.h"
#include "tools/precision_map.h"
#include "tools/tool_common.h"

namespace cl = llvm::cl;

namespace {

cl::OptionCategory kModel("Model and output");
cl::OptionCategory kPrecision("Precision");
cl::OptionCategory kCalibration("Calibration data");

cl::opt<std::string> input_path(cl::Positional, cl::desc("<model.onnx>"), cl::Required, cl::cat(kModel));
cl::opt<std::string> output_path("o", cl::desc("Write the plan here (written atomically; required)"),
                                 cl::value_desc("file"), cl::cat(kModel));
cl::opt<int64_t> batch("batch", cl::desc("Batch size for a model whose first input dimension is symbolic"),
                       cl::init(0), cl::cat(kModel));
cl::opt<std::string> emit_qdq("emit-onnx-qdq",
                              cl::desc("Also write the compiled network as a standard ONNX QDQ model (QuantizeLinear / "
                                       "DequantizeLinear carrying q46's integer weights, scales and clamps) for ONNX "
                                       "Runtime and other QDQ consumers (written atomically)"),
                              cl::value_desc("file"), cl::cat(kModel));
cl::opt<bool> relu6("relu6", cl::desc("Replace ReLU by ReLU6 before quantizing (the article's method)"),
                    cl::cat(kModel));
cl::opt<unsigned> verify("verify",
                         cl::desc("Check on N calibration samples that the integer runtime matches the compiler's "
                                  "simulation bit for bit (0 = skip)"),
                         cl::init(0), cl::cat(kModel));

cl::opt<int> nx("nx", cl::desc("Activation levels N_x: odd with h_x*h_w <= 127, or 16 / 256 (4-bit / 8-bit)"),
                cl::init(23), cl::cat(kPrecision));
cl::opt<int> nw("nw", cl::desc("Weight levels N_w: odd with h_x*h_w <= 127, or 16 / 256 (4-bit / 8-bit)"),
                cl::init(23), cl::cat(kPrecision));
cl::opt<bool> all_float("float", cl::desc("Keep every layer float (no calibration data needed)"),
                        cl::cat(kPrecision));
cl::opt<std::string> precision_map("precision-map",
                                   cl::desc("JSON object: ONNX node name -> [N_x, N_w] or \"float\"; overrides the "
                                            "global pair, first and last layers included"),
                                   cl::value_desc("file"), cl::cat(kPrecision));
cl::opt<std::string> precision_mode("precision",
                                    cl::desc("global (default): the --nx/--nw pair everywhere, first and last layers "
                                             "float. auto: per layer, the precision with the least estimated damage "
                                             "within --max-latency-ratio (default 1) or --max-size-ratio of the "
                                             "global assignment (measures per-layer damage on --calib and latency "
                                             "on --isa, cached)"),
                                    cl::init("global"), cl::cat(kPrecision));
cl::opt<double> max_latency_ratio("max-latency-ratio",
                                  cl::desc("With --precision auto: estimated latency at most R times the global "
                                           "assignment's"),
                                  cl::value_desc("R"), cl::init(0), cl::cat(kPrecision));
cl::opt<double> max_size_ratio("max-size-ratio",
                               cl::desc("With --precision auto: estimated plan size at most R times the global "
                                        "assignment's (instead of a latency budget)"),
                               cl::value_desc("R"), cl::init(0), cl::cat(kPrecision));
cl::opt<std::string> target_isa("isa", cl::desc("With --precision auto: the instruction set whose integer kernels' "
                                                "latency is measured (ref, avx2, avx512, vnni; default: this CPU's "
                                                "best); oneDNN's float layers run capped at AVX2 in every compile "
                                                "unless DNNL_MAX_CPU_ISA is set"),
                                cl::cat(kPrecision));
cl::opt<int64_t> sensitivity_samples("sensitivity-samples",
                                     cl::desc("With --precision auto: calibration samples per-layer damage is "
                                              "measured on"),
                                     cl::init(64), cl::cat(kPrecision));
cl::opt<std::string> precision_cache("precision-cache",
                                     cl::desc("With --precision auto: folder caching the damage and latency tables "
                                              "(default $XDG_CACHE_HOME/q46 or ~/.cache/q46; empty: no cache)"),
                                     cl::value_desc("dir"), cl::init("default"), cl::cat(kPrecision));
cl::opt<std::string> emit_precision_map("emit-precision-map",
                                        cl::desc("Write the compiled per-layer assignment in the --precision-map "
                                                 "format (written atomically)"),
                                        cl::value_desc("file"), cl::cat(kPrecision));
cl::opt<std::string> weight_clip("weight-clip",
                                 cl::desc("Weight scale: mse (least squared error, default) or absmax (max |W| maps to "
                                          "the top code)"),
                                 cl::init("mse"), cl::cat(kPrecision));
cl::opt<bool> per_tensor("per-tensor", cl::desc("One weight scale per layer instead of per output channel"),
                         cl::cat(kPrecision));

cl::opt<std::string> calib("calib",
                           cl::desc("Sample data: a CIFAR-10 .bin batch (or its folder: its data_batch_1.bin, never "
                                    "the test batch), an .npy [N,C,H,W], an image or a folder of images"),
                           cl::value_desc("path"), cl::cat(kCalibration));
cl::opt<int64_t> calib_count("calib-count", cl::desc("How many samples to take from --calib (default 512, or all "
                                                     "when fewer exist)"),
                             cl::init(-1), cl::cat(kCalibration));
cl::opt<uint64_t> calib_seed("seed", cl::desc("Seed choosing the calibration samples and the positions the "
                                              "reconstruction samples (same seed, same plan)"),
                             cl::init(0), cl::cat(kCalibration));
cl::opt<std::string> calib_method("calib-method",
                                  cl::desc("Weight rounding: adaquant (default), adaround (learned up/down rounding) "
                                           "or none (nearest); each layer reproduces the float one on the samples"),
                                  cl::init("adaquant"), cl::cat(kCalibration));
cl::opt<int> calib_steps("calib-steps", cl::desc("Optimisation steps per layer for adaround / adaquant"),
                         cl::init(500), cl::cat(kCalibration));
cl::opt<double> calib_lr("calib-lr", cl::desc("Learning rate of the rounding search (0 = the method's default)"),
                         cl::init(0), cl::cat(kCalibration));
cl::opt<bool> bias_correction("bias-correction",
                              cl::desc("Set each quantized layer's bias to its least-squares optimum for the chosen "
                                       "codes (default on; --bias-correction=false to turn off)"),
                              cl::init(true), cl::cat(kCalibration));
cl::opt<double> calib_drop("calib-drop",
                           cl::desc("QDrop: fit each layer to inputs whose elements keep their unquantized value "
                                    "with this probability (the expected error is minimised; default 0)"),
                           cl::init(0), cl::cat(kCalibration));
cl::opt<double> calib_time_budget("calib-time-budget",
                                  cl::desc("Seconds the weight rounding search may take in all; layers get fewer "
                                           "steps to fit (0 = no limit)"),
                                  cl::init(0), cl::cat(kCalibration));
cl::opt<std::string> range_method("range-method",
                                  cl::desc("Activation range: mse (least squared error, default), minmax or percentile"),
                                  cl::init("mse"), cl::cat(kCalibration));
cl::opt<double> percentile("percentile", cl::desc("Percentile for --range-method percentile"), cl::init(99.99),
                           cl::cat(kCalibration));
q46::tools::PreprocessFlags preprocess_flags(kCalibration);

// Calibration samples that are all alike (blank, or one image repeated) calibrate nothing real: refused. Single
// blank images among varied ones are only worth a warning.
absl::Status CheckVariety(const q46::FloatTensor& images) {
  const int64_t n = images.dims.empty() ? 0 : images.dims[0];
  if (n == 0) return absl::OkStatus();
  const int64_t per = images.size() / n;
  const auto sample = [&](int64_t i) { return images.data.begin() + i * per; };
  bool all_same = true;
  int64_t blank = 0;
  for (int64_t i = 0; i < n; ++i) {
    all_same = all_same && std::equal(sample(i), sample(i) + per, sample(0));
    const auto [lo, hi] = std::minmax_element(sample(i), sample(i) + per);
    blank += *lo == *hi;
  }
  if (all_same && n > 1)
    return absl::InvalidArgumentError(absl::StrCat("all ", n, " calibration samples from '", calib.getValue(),
                                                   "' are the same", blank ? " blank" : "", " image"));
  if (blank > 0)
    std::fprintf(stderr, "q46c: warning: %lld of %lld calibration samples are blank (one value everywhere)\n",
                 static_cast<long long>(blank), static_cast<long long>(n));
  return absl::OkStatus();
}

// The calibration samples, or an empty tensor without --calib (the calibration pass says if it needed them).
absl::StatusOr<q46::FloatTensor> LoadCalibration() {
  if (calib.empty()) return q46::FloatTensor{};
  q46::SampleOptions so;
  so.seed = calib_seed;
  so.cifar_split = q46::CifarSplit::kTraining;
  absl::StatusOr<q46::ImagePreprocess> pre = preprocess_flags.Get();
  if (!pre.ok()) return pre.status();
  so.preprocess = *pre;
  absl::StatusOr<q46::LabeledImages> all = q46::LoadSamples(calib, so);
  if (!all.ok()) return all.status();
  if (std::error_code ec; std::filesystem::is_directory(calib.getValue(), ec))
    if (absl::StatusOr<std::string> file = q46::ResolveCifar10Path(calib, so.cifar_split); file.ok())
      std::printf("calibration samples from %s (the CIFAR-10 folder's training batch)\n", file->c_str());
  const int64_t available = all->images.dims.empty() ? 0 : all->images.dims[0];
  if (available == 0) return absl::InvalidArgumentError(absl::StrCat("--calib '", calib.getValue(), "' holds no samples"));
  int64_t count = calib_count;
  if (count < 0) count = std::min<int64_t>(512, available);
  if (count > available)
    return absl::InvalidArgumentError(absl::StrCat("--calib-count ", count, " but '", calib.getValue(), "' has only ",
                                                   available, " samples"));
  q46::FloatTensor images;
  if (count == available) {
    images = std::move(all->images);
  } else {
    so.count = count;
    absl::StatusOr<q46::LabeledImages> picked = q46::LoadSamples(calib, so);
    if (!picked.ok()) return picked.status();
    images = std::move(picked->images);
  }
  if (absl::Status st = CheckVariety(images); !st.ok()) return st;
  return images;
}

// Runs the plan through the runtime and through the compiler's simulation on `n` samples; errors on any difference.
absl::Status Verify(const q46::plan::Plan& plan, const q46::FloatTensor& samples, unsigned n) {
  std::unique_ptr<q46::rt::Model> model;
  if (q46::rt::Status st = q46::rt::Model::FromPlan(plan, &model); !st.ok()) return absl::InternalError(st.message());
  q46::rt::Context ctx(*model);
  const std::vector<int64_t> in_dims(plan.tensors(plan.inputs(0)).dims().begin(), plan.tensors(plan.inputs(0)).dims().end());
  const int64_t batch = in_dims[0];
  for (int64_t start = 0; start + batch <= std::min<int64_t>(n, samples.dims[0]); start += batch) {
    q46::FloatTensor in = q46::Batch(samples, start, batch);
    in.dims = in_dims;
    absl::StatusOr<std::vector<q46::FloatTensor>> simulated = q46::SimulatePlan(plan, {in});
    if (!simulated.ok()) return simulated.status();
    const std::vector<q46::FloatTensor>& sim = *simulated;
    if (q46::rt::Status st = ctx.SetInput(0, in.data.data(), in.data.size()); !st.ok()) return absl::InternalError(st.message());
    ctx.Run();
    for (size_t o = 0; o < sim.size(); ++o) {
      size_t count;
      const float* got = ctx.Output(o, &count);
      for (size_t i = 0; i < count; ++i)
        if (std::memcmp(&got[i], &sim[o].data[i], sizeof(float)) != 0)
          return absl::InternalError(absl::StrFormat("verify: output %d element %d: runtime %.9g, simulation %.9g",
                                                     o, i, got[i], sim[o].data[i]));
    }
  }
  return absl::OkStatus();
}

std::string DefaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/q46";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/q46";
  return "";
}

absl::Status SetAutoPrecision(q46::CompileOptions* o) {
  const bool budget_flag = max_latency_ratio.getNumOccurrences() || max_size_ratio.getNumOccurrences() ||
                           target_isa.getNumOccurrences() || sensitivity_samples.getNumOccurrences() ||
                           precision_cache.getNumOccurrences();
  if (precision_mode == "global") {
    if (budget_flag)
      return absl::InvalidArgumentError("--max-latency-ratio, --max-size-ratio, --isa, --sensitivity-samples and "
                                        "--precision-cache need --precision auto");
    return absl::OkStatus();
  }
  if (precision_mode != "auto")
    return absl::InvalidArgumentError(absl::StrCat("--precision ", precision_mode.getValue(), ": use global or auto"));
  if (all_float) return absl::InvalidArgumentError("--precision auto and --float contradict each other");
  if (max_latency_ratio.getNumOccurrences() && max_size_ratio.getNumOccurrences())
    return absl::InvalidArgumentError("give one budget: --max-latency-ratio or --max-size-ratio");
  if (max_latency_ratio < 0 || max_size_ratio < 0 || (max_latency_ratio.getNumOccurrences() && max_latency_ratio == 0) ||
      (max_size_ratio.getNumOccurrences() && max_size_ratio == 0))
    return absl::InvalidArgumentError("budget ratios must be positive");
  if (sensitivity_samples < 1) return absl::InvalidArgumentError("--sensitivity-samples must be at least 1");
  o->auto_precision = true;
  o->max_size_ratio = max_size_ratio;
  o->max_latency_ratio = max_size_ratio > 0 ? 0 : (max_latency_ratio > 0 ? max_latency_ratio.getValue() : 1.0);
  o->sensitivity_samples = sensitivity_samples;
  o->precision_cache = precision_cache == "default" ? DefaultCacheDir() : precision_cache.getValue();
  if (!target_isa.empty())
    if (q46::rt::Status st = q46::rt::ResolveIsa(target_isa, &o->isa); !st.ok())
      return absl::InvalidArgumentError("--isa: " + st.message());
  return absl::OkStatus();
}

absl::Status Main() {
  if (output_path.empty()) return absl::InvalidArgumentError("no output file: pass -o FILE");
  if (absl::Status st = q46::tools::CheckOutputPaths(
          {{"-o", output_path}, {"--emit-onnx-qdq", emit_qdq}, {"--emit-precision-map", emit_precision_map}},
          {{"the model", input_path}, {"--calib", calib}, {"--precision-map", precision_map}});
      !st.ok())
    return st;
  q46::CompileOptions options;
  options.relu6 = relu6;
  options.all_float = all_float;
  options.precision = {nx, nw};
  options.per_tensor_weights = per_tensor;
  options.weight_clip = weight_clip;
  if (weight_clip != "absmax" && weight_clip != "mse")
    return absl::InvalidArgumentError(absl::StrCat("--weight-clip ", weight_clip.getValue(), ": use absmax or mse"));
  options.range_method = range_method;
  options.percentile = percentile;
  options.progress = true;
  options.live_progress = isatty(STDERR_FILENO);  // "\r" lines only where they redraw, not in logs
  options.calib_method = calib_method;
  options.calib_steps = calib_steps;
  options.calib_learning_rate = calib_lr;
  options.bias_correction = bias_correction;
  options.calib_drop = calib_drop;
  if (!(calib_drop >= 0 && calib_drop < 1)) return absl::InvalidArgumentError("--calib-drop must be in [0, 1)");
  options.calib_time_budget = calib_time_budget;
  options.seed = calib_seed;
  if (calib_steps < 0) return absl::InvalidArgumentError("--calib-steps must be at least 0");
  if (!(calib_time_budget >= 0)) return absl::InvalidArgumentError("--calib-time-budget must be at least 0");
  if (!(calib_lr >= 0 && calib_lr < std::numeric_limits<double>::infinity()))
    return absl::InvalidArgumentError("--calib-lr must be finite and at least 0 (0: the method's default)");
  if (all_float && (nx.getNumOccurrences() > 0 || nw.getNumOccurrences() > 0 || !precision_map.empty()))
    std::fprintf(stderr, "q46c: warning: --float keeps every layer float: --nx, --nw and --precision-map do nothing\n");
  std::string why;
  if (!all_float && !q46::arith::CheckPrecision(options.precision, &why))
    return absl::InvalidArgumentError(absl::StrCat("--nx ", nx.getValue(), " --nw ", nw.getValue(), ": ", why));
  if (!precision_map.empty())
    if (absl::Status st = q46::tools::ReadPrecisionMap(precision_map, &options); !st.ok()) return st;
  if (absl::Status st = SetAutoPrecision(&options); !st.ok()) return st;
  // The calibration's float arithmetic runs in oneDNN, whose kernels round differently on each instruction set:
  // capped at AVX2, the same command writes the same plan on any x86 CPU that has AVX2 (DNNL_MAX_CPU_ISA, if set,
  // is the user's choice). --precision auto too: a map it emits then gives the same plan fed back (with oneDNN
  // uncapped there, a float layer between quantized ones made the two differ); its float layers are timed at AVX2.
  q46::tools::CapOnednnIsa(q46::kernels::qconv::Isa::kAvx2);

  q46::ImportOptions import_options;
  if (batch.getNumOccurrences() > 0 && batch < 1) return absl::InvalidArgumentError("--batch must be at least 1");
  if (batch > 0) import_options.batch = batch;
  absl::StatusOr<q46::ir::Graph> graph = q46::ImportOnnxFile(input_path, import_options);
  if (!graph.ok()) return graph.status();
  absl::StatusOr<q46::FloatTensor> samples = LoadCalibration();
  if (!samples.ok()) return samples.status();
  if (!samples->data.empty()) options.calibration = &*samples;

  std::vector<q46::PassResult> passes;
  if (absl::Status st = q46::RunPipeline(*graph, options, &passes); !st.ok()) return st;
  q46::LowerOptions lower;
  lower.producer = std::string("q46c ") + q46::tools::kVersion;
  absl::StatusOr<q46::plan::Plan> plan = q46::LowerToPlan(*graph, lower);
  if (!plan.ok()) return plan.status();
  // Load the plan as the runtime will, so a plan the runtime would refuse is never written.
  std::unique_ptr<q46::rt::Model> check;
  if (q46::rt::Status st = q46::rt::Model::FromPlan(*plan, &check); !st.ok())
    return absl::InternalError("the runtime refuses the plan: " + st.message());
  if (verify > 0 && options.calibration)
    if (absl::Status st = Verify(*plan, *options.calibration, verify); !st.ok()) return st;
  std::string qdq_bytes;
  if (!emit_qdq.empty()) {
    absl::StatusOr<onnx::ModelProto> qdq = q46::ExportOnnxQdq(*graph, lower.producer);
    if (!qdq.ok()) return qdq.status();
    qdq->SerializeToString(&qdq_bytes);
  }
  const std::string map_json = q46::tools::PrecisionMapJson(*graph);
  std::string bytes;
  if (q46::rt::Status st = q46::rt::SerializePlan(*plan, &bytes); !st.ok()) return absl::InternalError(st.message());
  std::vector<q46::rt::FileContents> outputs = {{output_path, &bytes}};
  if (!emit_qdq.empty()) outputs.push_back({emit_qdq, &qdq_bytes});
  if (!emit_precision_map.empty()) outputs.push_back({emit_precision_map, &map_json});
  if (q46::rt::Status st = q46::rt::WriteFilesAtomically(outputs); !st.ok()) return absl::InternalError(st.message());

  for (const q46::PassResult& p : passes) std::printf("  %-18s %s (%.2f s)\n", p.name.c_str(), p.summary.c_str(), p.seconds);
  if (options.auto_precision) std::printf("chosen precision map:\n%s", map_json.c_str());
  q46::tools::PrintPlanSummary(*plan, bytes.size());
  if (verify > 0 && options.calibration)
    std::printf("verified: the integer runtime matches the compiler's simulation bit for bit\n");
  std::printf("wrote %s\n", output_path.c_str());
  if (!emit_qdq.empty()) std::printf("wrote %s (ONNX QDQ, opset 13)\n", emit_qdq.c_str());
  if (!emit_precision_map.empty()) std::printf("wrote %s (precision map)\n", emit_precision_map.c_str());
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  q46::tools::UsePassiveOpenMpWait(argv);
  q46::tools::InitTool(argc, argv, {&kModel, &kPrecision, &kCalibration},
                       "q46c: compile a float ONNX CNN into a q46 plan (4.6-bit and other integer precisions)\n\n"
                       "  q46c model.onnx --nx 23 --nw 23 --calib data_batch_1.bin -o model.q46\n"
                       "  q46c model.onnx --float -o model.q46\n");
  return q46::tools::RunMain("q46c", Main);
}
