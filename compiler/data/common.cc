// Shared helpers for the sample-data readers (see common.h). Must not touch anything outside compiler/data/.
#include "compiler/data/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace q46::data {
namespace fs = std::filesystem;

namespace {

absl::Status ErrnoError(absl::string_view path, absl::string_view what, int err) {
  return absl::ErrnoToStatus(err, absl::StrCat(path, ": ", what, ": ", std::strerror(err)));
}

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

absl::Status WriteAll(int fd, const std::string& bytes, const std::string& tmp) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError(tmp, "write failed", n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ErrnoError(tmp, "fsync failed", errno);
  return absl::OkStatus();
}

}  // namespace

absl::Status FileError(absl::string_view name, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrReplaceAll(absl::StrCat(name, ": ", what), {{"\n", " "}, {"\r", " "}}));
}

absl::StatusOr<std::string> ReadFileBytes(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(path, "cannot open", errno);
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return FileError(path, "not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    return FileError(path, absl::StrCat("file is ", size, " bytes, more than the limit of ", max_bytes));
  }
  std::string bytes(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, bytes.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(path, "read failed", errno);
    if (n == 0) return FileError(path, "file shrank while being read");
    done += static_cast<size_t>(n);
  }
  return bytes;
}

absl::Status WriteFileAtomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return ErrnoError(path, "cannot create temporary file", errno);
  absl::Status status;
  {
    FdCloser closer(fd);
    if (::fchmod(fd, 0644) != 0) status = ErrnoError(tmp, "chmod failed", errno);
    if (status.ok()) status = WriteAll(fd, bytes, tmp);
  }
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(path, "cannot rename temporary file into place", errno);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
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

std::optional<int64_t> CheckedNumElements(const std::vector<int64_t>& dims) {
  int64_t product = 1;
  bool overflow = false;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d == 0) return 0;  // a zero dim makes any other dim harmless
    if (product > std::numeric_limits<int64_t>::max() / d) overflow = true;
    if (!overflow) product *= d;
  }
  if (overflow) return std::nullopt;
  return product;
}

std::string DimsString(const std::vector<int64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

std::string LowerExtension(const std::string& path) {
  return absl::AsciiStrToLower(fs::path(path).extension().string());
}

}  // namespace q46::data
