// A dense float tensor owned by the compiler side (sample data, constants, simulation values).
// Row-major; images and activations are NCHW. Must not depend on anything beyond the standard library.
#pragma once

#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

namespace q46 {

struct FloatTensor {
  std::vector<int64_t> dims;
  std::vector<float> data;

  static int64_t NumElements(const std::vector<int64_t>& dims) {
    return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<int64_t>());
  }
  int64_t size() const { return NumElements(dims); }
};

}  // namespace q46
