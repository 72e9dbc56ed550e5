// Decoding of JPEG (libjpeg-turbo) and PNG (libpng) bytes into 8-bit interleaved RGB, for the image readers
// in compiler/data/. Corrupt or hostile input yields a Status, never a crash or exit (custom libjpeg error
// manager and libpng error function, both with longjmp). Must not touch anything outside compiler/data/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace q46::data {

// Images with more pixels than this are refused before any pixel memory is allocated.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// 8-bit RGB pixels, row-major, interleaved: pixels[(y * width + x) * 3 + c].
struct Rgb8Image {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;
};

// Decodes a JPEG or PNG (recognized by its signature, not by name) to RGB. Grayscale becomes R=G=B,
// palettes are expanded, alpha is dropped (as PIL's convert("RGB")), 16-bit samples keep their high byte.
// `name` prefixes error messages. An image of more than max_pixels pixels is refused before it is decoded.
absl::StatusOr<Rgb8Image> DecodeRgb8(const std::string& bytes, const std::string& name,
                                     int64_t max_pixels = kMaxImagePixels);

}  // namespace q46::data
