// libFuzzer target: image decoding (JPEG, PNG) and preprocessing on arbitrary bytes; the first byte picks the
// preprocessing (none, or resize + center crop + normalization), the rest is the encoded image. Images, decoded
// and resized, are capped at 2^20 pixels (the tools take up to 2^26): a 200-byte header can declare a legitimate
// 20-megapixel image (or a 7x61444 one whose resize to a shorter side of 59 has 30 megapixels) that takes
// seconds under the sanitizers, and the fuzzer's time is better spent on the decoders' logic.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/data/image_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  q46::ImagePreprocess p;
  if (data[0] & 1) {
    p.resize = 8 + data[0] % 64;
    p.crop = 4 + data[0] % 48;
    p.mean = {0.5f, 0.4f, 0.3f};
    p.std = {0.2f, 0.2f, 0.2f};
  }
  (void)q46::DecodeImage(std::string(reinterpret_cast<const char*>(data) + 1, size - 1), "fuzz.img", p, 1 << 20);
  return 0;
}
