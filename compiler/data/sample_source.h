// One entry point for sample data (calibration sets, tool inputs), whatever its form on disk:
//   *.bin                      a CIFAR-10 batch file
//   a directory with test_batch.bin, data_batch_1.bin or cifar-10-batches-bin/   CIFAR-10: its batch of
//                              SampleOptions::cifar_split (test_batch.bin unless asked for data_batch_1.bin)
//   any other directory        an image folder (class subfolders, or a flat folder with labels -1)
//   *.npy                      [N,C,H,W] or [C,H,W] (N = 1) floats, labels -1
//   *.jpg, *.jpeg, *.png       a single image, label -1
// Must not touch anything outside compiler/data/ (compiler/tensor.h is only used).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compiler/data/cifar10.h"
#include "compiler/data/common.h"
#include "compiler/data/image_preprocess.h"
#include "compiler/tensor.h"

namespace q46 {

struct SampleOptions {
  int64_t count = -1;  // -1 = all; otherwise how many samples to pick (error if fewer exist)
  uint64_t seed = 0;   // picks which `count` samples when fewer than all are asked for
  CifarSplit cifar_split = CifarSplit::kTest;  // the batch a CIFAR-10 directory gives (cifar10.h)
  // Resize/crop apply to image files and folders only (an error for CIFAR-10 and .npy);
  // mean/std normalize every kind of input.
  ImagePreprocess preprocess;
};

// Loads the samples at `path` (see the top of this file). When count < the number available, `count`
// samples are chosen by SelectSamples(total, count, seed) and returned in their original order.
absl::StatusOr<LabeledImages> LoadSamples(const std::string& path, const SampleOptions& options);

// `count` distinct indices from [0, total), sorted ascending, chosen by a partial Fisher-Yates shuffle driven
// by std::mt19937_64(seed); the same on every platform and standard library. Requires 0 <= count <= total.
std::vector<int64_t> SelectSamples(int64_t total, int64_t count, uint64_t seed);

// Rows [begin, begin + n) of `tensor` along dim 0, clamped to the rows that exist; n < 0 means "to the end".
// A tensor without dims gives an empty [0] tensor.
FloatTensor Batch(const FloatTensor& tensor, int64_t begin, int64_t n);

}  // namespace q46
