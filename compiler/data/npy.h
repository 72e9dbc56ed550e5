// NumPy .npy reader/writer for sample data and tensors exchanged with tools. Reads format versions 1-3
// with dtypes <f4 <f8 |u1 <i4 <i8 (C order only) into float; writes float32 version 1.0 files atomically.
// Must not touch compiler/tensor.h; knows nothing about models or the rest of the compiler.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compiler/tensor.h"

namespace q46 {

// Parses the bytes of an .npy file held in memory; `name` prefixes error messages.
absl::StatusOr<FloatTensor> ParseNpy(const std::string& bytes, const std::string& name);

// Reads an .npy file (see ParseNpy).
absl::StatusOr<FloatTensor> ReadNpy(const std::string& path);

// The bytes of a float32 (<f4), C-order, version 1.0 .npy file holding `tensor`.
absl::StatusOr<std::string> SerializeNpy(const FloatTensor& tensor);

// Writes SerializeNpy(tensor) to `path` via a temporary file in the same directory and a rename.
absl::Status WriteNpy(const std::string& path, const FloatTensor& tensor);

}  // namespace q46
