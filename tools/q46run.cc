// q46run: run a compiled plan on inputs through the runtime's C API and print / save the outputs.
// Inputs: an .npy tensor, an image (or folder of images), or CIFAR-10 records; run a model batch at a time.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "compiler/data/npy.h"
#include "compiler/data/sample_source.h"
#include "q46/q46.h"
#include "tools/tool_common.h"

namespace cl = llvm::cl;

namespace {

cl::OptionCategory kRun("Running");
cl::OptionCategory kInput("Input");

cl::opt<std::string> plan_path(cl::Positional, cl::desc("<model.q46>"), cl::Required, cl::cat(kRun));
cl::opt<std::string> input_path("input",
                                cl::desc("Input: .npy [N,C,H,W] (or the model's input shape), an image, a folder of "
                                         "images, or a CIFAR-10 .bin file"),
                                cl::value_desc("path"), cl::cat(kInput));
cl::opt<int64_t> count("count", cl::desc("Use only the first N samples of the input (default: all)"), cl::init(-1),
                       cl::cat(kInput));
cl::opt<std::string> output_path("output", cl::desc("Write the network's first output for every sample as .npy"),
                                 cl::value_desc("file"), cl::cat(kRun));
cl::opt<int> threads("threads", cl::desc("Threads each layer is split over (default 1); the outputs do not depend on it"),
                     cl::init(1), cl::cat(kRun));
cl::opt<unsigned> top_k("top-k", cl::desc("Print the k highest scores per sample for a [N, classes] output (0 = off)"),
                        cl::init(5), cl::cat(kRun));
q46::tools::PreprocessFlags preprocess_flags(kInput);

struct ModelDeleter {
  void operator()(q46_model* m) const { q46_model_free(m); }
};
struct ContextDeleter {
  void operator()(q46_context* c) const { q46_context_free(c); }
};

absl::Status Main() {
  if (input_path.empty()) return absl::InvalidArgumentError("no input: pass --input PATH");
  if (threads < 1) return absl::InvalidArgumentError("--threads must be at least 1");
  if (count == 0 || count < -1) return absl::InvalidArgumentError("--count must be at least 1");
  if (absl::Status st = q46::tools::CheckOutputPaths({{"--output", output_path}},
                                                     {{"the plan", plan_path}, {"--input", input_path}});
      !st.ok())
    return st;
  q46_model* raw_model = nullptr;
  const char* error = nullptr;
  if (q46_model_load_file(plan_path.c_str(), &raw_model, &error) != Q46_OK) return absl::InvalidArgumentError(error);
  std::unique_ptr<q46_model, ModelDeleter> model(raw_model);
  if (q46_model_num_inputs(model.get()) != 1) return absl::UnimplementedError("q46run runs models with one input");
  int64_t in_dims[8], out_dims[8];
  const size_t in_rank = q46_model_input_dims(model.get(), 0, in_dims, 8);
  const size_t out_rank = q46_model_output_dims(model.get(), 0, out_dims, 8);
  const int64_t per_in = std::accumulate(in_dims + 1, in_dims + in_rank, int64_t{1}, std::multiplies<int64_t>());
  const int64_t per_out = std::accumulate(out_dims + 1, out_dims + out_rank, int64_t{1}, std::multiplies<int64_t>());

  q46::SampleOptions so;
  absl::StatusOr<q46::ImagePreprocess> pre = preprocess_flags.Get();
  if (!pre.ok()) return pre.status();
  so.preprocess = *pre;
  absl::StatusOr<q46::LabeledImages> data = q46::LoadSamples(input_path, so);
  if (!data.ok()) return data.status();
  q46::FloatTensor& x = data->images;
  if (x.dims.empty() || x.size() % per_in != 0 || std::vector<int64_t>(x.dims.begin() + 1, x.dims.end()) !=
                                                      std::vector<int64_t>(in_dims + 1, in_dims + in_rank))
    return absl::InvalidArgumentError(absl::StrCat("input '", input_path.getValue(), "' has shape ",
                                                   q46::tools::DimsString(x.dims), " but the model takes ",
                                                   q46::tools::DimsString({in_dims, in_dims + in_rank}),
                                                   " (any N)"));
  int64_t n = x.dims[0];
  if (count > n)
    return absl::InvalidArgumentError(
        absl::StrCat("--count ", count.getValue(), " but '", input_path.getValue(), "' has only ", n, " samples"));
  if (count > 0) n = count;

  q46_context* raw_ctx = nullptr;
  if (q46_context_create(model.get(), &raw_ctx) != Q46_OK)
    return absl::InternalError("cannot create a context (out of memory for the plan's buffers, or oneDNN refused a float layer)");
  std::unique_ptr<q46_context, ContextDeleter> ctx(raw_ctx);
  if (q46_context_set_threads(ctx.get(), threads) != Q46_OK)
    return absl::InternalError(absl::StrCat("cannot run on ", threads.getValue(), " threads: ",
                                            q46_context_last_error(ctx.get())));
  q46::FloatTensor y{{n}, std::vector<float>(static_cast<size_t>(n * per_out))};
  y.dims.insert(y.dims.end(), out_dims + 1, out_dims + out_rank);
  if (absl::Status st = q46::tools::RunSamples(ctx.get(), x.data.data(), n, y.data.data()); !st.ok()) return st;
  if (top_k > 0 && out_rank == 2) q46::tools::PrintTopK(y, data->labels, top_k);
  if (!output_path.empty()) {
    if (absl::Status st = q46::WriteNpy(output_path, y); !st.ok()) return st;
    std::printf("wrote %s %s\n", output_path.c_str(), q46::tools::DimsString(y.dims).c_str());
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  q46::tools::InitTool(argc, argv, {&kRun, &kInput},
                       "q46run: run a q46 plan on inputs\n\n"
                       "  q46run model.q46 --input images.npy --output logits.npy\n"
                       "  q46run model.q46 --input cat.jpg --resize 256 --crop 224 --mean 0.485,0.456,0.406 "
                       "--std 0.229,0.224,0.225\n");
  return q46::tools::RunMain("q46run", Main);
}
