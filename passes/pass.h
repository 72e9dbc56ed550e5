// The pass interface: a pass rewrites the IR in place and reports what it did in one line.
// Passes are listed, in pipeline order, in passes.def; pipeline.cc runs them. Options every pass may read are
// in CompileOptions; a pass reads only its own part.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "compiler/ir.h"
#include "compiler/tensor.h"
#include "runtime/arith.h"
#include "runtime/kernels/qconv/qconv.h"

namespace q46 {

struct CompileOptions {
  // relu6: replace ReLU by ReLU6 (the article's first step).
  bool relu6 = false;
  // assign-precision
  bool all_float = false;                    // --float: every layer stays float
  arith::Precision precision{23, 23};        // --nx / --nw
  std::map<std::string, std::optional<arith::Precision>> precision_map;  // node -> pair, nullopt = float
  // choose-precision (--precision auto): the global pair's assignment is the baseline the budget is relative to
  bool auto_precision = false;
  double max_latency_ratio = 0;              // estimated latency at most this times the baseline's (0: unused)
  double max_size_ratio = 0;                 // estimated plan bytes at most this times the baseline's (0: unused)
  kernels::qconv::Isa isa = kernels::qconv::DetectIsa();  // whose kernels the latency is measured with
  int64_t sensitivity_samples = 64;          // calibration samples the per-layer damage is measured on
  std::string precision_cache;               // folder caching damage and cost tables ("": no cache)
  // calibrate-ranges
  std::string range_method = "mse";          // minmax | percentile | mse
  double percentile = 99.99;
  const FloatTensor* calibration = nullptr;  // [N, C, H, W] sample inputs
  bool progress = false;                     // report progress of long runs on stderr
  bool live_progress = false;                // also a line updated in place ("\r"; for a terminal)
  // quantize-weights
  bool per_tensor_weights = false;
  std::string weight_clip = "mse";           // absmax | mse
  // reconstruct
  std::string calib_method = "adaquant";     // none | adaquant | adaround
  int calib_steps = 500;                     // optimisation steps per layer
  double calib_learning_rate = 0;           // 0: the method's default
  bool bias_correction = true;
  double calib_drop = 0;                     // QDrop: chance an input element keeps its float value in the fit
  double calib_time_budget = 0;              // seconds for the whole search (0: no limit)
  uint64_t seed = 0;                         // row sampling
  double reconstruct_memory = 8e9;           // bytes both networks' live values may take; above, prefixes rerun
};

struct PassContext {
  const CompileOptions& options;
  std::string summary;  // set by the pass: what it did, one line
};

using PassFn = absl::Status (*)(ir::Graph& graph, PassContext& ctx);

struct PassInfo {
  const char* name;
  PassFn run;
  const char* description;
};

#define Q46_PASS(NAME, FN, DESCRIPTION) absl::Status FN(ir::Graph& graph, PassContext& ctx);
#include "passes/passes.def"
#undef Q46_PASS

// The passes in pipeline order.
const std::vector<PassInfo>& AllPasses();

struct PassResult {
  std::string name;
  std::string summary;
  double seconds = 0;
};

// Runs every pass in order; stops at the first error, prefixed with the pass name.
absl::Status RunPipeline(ir::Graph& graph, const CompileOptions& options, std::vector<PassResult>* results);

// The activation-range options calibrate-ranges takes (method, percentile), checked before any pass runs: a bad
// value must not wait for the slow passes before it (choose-precision's measurements).
absl::Status CheckRangeOptions(const CompileOptions& o);

// Layers that run quantized unless told otherwise: convolutions that are not transposed.
bool IsQuantizableLayer(const ir::Node& n);

}  // namespace q46
