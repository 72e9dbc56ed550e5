// libFuzzer target: the .npy reader (header dictionary, dtype, shape, data) on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)q46::ParseNpy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  return 0;
}
