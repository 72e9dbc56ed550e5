// Reading the JSON files q46c takes (precision maps) and keeps (the precision cache): regular files only, size
// limited, and nested no deeper than kMaxJsonDepth, since llvm::json::parse recurses once per level (50,000 levels
// overflowed the stack). Parsing only; what a file must contain is its reader's business.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "llvm/Support/JSON.h"

namespace q46 {

inline constexpr int kMaxJsonDepth = 256;

// The parsed file, or an error naming the path: unreadable, not a regular file, too deep, or not JSON.
absl::StatusOr<llvm::json::Value> ReadJsonFile(const std::string& path);

}  // namespace q46
