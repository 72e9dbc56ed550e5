// Shared helpers for the sample-data readers (see common.h). Must not touch anything outside compiler/data/.
#include "compiler/data/common.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "runtime/file_io.h"

namespace q46::data {
namespace fs = std::filesystem;

absl::Status ErrnoError(absl::string_view path, absl::string_view what, int err) {
  return absl::ErrnoToStatus(err, absl::StrCat(path, ": ", what, ": ", std::strerror(err)));
}

absl::Status FileError(absl::string_view name, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrReplaceAll(absl::StrCat(name, ": ", what), {{"\n", " "}, {"\r", " "}}));
}

// The runtime's file helpers, with absl statuses (NotFound when the path does not exist).
absl::StatusOr<std::string> ReadFileBytes(const std::string& path, uint64_t max_bytes) {
  std::string bytes;
  if (rt::Status st = rt::ReadFileBytes(path, &bytes, max_bytes); !st.ok()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
    return absl::InvalidArgumentError(st.message());
  }
  return bytes;
}

absl::Status WriteFileAtomic(const std::string& path, const std::string& bytes) {
  rt::Status st = rt::WriteFileAtomically(path, bytes);
  return st.ok() ? absl::OkStatus() : absl::InvalidArgumentError(st.message());
}

absl::StatusOr<std::vector<DirEntry>> ListDirSorted(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return ErrnoError(dir, "cannot list directory", ec.value());
  std::vector<DirEntry> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    entries.push_back({name, it->is_directory(type_ec)});
  }
  if (ec) return ErrnoError(dir, "cannot list directory", ec.value());
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

std::string DimsString(const std::vector<int64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

std::string LowerExtension(const std::string& path) {
  return absl::AsciiStrToLower(fs::path(path).extension().string());
}

}  // namespace q46::data
