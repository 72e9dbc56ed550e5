// Codegen: lowers the IR to a runtime plan. Decides where values travel as integer codes and where as floats:
// a value travels as codes when every reader wants the same codes (quantized convolutions, and max pool,
// reshape, zero padding and concatenation between them, which commute with quantization); a quantized convolution
// then requantizes straight into its reader's codes, and Quantize / Dequantize nodes are added only at the borders
// (a concatenation's float inputs are quantized one by one, then joined as codes).
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "compiler/ir.h"
#include "plan.pb.h"

namespace q46 {

struct LowerOptions {
  bool all_float = false;                  // ignore quantization: the float network (calibration runs on it)
  std::vector<ir::ValueId> extra_outputs;  // also expose these values as float outputs, after the graph's
  std::string producer = "q46c";
  // Quantized layers as float convolutions on fake-quantized inputs (quantize then dequantize) with dequantized
  // weight codes and biases: the quantized network at float-kernel speed, equal to the integer model up to float
  // rounding. For calibration runs only; the plans q46c writes never use it.
  bool fake_quant = false;
};

absl::StatusOr<plan::Plan> LowerToPlan(const ir::Graph& g, const LowerOptions& options);

}  // namespace q46
