// How alike the cores of a 2-thread run are: the first two threads of the OpenMP pool the runtime uses run the
// same vector additions at once, and the slower one's rate over the faster one's is reported. 1 where the cores
// are alike; on this project's virtual machines one core ran 10-16% slower than the other for minutes at a time
// (busy with another guest, most likely), and every layer whose work is split evenly waits for it, so benchmarks
// report it beside 2-thread latencies. Two vCPUs that are one physical core's two hardware threads slow each
// other alike, which this does not show. Measures only.
#pragma once

namespace q46::tools {

// The slower thread's additions per second over the faster one's, both summed over 5 trials of a few
// milliseconds; 0 when OpenMP gives fewer than two threads.
double MeasureCoreSpeedRatio();

}  // namespace q46::tools
