// Q46_VERBOSE=dispatch: one line on stderr per node saying which implementation runs it and why others declined.
#pragma once

#include <string>

namespace q46::rt {

void LogDispatch(const std::string& node, const char* op, const char* impl, const std::string& note);

}  // namespace q46::rt
