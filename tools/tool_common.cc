// Shared tool start-up, error exit, preprocessing flags and plan summary.
#include "tools/tool_common.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <new>
#include <algorithm>
#include <map>
#include <numeric>
#include <vector>

#include <oneapi/dnnl/dnnl.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "runtime/plan_file.h"

namespace q46::tools {

namespace cl = llvm::cl;

void UsePassiveOpenMpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's choice, or already re-executed
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only if it failed: run on with spinning threads
}

void InitTool(int argc, char** argv, std::initializer_list<const cl::OptionCategory*> categories,
              const char* overview) {
  cl::HideUnrelatedOptions(llvm::ArrayRef<const cl::OptionCategory*>(categories.begin(), categories.size()));
  cl::SetVersionPrinter([](llvm::raw_ostream& os) {
    os << "q46 " << kVersion << " (plan format " << rt::kPlanFormatVersion << ")\n";
  });
  // Parse errors come back as text so they can be reported on one line, like every other error. A value the
  // option cannot take ('abc' for a number) is reported by LLVM's parser straight to stderr, so stderr is caught
  // in a temporary file while parsing, and given back if parsing succeeds.
  std::string errors;
  llvm::raw_string_ostream errs(errors);
  std::fflush(stderr);
  const int saved_stderr = dup(STDERR_FILENO);
  FILE* caught = std::tmpfile();
  if (caught && saved_stderr >= 0) dup2(fileno(caught), STDERR_FILENO);
  const bool parsed = cl::ParseCommandLineOptions(argc, argv, overview, &errs);
  if (caught && saved_stderr >= 0) {
    std::fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    std::string direct(static_cast<size_t>(std::max(0L, std::ftell(caught))), '\0');
    std::rewind(caught);
    direct.resize(std::fread(direct.data(), 1, direct.size(), caught));
    if (parsed)
      std::fputs(direct.c_str(), stderr);
    else
      errors = direct + errors;
  }
  if (caught) std::fclose(caught);
  if (saved_stderr >= 0) close(saved_stderr);
  if (!parsed) {
    errs.flush();
    std::string line;
    for (llvm::StringRef part : llvm::split(llvm::StringRef(errors).trim(), '\n')) {
      part = part.trim();
      if (part.consume_front(llvm::sys::path::filename(argv[0]))) part = part.drop_front(part.startswith(":") ? 1 : 0).trim();
      part = part.split("  Try:").first;  // the hint is ours to give
      line += (line.empty() ? "" : " ") + part.str();
    }
    std::fprintf(stderr, "%s: error: %s (see --help)\n", llvm::sys::path::filename(argv[0]).str().c_str(), line.c_str());
    std::exit(2);
  }
}

int ExitWith(const char* tool, const absl::Status& status) {
  if (status.ok()) return 0;
  std::string msg(status.message());
  for (char& c : msg)
    if (c == '\n') c = ' ';
  std::fprintf(stderr, "%s: error: %s\n", tool, msg.c_str());
  return 1;
}

absl::Status CheckOutputPaths(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs) {
  namespace fs = std::filesystem;
  const auto same_file = [](const std::string& a, const std::string& b) {
    std::error_code ec1, ec2;
    if (fs::equivalent(a, b, ec1)) return true;  // both exist (hard links too)
    const fs::path ca = fs::weakly_canonical(a, ec1), cb = fs::weakly_canonical(b, ec2);
    return !ec1 && !ec2 && ca == cb;
  };
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& out = outputs[i];
    if (out.path.empty()) continue;
    const fs::path folder = fs::path(out.path).parent_path();
    std::error_code ec;
    if (!folder.empty() && !fs::is_directory(folder, ec))
      return absl::InvalidArgumentError(
          absl::StrCat(out.flag, " '", out.path, "': no folder '", folder.string(), "' to write it in"));
    if (fs::is_directory(out.path, ec))
      return absl::InvalidArgumentError(absl::StrCat(out.flag, " '", out.path, "' is a folder, not a file"));
    if (::access(folder.empty() ? "." : folder.c_str(), W_OK) != 0)
      return absl::InvalidArgumentError(
          absl::StrCat(out.flag, " '", out.path, "': cannot write in '", folder.empty() ? "." : folder.string(), "'"));
    std::vector<NamedPath> others(inputs);
    others.insert(others.end(), outputs.begin(), outputs.begin() + static_cast<std::ptrdiff_t>(i));
    for (const NamedPath& other : others)
      if (!other.path.empty() && same_file(out.path, other.path))
        return absl::InvalidArgumentError(absl::StrCat(out.flag, " '", out.path, "' is the same file as ", other.flag,
                                                       " '", other.path, "': it would be overwritten"));
  }
  return absl::OkStatus();
}

int RunMain(const char* tool, absl::Status (*main)()) {
  absl::Status status;
  try {
    status = main();
  } catch (const std::bad_alloc&) {
    status = absl::ResourceExhaustedError("out of memory");
  } catch (const std::exception& e) {
    status = absl::InternalError(e.what());
  }
  return ExitWith(tool, status);
}

PreprocessFlags::PreprocessFlags(cl::OptionCategory& category)
    : resize_("resize", cl::desc("Images: resize the shorter side to N pixels (bilinear)"), cl::init(0),
              cl::cat(category)),
      crop_("crop", cl::desc("Images: center crop to N x N"), cl::init(0), cl::cat(category)),
      mean_("mean", cl::desc("Normalize: per-channel mean, e.g. 0.485,0.456,0.406 (default: none)"),
            cl::cat(category)),
      std_("std", cl::desc("Normalize: per-channel std, e.g. 0.229,0.224,0.225"), cl::cat(category)) {}

static absl::Status ParseFloats(const std::string& flag, const std::string& text, std::vector<float>* out) {
  out->clear();
  if (text.empty()) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    float v;
    if (!absl::SimpleAtof(part, &v)) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", part, "' is not a number"));
    out->push_back(v);
  }
  return absl::OkStatus();
}

absl::StatusOr<ImagePreprocess> PreprocessFlags::Get() const {
  ImagePreprocess p;
  p.resize = resize_;
  p.crop = crop_;
  if (absl::Status st = ParseFloats("mean", mean_, &p.mean); !st.ok()) return st;
  if (absl::Status st = ParseFloats("std", std_, &p.std); !st.ok()) return st;
  if (absl::Status st = ValidatePreprocess(p); !st.ok()) return st;
  return p;
}

std::string DimsString(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += absl::StrCat(i ? ", " : "", dims[i]);
  return s + "]";
}

void PrintTopK(const FloatTensor& scores, const std::vector<int>& labels, unsigned k) {
  const int64_t n = scores.dims[0], classes = scores.dims[1];
  k = std::min<unsigned>(k, static_cast<unsigned>(classes));
  std::vector<int64_t> order(static_cast<size_t>(classes));
  for (int64_t i = 0; i < n; ++i) {
    const float* row = scores.data.data() + i * classes;
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    std::string line = absl::StrCat("sample ", i, ":");
    for (unsigned j = 0; j < k; ++j) line += absl::StrFormat(" %d (%.4g)", order[j], row[order[j]]);
    if (static_cast<size_t>(i) < labels.size() && labels[i] >= 0) line += absl::StrCat("  label ", labels[i]);
    std::printf("%s\n", line.c_str());
  }
}

absl::Status RunBatched(int64_t batch, int64_t per_in, int64_t per_out, const float* samples, int64_t count, float* out,
                        const std::function<absl::Status(const float* in, const float** out)>& run_batch) {
  std::vector<float> in(static_cast<size_t>(batch * per_in));
  for (int64_t start = 0; start < count; start += batch) {
    const int64_t real = std::min(batch, count - start);
    for (int64_t b = 0; b < batch; ++b)
      std::copy_n(samples + (start + std::min(b, real - 1)) * per_in, per_in, in.begin() + b * per_in);
    const float* y;
    if (absl::Status st = run_batch(in.data(), &y); !st.ok()) return st;
    std::copy_n(y, real * per_out, out + start * per_out);
  }
  return absl::OkStatus();
}

absl::Status RunSamples(q46_context* ctx, const float* samples, int64_t count, float* out) {
  const q46_model* model = q46_context_model(ctx);
  int64_t in_dims[8], out_dims[8];
  const size_t in_rank = q46_model_input_dims(model, 0, in_dims, 8);
  const size_t out_rank = q46_model_output_dims(model, 0, out_dims, 8);
  const int64_t per_in = std::accumulate(in_dims + 1, in_dims + in_rank, int64_t{1}, std::multiplies<int64_t>());
  const int64_t per_out = std::accumulate(out_dims + 1, out_dims + out_rank, int64_t{1}, std::multiplies<int64_t>());
  return RunBatched(in_dims[0], per_in, per_out, samples, count, out, [&](const float* in, const float** y) {
    size_t y_count;
    if (q46_context_set_input(ctx, 0, in, static_cast<size_t>(in_dims[0] * per_in)) != Q46_OK ||
        q46_context_run(ctx) != Q46_OK || q46_context_output(ctx, 0, y, &y_count) != Q46_OK)
      return absl::InternalError(q46_context_last_error(ctx));
    return absl::OkStatus();
  });
}

namespace {

// How the summary counts a node that is not a convolution. No default: a new op kind must be named here.
const char* OtherNodeKind(const plan::Node& n) {
  using N = plan::Node;
  switch (n.op_case()) {
    case N::kPool: return "pool";
    case N::kQuantize: return "quantize";
    case N::kDequantize: return "dequantize";
    case N::kBinary: return "binary";
    case N::kUnary: return "activation";
    case N::kReshape: return "reshape";
    case N::kConcat: return "concat";
    case N::kPad: return "pad";
    case N::kResize: return "resize";
    case N::kSoftmax: return "softmax";
    case N::kTranspose: return "transpose";
    case N::kMatmul: return "matmul";
    case N::kSlice: return "slice";
    case N::kReduce: return "reduce";
    case N::kFloatConv:
    case N::kQuantConv:
    case N::OP_NOT_SET: break;
  }
  return "other";
}

}  // namespace

void PrintPlanSummary(const plan::Plan& plan, size_t plan_bytes) {
  std::printf("%-32s %-10s %-12s %s\n", "layer", "op", "precision", "weights");
  size_t float_bytes = 0, quant_layers = 0, layers = 0;
  std::map<std::string, int> others;
  for (const plan::Node& n : plan.nodes()) {
    if (n.has_quant_conv()) {
      const plan::QuantConv& q = n.quant_conv();
      const int nx = plan.tensors(n.inputs(0)).quant().levels();
      std::printf("%-32s %-10s %-12s %zu codes\n", n.name().c_str(), "conv", absl::StrCat("(", nx, ", ", q.weight_levels(), ")").c_str(),
                  q.weight_codes().size());
      float_bytes += q.weight_codes().size() * sizeof(float);
      ++quant_layers;
      ++layers;
    } else if (n.has_float_conv()) {
      const plan::FloatConv& f = n.float_conv();
      std::printf("%-32s %-10s %-12s %zu floats\n", n.name().c_str(), f.transposed() ? "convT" : "conv", "float",
                  f.weights().size() / sizeof(float));
      float_bytes += f.weights().size();
      ++layers;
    } else {
      ++others[OtherNodeKind(n)];
    }
  }
  std::string rest;
  for (const auto& [name, count] : others) rest += absl::StrCat(rest.empty() ? "" : ", ", count, " ", name);
  std::printf("%zu layers (%zu quantized)%s%s\n", layers, quant_layers, rest.empty() ? "" : "; other nodes: ",
              rest.c_str());
  std::printf("plan: %zu bytes (float32 weights would take %zu bytes)\n", plan_bytes, float_bytes);
}

void CapOnednnIsa(kernels::qconv::Isa isa) {
#if defined(__x86_64__)
  using kernels::qconv::Isa;
  if (std::getenv("DNNL_MAX_CPU_ISA") != nullptr || isa == Isa::kNeon) return;  // the user's choice; not x86
  const dnnl_cpu_isa_t cap = isa == Isa::kRef      ? dnnl_cpu_isa_sse41
                             : isa == Isa::kAvx2   ? dnnl_cpu_isa_avx2
                             : isa == Isa::kAvx512 ? dnnl_cpu_isa_avx512_core
                                                   : dnnl_cpu_isa_avx512_core_vnni;
  if (dnnl_set_max_cpu_isa(cap) != dnnl_success)
    std::fprintf(stderr, "q46: warning: oneDNN refused the cap at %s: its float kernels may use more\n",
                 kernels::qconv::IsaName(isa));
#else
  (void)isa;
#endif
}

}  // namespace q46::tools
