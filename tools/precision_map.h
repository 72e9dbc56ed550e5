// The --precision-map file format, read and written: a JSON object from ONNX node name to [N_x, N_w] or "float".
// q46c reads it (--precision-map) and writes the compiled assignment in it (--emit-precision-map), so a chosen
// map can be edited and fed back. Knows nothing of the passes beyond CompileOptions.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "compiler/ir.h"
#include "passes/pass.h"

namespace q46::tools {

// Adds the file's entries to o->precision_map; every pair must pass arith::CheckPrecision.
absl::Status ReadPrecisionMap(const std::string& path, CompileOptions* o);

// Every quantizable layer of g, in graph order, with its assigned pair or "float".
std::string PrecisionMapJson(const ir::Graph& g);

}  // namespace q46::tools
