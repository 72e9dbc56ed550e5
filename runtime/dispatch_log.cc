// Implementation-choice logging, enabled by Q46_VERBOSE containing "dispatch".
#include "runtime/dispatch_log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace q46::rt {

void LogDispatch(const std::string& node, const char* op, const char* impl, const std::string& note) {
  static const bool enabled = [] {
    const char* v = std::getenv("Q46_VERBOSE");
    return v && std::strstr(v, "dispatch");
  }();
  if (!enabled) return;
  std::fprintf(stderr, "q46: dispatch: %s '%s' -> %s%s%s\n", op, node.c_str(), impl, note.empty() ? "" : "; ",
               note.c_str());
}

}  // namespace q46::rt
