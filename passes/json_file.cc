// ReadJsonFile (see json_file.h).
#include "passes/json_file.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/file_io.h"

namespace q46 {
namespace {

// The deepest nesting of arrays and objects in `text`, counting brackets outside strings (escapes skipped).
int NestingDepth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

absl::StatusOr<llvm::json::Value> ReadJsonFile(const std::string& path) {
  std::string bytes;
  if (rt::Status st = rt::ReadFileBytes(path, &bytes); !st.ok()) return absl::InvalidArgumentError(st.message());
  if (NestingDepth(bytes) > kMaxJsonDepth)
    return absl::InvalidArgumentError(absl::StrCat(path, ": JSON nested deeper than ", kMaxJsonDepth, " levels"));
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(bytes);
  if (!json) return absl::InvalidArgumentError(absl::StrCat(path, ": ", llvm::toString(json.takeError())));
  return std::move(*json);
}

}  // namespace q46
