// Whole-file reading with a size limit, and atomic file writing (temporary file beside the target, fsync,
// rename; nothing is left behind on failure). Used by the plan loader and by every tool that writes output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace q46::rt {

inline constexpr uint64_t kMaxFileBytes = uint64_t{4} << 30;

// Reads a regular file (refused when over max_bytes, before allocating) or a pipe to its end (refused once past
// max_bytes; like any reader, it waits for a named pipe's writer). Anything else (folders, devices, sockets) is
// refused.
Status ReadFileBytes(const std::string& path, std::string* bytes, uint64_t max_bytes = kMaxFileBytes);

// Writes bytes to path atomically.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

// A tool's outputs, all or none: each is written in full to a temporary file beside its target first, and only
// when every one is written are they renamed into place, in order. A failure before that leaves no file changed;
// only a rename failing (after every file was written) can leave the outputs before it replaced.
struct FileContents {
  std::string path;
  const std::string* bytes;
};
Status WriteFilesAtomically(const std::vector<FileContents>& files);

}  // namespace q46::rt
