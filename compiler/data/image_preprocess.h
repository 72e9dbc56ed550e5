// torchvision-style preprocessing of decoded 8-bit RGB images into float tensors for the image readers in
// compiler/data/: Resize(shorter side, bilinear as PIL), CenterCrop, ToTensor ([0,1]), Normalize.
// Must not touch anything outside compiler/data/ (compiler/tensor.h is only used).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compiler/data/image_codec.h"
#include "compiler/tensor.h"

namespace q46 {

// Applied in torchvision order: resize, center crop, to-tensor, normalize.
struct ImagePreprocess {
  int resize = 0;           // resize the shorter side to this many pixels (bilinear, as PIL); 0 = none
  int crop = 0;             // center crop to crop x crop (zero padding if the image is smaller); 0 = none
  std::vector<float> mean;  // empty = no normalization; else 1 or 3 values: (x - mean[c]) / std[c]
  std::vector<float> std;   // empty exactly when mean is empty; 1 or 3 non-zero values
};

// Largest accepted resize / crop value.
inline constexpr int kMaxPreprocessSide = 1 << 15;

// OK if the options are usable; otherwise an error saying which option is wrong.
absl::Status ValidatePreprocess(const ImagePreprocess& preprocess);

// Resize + crop + to-tensor + normalize of one image, giving [1,3,H,W]. `name` prefixes error messages. A
// resize to more than max_pixels pixels (an extreme aspect ratio) is refused.
absl::StatusOr<FloatTensor> PreprocessImage(data::Rgb8Image image, const ImagePreprocess& preprocess,
                                            const std::string& name, int64_t max_pixels = data::kMaxImagePixels);

// (x - mean[c]) / std[c] over dim 1 (channels) of an [N,C,...] tensor; mean/std have 1 or C values.
absl::Status NormalizeChannels(FloatTensor* tensor, const std::vector<float>& mean,
                               const std::vector<float>& std);

}  // namespace q46
