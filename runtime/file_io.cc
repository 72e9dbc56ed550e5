// File reading and atomic writing (see file_io.h).
#include "runtime/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace q46::rt {
namespace {

Status ErrnoError(const std::string& path, const char* what, int err) {
  return Status::Error(path + ": " + what + ": " + std::strerror(err));
}

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError(path, "cannot write", n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ErrnoError(path, "cannot write", errno);
  return Status();
}

}  // namespace

Status ReadFileBytes(const std::string& path, std::string* bytes, uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(path, "cannot open", errno);
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(path, "cannot stat", errno);
  const bool pipe = S_ISFIFO(st.st_mode);  // `q46c <(...)`, `cat m.onnx | q46c /dev/stdin`: read to its end
  if (!S_ISREG(st.st_mode) && !pipe) return Status::Error(path + ": not a regular file or a pipe");
  const auto too_big = [&](uint64_t size) {
    return Status::Error(path + ": file is " + (pipe ? "over " : "") + std::to_string(size) +
                         " bytes, more than the limit of " + std::to_string(max_bytes));
  };
  const auto size = static_cast<uint64_t>(st.st_size);
  if (!pipe && size > max_bytes) return too_big(size);
  // A pipe's buffer grows up to one byte past the limit: reading that byte means the pipe is over it.
  const uint64_t pipe_cap = max_bytes < UINT64_MAX ? max_bytes + 1 : max_bytes;
  bytes->assign(pipe ? std::min<uint64_t>(pipe_cap, uint64_t{1} << 20) : size, '\0');
  size_t done = 0;
  while (pipe || done < size) {
    if (pipe && done == bytes->size()) {
      if (done > max_bytes) return too_big(max_bytes);
      bytes->resize(std::min<uint64_t>(pipe_cap, 2 * uint64_t{done}));
    }
    const ssize_t n = ::read(fd, bytes->data() + done, bytes->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(path, "cannot read", errno);
    if (n == 0 && pipe) break;
    if (n == 0) return Status::Error(path + ": file shrank while being read");
    done += static_cast<size_t>(n);
  }
  bytes->resize(done);
  return Status();
}

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  return WriteFilesAtomically({{path, &bytes}});
}

Status WriteFilesAtomically(const std::vector<FileContents>& files) {
  std::vector<std::string> temporaries;
  const auto remove_temporaries = [&](size_t from) {
    for (size_t i = from; i < temporaries.size(); ++i) ::unlink(temporaries[i].c_str());
  };
  for (const FileContents& f : files) {
    std::string tmp = f.path + ".tmp.XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) {
      const int err = errno;
      remove_temporaries(0);
      return ErrnoError(f.path, "cannot write", err);
    }
    temporaries.push_back(tmp);
    Status status;
    if (::fchmod(fd, 0644) != 0) status = ErrnoError(f.path, "cannot write", errno);
    if (status.ok()) status = WriteAll(fd, *f.bytes, f.path);
    if (::close(fd) != 0 && status.ok()) status = ErrnoError(f.path, "cannot write", errno);
    if (!status.ok()) {
      remove_temporaries(0);
      return status;
    }
  }
  for (size_t i = 0; i < files.size(); ++i)
    if (::rename(temporaries[i].c_str(), files[i].path.c_str()) != 0) {
      const int err = errno;
      remove_temporaries(i);
      return ErrnoError(files[i].path, "cannot write", err);
    }
  return Status();
}

}  // namespace q46::rt
