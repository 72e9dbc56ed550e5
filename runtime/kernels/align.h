// The first address at or after a pointer that is a multiple of an alignment (a cache line, for buffers whose
// rows or planes should start on one). Nothing else belongs here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace q46::kernels {

constexpr size_t kCacheLine = 64;

template <class T>
T* AlignUp(T* p, size_t alignment = kCacheLine) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(p) + (alignment - at % alignment) % alignment);
}

}  // namespace q46::kernels
