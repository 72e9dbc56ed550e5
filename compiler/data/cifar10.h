// Reader for the standard CIFAR-10 binary format (as in cifar-10-binary.tar.gz): each record is one label
// byte (0-9) followed by 3072 bytes: the 32x32 R plane, then G, then B, row-major.
// Must not touch compiler/tensor.h; knows nothing about models or the rest of the compiler.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "compiler/data/common.h"

namespace q46 {

inline constexpr int64_t kCifar10ImageBytes = 3 * 32 * 32;
inline constexpr int64_t kCifar10RecordBytes = 1 + kCifar10ImageBytes;

// Parses CIFAR-10 records held in memory into images [N,3,32,32] with values byte/255 in [0,1] and labels.
// Reads at most max_records records (-1 = all); `name` prefixes error messages.
absl::StatusOr<LabeledImages> ParseCifar10(const std::string& bytes, const std::string& name,
                                           int64_t max_records = -1);

// Which batch a CIFAR-10 directory stands for: its test batch (evaluation, inputs) or its first training batch
// (calibration: calibrating on the images an evaluation then scores would flatter the plan).
enum class CifarSplit { kTest, kTraining };
inline const char* CifarBatchFile(CifarSplit split) {
  return split == CifarSplit::kTest ? "test_batch.bin" : "data_batch_1.bin";
}

// The file ReadCifar10 reads for `path`: `path` itself if it is a file; for a directory DIR, the first existing
// of DIR/B and DIR/cifar-10-batches-bin/B, B = CifarBatchFile(split).
absl::StatusOr<std::string> ResolveCifar10Path(const std::string& path, CifarSplit split = CifarSplit::kTest);

// Reads a CIFAR-10 batch file, or a directory's batch of `split` (see ResolveCifar10Path).
absl::StatusOr<LabeledImages> ReadCifar10(const std::string& path, int64_t max_records = -1,
                                          CifarSplit split = CifarSplit::kTest);

}  // namespace q46
