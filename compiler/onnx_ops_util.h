// Helpers shared by the ONNX op handlers (onnx_ops_*.cc) and the table that registers them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/onnx_import_context.h"
#include "runtime/shape.h"

namespace q46 {

using OpTable = std::map<std::string, OpHandler>;
void RegisterConvOps(OpTable& t);
void RegisterPoolOps(OpTable& t);
void RegisterElementwiseOps(OpTable& t);
void RegisterShapeOps(OpTable& t);

// Integers from the node's constant input `input` when it has one, else from the attribute `attr` (opset 13 moved
// several attributes to inputs). Each must lie in [lo, hi], checked before it is converted (a float input may hold
// anything).
absl::Status ReadInts(const ImportContext& ctx, int input, const char* attr, int64_t lo, int64_t hi,
                      std::vector<int64_t>* out);

// Applies ONNX auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER) to a window over an h x w input.
absl::Status ResolveAutoPad(const ImportContext& ctx, const std::string& auto_pad, int64_t h, int64_t w,
                            ir::Window2d* win);

}  // namespace q46
