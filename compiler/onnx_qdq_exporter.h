// Export of a compiled IR graph as a standard ONNX QDQ model (opset 13): every quantized layer reads its input
// through QuantizeLinear / DequantizeLinear at exactly q46's scale and zero point (with a Clip first where the
// code range is narrower than uint8), and its weights and bias as int8 / int32 initializers through
// DequantizeLinear, carrying q46's integer codes and scales unchanged. Float layers stay float. The model is
// what ONNX Runtime and other QDQ consumers run as "the same quantized network"; it equals q46's integer runtime
// up to float rounding inside the convolutions. Reads the IR only; writes nothing but the model it returns.
#pragma once

#include "absl/status/statusor.h"
#include "compiler/ir.h"
#include "onnx/onnx_pb.h"

namespace q46 {

absl::StatusOr<onnx::ModelProto> ExportOnnxQdq(const ir::Graph& g, const std::string& producer);

}  // namespace q46
