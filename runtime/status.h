// The runtime's error type: ok, or a one-line message. The runtime uses no exceptions on user input and
// depends on no status library, so products embedding it pull in as little as possible.
#pragma once

#include <string>
#include <utility>

namespace q46::rt {

class Status {
 public:
  Status() = default;
  static Status Error(std::string message) {
    Status s;
    s.message_ = message.empty() ? "unknown error" : std::move(message);
    return s;
  }
  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

#define Q46_RETURN_IF_ERROR(expr)        \
  do {                                   \
    ::q46::rt::Status _st = (expr);      \
    if (!_st.ok()) return _st;           \
  } while (0)

}  // namespace q46::rt
