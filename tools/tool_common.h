// What every q46 command-line tool shares: start-up (--help, --version, option categories), the one-line
// error exit, image preprocessing flags, and the plan summary printout.
#pragma once

#include <functional>

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compiler/data/image_preprocess.h"
#include "compiler/tensor.h"
#include "llvm/Support/CommandLine.h"
#include "plan.pb.h"
#include "q46/q46.h"
#include "runtime/kernels/qconv/qconv.h"

namespace q46::tools {

inline constexpr const char* kVersion = "0.1.0";

// For tools that run many short OpenMP regions (q46c's calibration): threads that spin while they wait for each
// other make such a run up to 10x slower when another process shares the cores (CNN10 compile: 6 s on an idle
// 2-core machine, 60 s beside one busy process, 8 s with passive waiting). libgomp reads OMP_WAIT_POLICY only
// when it loads, so when the variable is unset this sets it to passive and executes the program again, once.
void UsePassiveOpenMpWait(char** argv);

// Parses argv; only the given categories show in --help; --version prints the tool and plan format versions.
void InitTool(int argc, char** argv, std::initializer_list<const llvm::cl::OptionCategory*> categories,
              const char* overview);

// 0 when ok; otherwise prints "tool: error: message" on one line to stderr and returns 1.
int ExitWith(const char* tool, const absl::Status& status);

// ExitWith(tool, main()), where running out of memory (or any other exception that escapes) is a one-line error
// too, not an abort.
int RunMain(const char* tool, absl::Status (*main)());

// A file a tool reads or writes, as the flag that named it ("-o", "--calib", "the model") and its path.
struct NamedPath {
  std::string flag, path;
};
// Checked before any work, so that a long run never ends in a refusal to write: every output's folder exists and
// may be written, no output is a folder, and none is an input or another output (the same file by any name: links,
// "./", "..").
absl::Status CheckOutputPaths(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs);

// --resize, --crop, --mean, --std, for image inputs (torchvision order: resize, center crop, normalize).
class PreprocessFlags {
 public:
  explicit PreprocessFlags(llvm::cl::OptionCategory& category);
  absl::StatusOr<ImagePreprocess> Get() const;

 private:
  llvm::cl::opt<int> resize_;
  llvm::cl::opt<int> crop_;
  llvm::cl::opt<std::string> mean_;
  llvm::cl::opt<std::string> std_;
};

// "[1, 3, 32, 32]"
std::string DimsString(const std::vector<int64_t>& dims);

// For each row of a [N, classes] tensor: the k best classes and scores (and the label when known, >= 0).
void PrintTopK(const FloatTensor& scores, const std::vector<int>& labels, unsigned k);

// Runs `count` samples (each `per_in` floats, back to back) through a context a model batch at a time and writes
// `per_out` output floats per sample. A short last batch is padded with copies of its last sample.
absl::Status RunSamples(q46_context* ctx, const float* samples, int64_t count, float* out);

// The batching behind RunSamples, for any way of running one full batch: `run_batch(in, out)` maps `batch`
// samples of `per_in` floats to `batch` outputs of `per_out` floats.
absl::Status RunBatched(int64_t batch, int64_t per_in, int64_t per_out, const float* samples, int64_t count, float* out,
                        const std::function<absl::Status(const float* in, const float** out)>& run_batch);

// Prints the layers of a plan with their precisions, and the plan's size.
void PrintPlanSummary(const plan::Plan& plan, size_t plan_bytes);

// Caps oneDNN (the float layers) at `isa`'s instruction set (an --isa flag's, as on a CPU that has no more; q46c's
// AVX2 for reproducible plans), unless DNNL_MAX_CPU_ISA is set: the user's choice. Must run before the first oneDNN
// call (oneDNN refuses it after: a warning on stderr). Nothing on non-x86 builds.
void CapOnednnIsa(kernels::qconv::Isa isa);

}  // namespace q46::tools
