// q46eval: accuracy of a plan (or of an ONNX model, compiled float in-process) through the q46 runtime on a
// labelled data set: CIFAR-10 binary batches or a folder of class subfolders of images. Top-1, top-5,
// per-class accuracy, optional confusion matrix; --json prints one JSON object on stdout.
// Work is split over threads, one runtime context each, sharing one loaded model; results do not depend on
// the thread count.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "compiler/data/cifar10.h"
#include "compiler/data/image_folder.h"
#include "compiler/data/sample_source.h"
#include "compiler/onnx_importer.h"
#include "compiler/plan_writer.h"
#include "compiler/simulate.h"
#include "llvm/Support/JSON.h"
#include "passes/pass.h"
#include "q46/q46.h"
#include "runtime/ops/op_builder.h"
#include "runtime/plan_file.h"
#include "tools/tool_common.h"

namespace cl = llvm::cl;

namespace {

cl::OptionCategory kEval("Evaluation");
cl::OptionCategory kData("Data set");

cl::opt<std::string> model_path(cl::Positional, cl::desc("<model.q46 | model.onnx>"), cl::Required, cl::cat(kEval));
cl::opt<std::string> cifar10("cifar10", cl::desc("CIFAR-10: a batch .bin file, or a folder (its test_batch.bin)"),
                             cl::value_desc("path"), cl::cat(kData));
cl::opt<std::string> images("images", cl::desc("A folder of class subfolders of JPEG/PNG images"),
                            cl::value_desc("dir"), cl::cat(kData));
cl::opt<int64_t> limit("limit", cl::desc("Evaluate only the first N samples"), cl::init(-1), cl::cat(kData));
cl::opt<unsigned> threads("threads", cl::desc("Worker threads, each with its own runtime context (default: all cores)"),
                          cl::init(0), cl::cat(kEval));
cl::opt<unsigned> chunk("batch", cl::desc("Samples a worker loads and runs at a time (the plan's own batch size is fixed)"), cl::init(256), cl::cat(kEval));
cl::opt<bool> confusion("confusion", cl::desc("Print the confusion matrix (rows: true class, columns: predicted)"),
                        cl::cat(kEval));
cl::opt<bool> json("json", cl::desc("Print one JSON object on stdout (top1 and top5 in percent)"), cl::cat(kEval));
cl::opt<bool> quiet("quiet", cl::desc("No progress on stderr"), cl::cat(kEval));
cl::opt<bool> simulate("simulate",
                       cl::desc("Score through the compiler's simulation of the plan instead of the runtime (the two "
                                "must agree; slow: scalar code)"),
                       cl::cat(kEval));
q46::tools::PreprocessFlags preprocess_flags(kData);

// A labelled data set read a chunk at a time.
struct Dataset {
  std::vector<int> labels;
  std::vector<std::string> class_names;
  std::function<absl::StatusOr<q46::FloatTensor>(int64_t begin, int64_t n)> load;
};

std::vector<std::string> CifarClassNames(const std::string& batch_path) {
  std::vector<std::string> names;
  const std::string dir = batch_path.substr(0, batch_path.find_last_of('/') + 1);
  std::ifstream meta(dir + "batches.meta.txt");
  for (std::string line; std::getline(meta, line);)
    if (!line.empty()) names.push_back(line);
  return names.size() == 10 ? names : std::vector<std::string>{};
}

absl::StatusOr<Dataset> OpenDataset(const q46::ImagePreprocess& pre) {
  if (cifar10.empty() == images.empty()) return absl::InvalidArgumentError("give exactly one of --cifar10 and --images");
  Dataset d;
  if (!cifar10.empty()) {
    absl::StatusOr<std::string> path = q46::ResolveCifar10Path(cifar10);
    if (!path.ok()) return path.status();
    absl::StatusOr<q46::LabeledImages> all = q46::ReadCifar10(*path, limit);
    if (!all.ok()) return all.status();
    if (!pre.mean.empty())
      if (absl::Status st = q46::NormalizeChannels(&all->images, pre.mean, pre.std); !st.ok()) return st;
    d.labels = all->labels;
    d.class_names = CifarClassNames(*path);
    auto shared = std::make_shared<q46::FloatTensor>(std::move(all->images));
    d.load = [shared](int64_t begin, int64_t n) -> absl::StatusOr<q46::FloatTensor> {
      return q46::Batch(*shared, begin, n);
    };
    return d;
  }
  absl::StatusOr<q46::ImageFileList> list = q46::ListImageFolder(images);
  if (!list.ok()) return list.status();
  if (list->classes.empty()) return absl::InvalidArgumentError(absl::StrCat(images.getValue(), ": no class subfolders"));
  int64_t n = static_cast<int64_t>(list->paths.size());
  if (limit >= 0) n = std::min<int64_t>(n, limit);
  d.labels.assign(list->labels.begin(), list->labels.begin() + n);
  d.class_names = list->classes;
  auto files = std::make_shared<q46::ImageFileList>(std::move(*list));
  d.load = [files, pre](int64_t begin, int64_t count) -> absl::StatusOr<q46::FloatTensor> {
    std::vector<std::string> paths(files->paths.begin() + begin, files->paths.begin() + begin + count);
    absl::StatusOr<q46::LabeledImages> batch = q46::ReadImageFiles(paths, std::vector<int>(paths.size(), -1), pre);
    if (!batch.ok()) return batch.status();
    return std::move(batch->images);
  };
  return d;
}

// The plan bytes: the file itself, or an ONNX model compiled float.
absl::StatusOr<std::string> PlanBytes() {
  const std::string& path = model_path;
  if (path.size() < 5 || path.substr(path.size() - 5) != ".onnx") {
    std::string bytes;
    if (q46::rt::Status st = q46::rt::ReadFileBytes(path, &bytes); !st.ok()) return absl::NotFoundError(st.message());
    return bytes;
  }
  absl::StatusOr<q46::ir::Graph> g = q46::ImportOnnxFile(path);
  if (!g.ok()) return g.status();
  q46::CompileOptions options;
  options.all_float = true;
  if (absl::Status st = q46::RunPipeline(*g, options, nullptr); !st.ok()) return st;
  absl::StatusOr<q46::plan::Plan> plan = q46::LowerToPlan(*g, {});
  if (!plan.ok()) return plan.status();
  std::string bytes;
  if (q46::rt::Status st = q46::rt::SerializePlan(*plan, &bytes); !st.ok()) return absl::InternalError(st.message());
  return bytes;
}

struct ModelHandle {
  q46_model* m = nullptr;
  ~ModelHandle() { q46_model_free(m); }
};

// Outputs of `count` samples through the compiler's simulation of the plan.
absl::Status SimulateSamples(const q46::plan::Plan& plan, const float* samples, int64_t count, float* out) {
  const q46::plan::Tensor& in = plan.tensors(plan.inputs(0));
  const q46::plan::Tensor& y = plan.tensors(plan.outputs(0));
  const std::vector<int64_t> in_dims(in.dims().begin(), in.dims().end());
  const int64_t per_in = q46::FloatTensor::NumElements(in_dims) / in_dims[0];
  const int64_t per_out = q46::rt::NumElements(y) / in_dims[0];
  std::vector<q46::FloatTensor> result;
  return q46::tools::RunBatched(in_dims[0], per_in, per_out, samples, count, out, [&](const float* x, const float** o) {
    q46::FloatTensor batch{in_dims, std::vector<float>(x, x + in_dims[0] * per_in)};
    absl::StatusOr<std::vector<q46::FloatTensor>> r = q46::SimulatePlan(plan, {batch});
    if (!r.ok()) return r.status();
    result = *std::move(r);
    *o = result[0].data.data();
    return absl::OkStatus();
  });
}

// Scores of every sample, [n, classes], computed by `workers` threads through the runtime or, given `simulated`,
// through the compiler's simulation of that plan.
absl::Status Evaluate(const q46_model* model, const q46::plan::Plan* simulated, const Dataset& data, unsigned workers,
                      std::vector<float>* scores, int64_t* classes) {
  int64_t in_dims[8], out_dims[8];
  const size_t in_rank = q46_model_input_dims(model, 0, in_dims, 8);
  const size_t out_rank = q46_model_output_dims(model, 0, out_dims, 8);
  if (out_rank != 2) return absl::InvalidArgumentError("the model's output is not [N, classes]");
  const int64_t per_in = std::accumulate(in_dims + 1, in_dims + in_rank, int64_t{1}, std::multiplies<int64_t>());
  *classes = out_dims[1];
  const int64_t n = static_cast<int64_t>(data.labels.size());
  scores->assign(static_cast<size_t>(n * *classes), 0.0f);
  std::atomic<int64_t> next{0}, done{0};
  std::mutex error_mutex;
  absl::Status error;
  const auto started = std::chrono::steady_clock::now();
  auto worker = [&] {
    q46_context* ctx = nullptr;
    if (q46_context_create(model, &ctx) != Q46_OK) {
      std::lock_guard<std::mutex> lock(error_mutex);
      error = absl::InternalError("cannot create a context (out of memory for the plan's buffers, or oneDNN refused a float layer)");
      return;
    }
    for (int64_t begin; (begin = next.fetch_add(chunk)) < n;) {
      const int64_t count = std::min<int64_t>(chunk, n - begin);
      absl::StatusOr<q46::FloatTensor> x = data.load(begin, count);
      if (x.ok() && x->size() != count * per_in)
        x = absl::InvalidArgumentError(absl::StrCat("samples are ", q46::tools::DimsString(x->dims), " but the model takes ",
                                                    q46::tools::DimsString({in_dims, in_dims + in_rank})));
      if (!x.ok()) {
        std::lock_guard<std::mutex> lock(error_mutex);
        error = x.status();
        break;
      }
      float* out = scores->data() + begin * *classes;
      if (absl::Status st = simulated ? SimulateSamples(*simulated, x->data.data(), count, out)
                                      : q46::tools::RunSamples(ctx, x->data.data(), count, out);
          !st.ok()) {
        std::lock_guard<std::mutex> lock(error_mutex);
        error = st;
        break;
      }
      const int64_t finished = done.fetch_add(count) + count;
      if (!quiet) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::fprintf(stderr, "\rq46eval: %lld / %lld samples, %.0f / s ", static_cast<long long>(finished),
                     static_cast<long long>(n), finished / std::max(secs, 1e-9));
      }
    }
    q46_context_free(ctx);
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < workers; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (!quiet) std::fprintf(stderr, "\n");
  return error;
}

absl::Status Main() {
  if (chunk == 0) return absl::InvalidArgumentError("--batch must be at least 1");
  if (limit == 0 || limit < -1) return absl::InvalidArgumentError("--limit must be at least 1");
  absl::StatusOr<q46::ImagePreprocess> pre = preprocess_flags.Get();
  if (!pre.ok()) return pre.status();
  if (!cifar10.empty() && (pre->resize || pre->crop)) return absl::InvalidArgumentError("--resize / --crop apply to --images only");
  absl::StatusOr<Dataset> data = OpenDataset(*pre);
  if (!data.ok()) return data.status();
  absl::StatusOr<std::string> bytes = PlanBytes();
  if (!bytes.ok()) return bytes.status();
  ModelHandle model;
  const char* error = nullptr;
  if (q46_model_load_memory(bytes->data(), bytes->size(), &model.m, &error) != Q46_OK)
    return absl::InvalidArgumentError(absl::StrCat(model_path.getValue(), ": ", error));
  const unsigned workers = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<float> scores;
  int64_t classes = 0;
  const auto start = std::chrono::steady_clock::now();
  std::optional<q46::plan::Plan> plan;
  if (simulate) {
    plan.emplace();
    if (q46::rt::Status st = q46::rt::ParsePlanBytes(bytes->data(), bytes->size(), &*plan); !st.ok())
      return absl::InvalidArgumentError(absl::StrCat(model_path.getValue(), ": ", st.message()));
  }
  if (absl::Status st = Evaluate(model.m, plan ? &*plan : nullptr, *data, workers, &scores, &classes); !st.ok())
    return st;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const int64_t n = static_cast<int64_t>(data->labels.size());
  std::vector<int64_t> per_class_total(classes, 0), per_class_right(classes, 0), matrix(classes * classes, 0);
  int64_t top1 = 0, top5 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = scores.data() + i * classes;
    const int label = data->labels[i];
    if (label < 0 || label >= classes)
      return absl::InvalidArgumentError(absl::StrCat("sample ", i, " has label ", label, ", outside the model's ", classes, " classes"));
    int64_t rank = 0, best = 0;  // rank of the true class: scores strictly above it, ties broken by index
    for (int64_t c = 0; c < classes; ++c) {
      if (row[c] > row[label] || (row[c] == row[label] && c < label)) ++rank;
      if (row[c] > row[best]) best = c;
    }
    top1 += rank == 0;
    top5 += rank < 5;
    ++per_class_total[label];
    per_class_right[label] += rank == 0;
    ++matrix[label * classes + best];
  }
  const auto pct = [](int64_t a, int64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  const auto name = [&](int64_t c) {
    return c < static_cast<int64_t>(data->class_names.size()) ? data->class_names[c] : std::to_string(c);
  };
  if (json) {
    llvm::json::Object o{{"model", model_path.getValue()}, {"samples", n}, {"top1", pct(top1, n)},
                         {"top5", classes >= 5 ? llvm::json::Value(pct(top5, n)) : llvm::json::Value(nullptr)},
                         {"seconds", seconds}, {"threads", workers}};
    llvm::json::Object per_class;
    for (int64_t c = 0; c < classes; ++c) per_class[name(c)] = pct(per_class_right[c], per_class_total[c]);
    o["per_class_top1"] = std::move(per_class);
    if (confusion) {
      llvm::json::Array rows;
      for (int64_t r = 0; r < classes; ++r) rows.push_back(llvm::json::Array(std::vector<int64_t>(
          matrix.begin() + r * classes, matrix.begin() + (r + 1) * classes)));
      o["confusion"] = std::move(rows);
    }
    std::printf("%s\n", llvm::formatv("{0}", llvm::json::Value(std::move(o))).str().c_str());
    return absl::OkStatus();
  }
  std::printf("%s on %lld samples: top-1 %.2f%%", model_path.c_str(), static_cast<long long>(n), pct(top1, n));
  if (classes >= 5) std::printf(", top-5 %.2f%%", pct(top5, n));
  std::printf(" (%.1f s, %u threads)\n", seconds, workers);
  for (int64_t c = 0; c < classes; ++c)
    std::printf("  %-12s %6.2f%%  (%lld)\n", name(c).c_str(), pct(per_class_right[c], per_class_total[c]),
                static_cast<long long>(per_class_total[c]));
  if (confusion) {
    std::printf("confusion (rows: true class, columns: predicted)\n");
    for (int64_t r = 0; r < classes; ++r) {
      std::printf("  %-12s", name(r).c_str());
      for (int64_t c = 0; c < classes; ++c) std::printf(" %5lld", static_cast<long long>(matrix[r * classes + c]));
      std::printf("\n");
    }
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  q46::tools::InitTool(argc, argv, {&kEval, &kData},
                       "q46eval: accuracy of a q46 plan (or a float ONNX model) through the q46 runtime\n\n"
                       "  q46eval model.q46 --cifar10 cifar-10-batches-bin\n"
                       "  q46eval model.q46 --images val/ --resize 256 --crop 224 --mean 0.485,0.456,0.406 "
                       "--std 0.229,0.224,0.225 --json\n");
  return q46::tools::RunMain("q46eval", Main);
}
