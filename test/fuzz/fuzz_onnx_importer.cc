// libFuzzer target: the ONNX importer (protobuf parse, opset conversion, checker, shape inference, op handlers)
// on arbitrary bytes. It must return a status for anything, never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/onnx_importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  q46::ImportOptions options;
  options.batch = 1;
  (void)q46::ImportOnnxBytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx", options);
  return 0;
}
