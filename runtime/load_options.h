// Options fixed when a plan is loaded (they shape how ops are built and weights packed), and how the
// environment sets them: Q46_ISA=ref|avx2|avx512|vnni caps the instruction set of the integer kernels, so a
// CPU without VNNI (or without AVX-512) can be measured on one that has it.
#pragma once

#include <string>

#include "runtime/kernels/qconv/qconv.h"
#include "runtime/status.h"

namespace q46::rt {

struct LoadOptions {
  kernels::qconv::Isa max_isa = kernels::qconv::DetectIsa();
  // Fuse residual Adds and Quantizes into the quantized convolutions before them (fuse_into_convolutions.h). Off,
  // the model's ops are the plan's nodes one for one (what per-node timings of a plan as written need).
  bool fuse_into_convolutions = true;
};

// Parses an ISA name for this CPU: an unknown name, or a level the CPU lacks, is an error.
Status ResolveIsa(const std::string& name, kernels::qconv::Isa* isa);
// The defaults with Q46_ISA applied.
Status LoadOptionsFromEnvironment(LoadOptions* options);

}  // namespace q46::rt
