// Shared helpers for the sample-data readers in compiler/data/: the LabeledImages result type, one-line
// file errors, whole-file reading with a size cap, atomic file writing and sorted directory listing.
// Only used by compiler/data/; must not touch compiler/tensor.h or anything outside this directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "compiler/tensor.h"
#include "runtime/file_io.h"

namespace q46 {

// A batch of images (NCHW floats) with one label per image; -1 means "no label".
struct LabeledImages {
  FloatTensor images;
  std::vector<int> labels;
};

namespace data {

// InvalidArgument("<name>: <what>") with any line breaks in `what` replaced, so messages stay one line.
absl::Status FileError(absl::string_view name, absl::string_view what);

// The whole content of a regular file or a pipe (rt::ReadFileBytes), up to max_bytes.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path, uint64_t max_bytes = rt::kMaxFileBytes);

// Writes to a temporary file in the same directory, then renames it over `path`; the temporary file is
// removed on any error.
absl::Status WriteFileAtomic(const std::string& path, const std::string& bytes);

struct DirEntry {
  std::string name;  // file name only
  bool is_dir = false;
};
// Entries of `dir` sorted by name (byte order), skipping hidden entries (names starting with '.').
absl::StatusOr<std::vector<DirEntry>> ListDirSorted(const std::string& dir);

// "[1, 3, 32, 32]".
std::string DimsString(const std::vector<int64_t>& dims);

// Extension including the dot, lower-cased: "photo.JPG" -> ".jpg"; "" if none.
std::string LowerExtension(const std::string& path);

}  // namespace data
}  // namespace q46
