// The core clock, measured: a chain of dependent integer additions retires one per cycle, so timing a long
// chain gives cycles per second at the frequency the CPU actually runs at (turbo included). Used to turn
// latencies into MACs per cycle.
#pragma once

namespace q46::tools {

double MeasureClockGhz();

}  // namespace q46::tools
