// libFuzzer target: the CIFAR-10 binary reader (3073-byte records) on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/data/cifar10.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)q46::ParseCifar10(std::string(reinterpret_cast<const char*>(data), size), "fuzz.bin");
  return 0;
}
