// CIFAR-10 binary reader (see cifar10.h). Must not touch anything outside compiler/data/.
#include "compiler/data/cifar10.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace q46 {

absl::StatusOr<LabeledImages> ParseCifar10(const std::string& bytes, const std::string& name,
                                           int64_t max_records) {
  if (max_records == 0 || max_records < -1) {
    return data::FileError(name, absl::StrCat("max_records must be -1 (all) or positive, got ", max_records));
  }
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size == 0) return data::FileError(name, "empty file, expected CIFAR-10 records");
  if (size % kCifar10RecordBytes != 0) {
    return data::FileError(
        name, absl::StrCat("size ", size, " bytes is not a multiple of the CIFAR-10 record size ",
                           kCifar10RecordBytes, " (remainder ", size % kCifar10RecordBytes, ")"));
  }
  int64_t n = size / kCifar10RecordBytes;
  if (max_records > 0) n = std::min(n, max_records);

  LabeledImages out;
  out.images.dims = {n, 3, 32, 32};
  out.images.data.resize(static_cast<size_t>(n * kCifar10ImageBytes));
  out.labels.resize(static_cast<size_t>(n));
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* record = raw + i * kCifar10RecordBytes;
    if (record[0] > 9) {
      return data::FileError(
          name, absl::StrCat("record ", i, " has label ", static_cast<int>(record[0]), ", expected 0-9"));
    }
    out.labels[i] = record[0];
    float* dst = out.images.data.data() + i * kCifar10ImageBytes;
    for (int64_t j = 0; j < kCifar10ImageBytes; ++j) dst[j] = static_cast<float>(record[1 + j]) / 255.0f;
  }
  return out;
}

absl::StatusOr<std::string> ResolveCifar10Path(const std::string& path, CifarSplit split) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  const std::string batch = CifarBatchFile(split);
  for (const std::string& candidate : {batch, "cifar-10-batches-bin/" + batch}) {
    fs::path file = fs::path(path) / candidate;
    if (fs::is_regular_file(file, ec)) return file.string();
  }
  return absl::NotFoundError(
      absl::StrCat(path, ": directory has neither ", batch, " nor cifar-10-batches-bin/", batch));
}

absl::StatusOr<LabeledImages> ReadCifar10(const std::string& path, int64_t max_records, CifarSplit split) {
  absl::StatusOr<std::string> file = ResolveCifar10Path(path, split);
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> bytes = data::ReadFileBytes(*file);
  if (!bytes.ok()) return bytes.status();
  return ParseCifar10(*bytes, *file, max_records);
}

}  // namespace q46
