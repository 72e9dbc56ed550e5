// ONNX -> IR. Accepts what PyTorch / torchvision export (opsets 6-17; models below 13 are upgraded with ONNX's
// version converter), checked with ONNX's checker and shape inference. Anything unsupported is an error naming
// the node, its op type and the opset.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "compiler/ir.h"

namespace q46 {

struct ImportOptions {
  std::optional<int64_t> batch;  // fixes a symbolic first input dimension
};

absl::StatusOr<ir::Graph> ImportOnnxFile(const std::string& path, const ImportOptions& options = {});
absl::StatusOr<ir::Graph> ImportOnnxBytes(const std::string& bytes, const std::string& name,
                                          const ImportOptions& options = {});

// The op types the importer accepts, sorted (for --help and the conformance tests).
std::vector<std::string> SupportedOnnxOps();

}  // namespace q46
