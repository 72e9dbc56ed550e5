// How far apart the cores of a 2-thread run are: the round trip of a cache line between the first two threads of
// the OpenMP pool the runtime uses. Under ~100 ns where the two cores share a cache, over ~250 where they do not
// (this project's virtual machines switch between the two from minute to minute), and 2-thread latencies
// differ by tens of percent between the two cases, so benchmarks report it beside them. Measures only.
#pragma once

namespace q46::tools {

// Median nanoseconds of a store seen by the other thread and answered, over a few thousand exchanges in each of
// 7 trials; 0 when OpenMP gives fewer than two threads (OMP_THREAD_LIMIT=1, say).
double MeasureCoreRoundTripNs();

}  // namespace q46::tools
