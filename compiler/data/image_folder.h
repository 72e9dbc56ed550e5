// Readers for JPEG/PNG image files and folders of them, used for calibration samples and tool inputs.
// A folder is either a folder of class subfolders (classes = subfolder names sorted, label = class index),
// or a flat folder of images (labels -1). Files are visited in sorted order; names starting with '.' are
// ignored; any other file must be .jpg/.jpeg/.png (case-insensitive) or it is an error.
// Must not touch anything outside compiler/data/ (compiler/tensor.h is only used).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compiler/data/common.h"
#include "compiler/data/image_codec.h"
#include "compiler/data/image_preprocess.h"
#include "compiler/tensor.h"

namespace q46 {

// True for .jpg, .jpeg and .png names, case-insensitive.
bool HasImageExtension(const std::string& path);

// Decodes JPEG or PNG bytes held in memory and preprocesses them into [1,3,H,W]; `name` prefixes errors.
// Images of more than max_pixels pixels are refused before decoding, and so are resizes to more.
absl::StatusOr<FloatTensor> DecodeImage(const std::string& bytes, const std::string& name,
                                        const ImagePreprocess& preprocess,
                                        int64_t max_pixels = data::kMaxImagePixels);

// Reads and decodes one image file into [1,3,H,W].
absl::StatusOr<FloatTensor> ReadImage(const std::string& path, const ImagePreprocess& preprocess);

// The image files of a folder, in visiting order, with their labels; nothing is decoded.
struct ImageFileList {
  std::vector<std::string> classes;  // sorted class subfolder names; empty for a flat folder
  std::vector<std::string> paths;
  std::vector<int> labels;  // index into classes, or -1 for a flat folder
};
absl::StatusOr<ImageFileList> ListImageFolder(const std::string& dir);

// Decodes the given files into one [N,3,H,W] batch with the given labels. All images must come out the same
// size (use resize/crop otherwise); the error names the first file that differs.
absl::StatusOr<LabeledImages> ReadImageFiles(const std::vector<std::string>& paths,
                                             const std::vector<int>& labels,
                                             const ImagePreprocess& preprocess);

// ListImageFolder + ReadImageFiles of the first max_images files (-1 = all).
absl::StatusOr<LabeledImages> ReadImageFolder(const std::string& dir, const ImagePreprocess& preprocess,
                                              int64_t max_images = -1);

}  // namespace q46
