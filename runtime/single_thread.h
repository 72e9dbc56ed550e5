// Runs oneDNN's OpenMP regions on one thread while in scope, restoring the caller's setting after (an OpenMP
// ICV of the calling thread, so other threads and the host application are not affected). oneDNN sizes its
// work split when a primitive is created, so both creation (Model) and execution (Context) use it: until the
// runtime has its own thread pool, parallelism comes from running several contexts at once.
#pragma once

#include <omp.h>

namespace q46::rt {

class SingleThreadScope {
 public:
  SingleThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadScope() { omp_set_num_threads(saved_); }
  SingleThreadScope(const SingleThreadScope&) = delete;
  SingleThreadScope& operator=(const SingleThreadScope&) = delete;

 private:
  int saved_;
};

}  // namespace q46::rt
