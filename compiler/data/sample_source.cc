// Sample loading from CIFAR-10, image folders, .npy and image files (see sample_source.h).
// Must not touch anything outside compiler/data/.
#include "compiler/data/sample_source.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "compiler/data/cifar10.h"
#include "compiler/data/image_folder.h"
#include "compiler/data/npy.h"

namespace q46 {
namespace {

namespace fs = std::filesystem;

// Uniform integer in [0, n) without modulo bias, defined by the mt19937_64 output alone.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  const uint64_t reject_below = (0 - n) % n;  // 2^64 mod n: values below it would bias the result
  uint64_t x;
  do {
    x = rng();
  } while (x < reject_below);
  return x % n;
}

// The indices LoadSamples keeps out of `total`: all for count -1, else a seeded choice of `count`.
absl::StatusOr<std::vector<int64_t>> PickIndices(const std::string& path, int64_t total,
                                                 const SampleOptions& options) {
  if (options.count > total) {
    return data::FileError(path,
                           absl::StrCat("asked for ", options.count, " samples but only ", total, " exist"));
  }
  return SelectSamples(total, options.count < 0 ? total : options.count, options.seed);
}

// The picked rows of an in-memory sample set, then normalization (CIFAR-10 and .npy inputs).
absl::StatusOr<LabeledImages> SelectAndNormalize(const std::string& path, LabeledImages all,
                                                 const SampleOptions& options) {
  const ImagePreprocess& p = options.preprocess;
  if (p.resize != 0 || p.crop != 0) {
    return data::FileError(path, "resize and crop apply only to image files and folders");
  }
  absl::Status valid = ValidatePreprocess(p);
  if (!valid.ok()) return valid;
  const int64_t total = all.images.dims[0];
  absl::StatusOr<std::vector<int64_t>> rows = PickIndices(path, total, options);
  if (!rows.ok()) return rows.status();
  LabeledImages out;
  if (static_cast<int64_t>(rows->size()) == total) {
    out = std::move(all);
  } else {
    out.images.dims = all.images.dims;
    out.images.dims[0] = static_cast<int64_t>(rows->size());
    for (int64_t row : *rows) {
      FloatTensor one = Batch(all.images, row, 1);
      out.images.data.insert(out.images.data.end(), one.data.begin(), one.data.end());
      out.labels.push_back(all.labels[row]);
    }
  }
  if (!p.mean.empty()) {
    absl::Status normalized = NormalizeChannels(&out.images, p.mean, p.std);
    if (!normalized.ok()) return data::FileError(path, normalized.message());
  }
  return out;
}

absl::StatusOr<LabeledImages> LoadNpySamples(const std::string& path, const SampleOptions& options) {
  absl::StatusOr<FloatTensor> tensor = ReadNpy(path);
  if (!tensor.ok()) return tensor.status();
  if (tensor->dims.size() == 3) tensor->dims.insert(tensor->dims.begin(), 1);
  if (tensor->dims.size() != 4) {
    return data::FileError(
        path, absl::StrCat("sample .npy must be [N,C,H,W] or [C,H,W], got ", data::DimsString(tensor->dims)));
  }
  LabeledImages all;
  all.labels.assign(static_cast<size_t>(tensor->dims[0]), -1);
  all.images = *std::move(tensor);
  return SelectAndNormalize(path, std::move(all), options);
}

absl::StatusOr<LabeledImages> LoadImageSamples(const std::string& path, ImageFileList list,
                                               const SampleOptions& options) {
  absl::StatusOr<std::vector<int64_t>> picked =
      PickIndices(path, static_cast<int64_t>(list.paths.size()), options);
  if (!picked.ok()) return picked.status();
  std::vector<std::string> paths;
  std::vector<int> labels;
  for (int64_t i : *picked) {
    paths.push_back(list.paths[i]);
    labels.push_back(list.labels[i]);
  }
  return ReadImageFiles(paths, labels, options.preprocess);
}

bool IsCifarDirectory(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / CifarBatchFile(CifarSplit::kTest), ec) ||
         fs::is_regular_file(fs::path(dir) / CifarBatchFile(CifarSplit::kTraining), ec) ||
         fs::is_directory(fs::path(dir) / "cifar-10-batches-bin", ec);
}

}  // namespace

absl::StatusOr<LabeledImages> LoadSamples(const std::string& path, const SampleOptions& options) {
  if (options.count == 0 || options.count < -1) {
    return data::FileError(path,
                           absl::StrCat("sample count must be -1 (all) or positive, got ", options.count));
  }
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
  const std::string ext = data::LowerExtension(path);
  if (fs::is_directory(status) ? IsCifarDirectory(path) : ext == ".bin") {
    absl::StatusOr<LabeledImages> all = ReadCifar10(path, -1, options.cifar_split);
    if (!all.ok()) return all.status();
    return SelectAndNormalize(path, *std::move(all), options);
  }
  if (fs::is_directory(status)) {
    absl::StatusOr<ImageFileList> list = ListImageFolder(path);
    if (!list.ok()) return list.status();
    return LoadImageSamples(path, *std::move(list), options);
  }
  if (ext == ".npy") return LoadNpySamples(path, options);
  if (HasImageExtension(path)) return LoadImageSamples(path, ImageFileList{{}, {path}, {-1}}, options);
  return data::FileError(path,
                         "unrecognized sample file (expected .bin, .npy, .jpg, .jpeg, .png or a folder)");
}

std::vector<int64_t> SelectSamples(int64_t total, int64_t count, uint64_t seed) {
  total = std::max<int64_t>(total, 0);
  count = std::clamp<int64_t>(count, 0, total);
  std::vector<int64_t> indices(static_cast<size_t>(total));
  std::iota(indices.begin(), indices.end(), 0);
  if (count < total) {
    std::mt19937_64 rng(seed);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t j = i + static_cast<int64_t>(UniformBelow(rng, static_cast<uint64_t>(total - i)));
      std::swap(indices[i], indices[j]);
    }
    indices.resize(static_cast<size_t>(count));
    std::sort(indices.begin(), indices.end());
  }
  return indices;
}

FloatTensor Batch(const FloatTensor& tensor, int64_t begin, int64_t n) {
  FloatTensor out;
  out.dims = tensor.dims.empty() ? std::vector<int64_t>{0} : tensor.dims;
  if (tensor.dims.empty() || tensor.dims[0] <= 0) {
    out.dims[0] = 0;
    return out;
  }
  const int64_t rows = tensor.dims[0];
  const int64_t row_size = static_cast<int64_t>(tensor.data.size()) / rows;
  begin = std::clamp<int64_t>(begin, 0, rows);
  n = n < 0 ? rows - begin : std::min(n, rows - begin);
  out.dims[0] = n;
  out.data.assign(tensor.data.begin() + begin * row_size, tensor.data.begin() + (begin + n) * row_size);
  return out;
}

}  // namespace q46
