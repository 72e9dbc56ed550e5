// Load options from names and the environment (see load_options.h).
#include "runtime/load_options.h"

#include <cstdlib>

namespace q46::rt {

using kernels::qconv::Isa;

Status ResolveIsa(const std::string& name, Isa* isa) {
  if (!kernels::qconv::ParseIsa(name, isa))
    return Status::Error("unknown ISA '" + name + "' (expected ref, avx2, avx512, vnni or neon)");
  const Isa cpu = kernels::qconv::DetectIsa();
  if (!kernels::qconv::IsaWithin(*isa, cpu))
    return Status::Error("ISA '" + name + "' is not available on this CPU (it supports up to " +
                         kernels::qconv::IsaName(cpu) + ")");
  return Status();
}

Status LoadOptionsFromEnvironment(LoadOptions* options) {
  *options = LoadOptions();
  const char* isa = std::getenv("Q46_ISA");
  if (isa && *isa) {
    Status st = ResolveIsa(isa, &options->max_isa);
    if (!st.ok()) return Status::Error("Q46_ISA: " + st.message());
  }
  return Status();
}

}  // namespace q46::rt
