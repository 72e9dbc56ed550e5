// Sets how many threads oneDNN's OpenMP regions use while in scope, restoring the caller's setting after (an
// OpenMP ICV of the calling thread, so other threads and the host application are not affected). oneDNN sizes
// its work split when a primitive is created, so a primitive is created and executed under the same count: one
// for those the model shares between contexts (parallelism then comes from running several contexts at once),
// the context's own count for the float layers a multi-threaded context builds for itself.
#pragma once

#include <omp.h>

namespace q46::rt {

class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~ThreadCountScope() { omp_set_num_threads(saved_); }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int saved_;
};

}  // namespace q46::rt
