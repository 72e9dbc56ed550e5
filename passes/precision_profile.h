// What --precision auto decides from: per quantizable layer and candidate precision, the damage the layer does
// alone (sensitivity) and what it costs (latency on the target ISA, bytes in the plan). Measured, never guessed:
//   damage: the graph with only that layer quantized (its codes from the whole graph calibrated at that
//     precision as the compile does it: ranges, then --calib-method and bias correction; run fake-quantized), its
//     outputs against the float graph's on the first --sensitivity-samples calibration samples, as relative
//     squared error sum (y_q - y)^2 / sum y^2. Adding the layers' damages estimates a map's. (Nearest-rounded
//     codes instead overrate wide weights: the fit recovers much of the weight error, none of the activations'.)
//   cost: the runtime's own kernels, one plan per kernel class (float; the maximal 4.6-bit pairs, which share one
//     kernel; 4-bit; 8-bit) with every layer in that class, timed together, interleaved, one thread on `isa`; a
//     layer's seconds are its convolution's plus the quantization of its input when that is a separate op. The
//     rest of the network (pooling, adds, softmax) is `other_seconds`. Bytes: the layer's node in the plan.
//   borders: where a quantized layer reads another's output codes directly (a chain, possibly through max pools
//     or pads), making one of the two float costs a conversion: the quantized one after a float one quantizes
//     its input separately (enter), the one before a float one writes floats (leave), and the ops between them
//     run on floats. Timed in plans alternating quantized and float layers along the chains, in the same run.
//     (Where both ends are float, those ops are still charged at their time on codes, in other_seconds.)
// Both tables are cached as JSON in CompileOptions::precision_cache, keyed by SHA-256 of the float network and
// what the measurement depends on (the calibration samples for damage, the ISA for cost), so a rerun is instant.
// Changes nothing in the graph it is given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compiler/ir.h"
#include "passes/pass.h"

namespace q46 {

using Candidate = std::optional<arith::Precision>;  // nullopt: float

// Kernel classes: precisions that run on the same kernels cost the same.
enum KernelClass { kFloatClass, kPairClass, kFourBitClass, kEightBitClass, kKernelClasses };
KernelClass ClassOf(const Candidate& c);
const char* ClassName(KernelClass k);
std::string CandidateLabel(const Candidate& c);  // "23x23", "float"

struct PrecisionProfile {
  std::vector<std::string> layers;                       // quantizable layers, graph order
  std::vector<Candidate> candidates;                     // float, the maximal pairs, 4-bit, 8-bit
  std::vector<std::vector<double>> damage;               // [layer][candidate]
  std::vector<std::vector<double>> seconds, bytes;       // [layer][kernel class], chain neighbours alike
  std::vector<std::vector<double>> enter_seconds, leave_seconds;  // [layer][kernel class]: borders (float: 0)
  std::vector<int> chain_source;                         // [layer]: the layer it is chained to, or -1
  double other_seconds = 0, other_bytes = 0;             // the rest of the plan
  bool damage_cached = false, cost_cached = false;       // read from the cache rather than measured
  double Seconds(size_t layer, const Candidate& c) const { return seconds[layer][ClassOf(c)]; }
  double Bytes(size_t layer, const Candidate& c) const { return bytes[layer][ClassOf(c)]; }
  // The estimated latency (or, `by_size`, plan bytes) of a whole map, one candidate per layer: the layers, the
  // rest of the plan and, for latency, the borders of every chain whose codes cannot be shared (a source's
  // output stays codes only when it and every layer chained to it are quantized, those with one N_x).
  double MapCost(const std::vector<Candidate>& map, bool by_size) const;
};

absl::StatusOr<PrecisionProfile> ProfilePrecision(const ir::Graph& g, const CompileOptions& o);

}  // namespace q46
