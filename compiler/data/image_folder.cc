// Image file and folder readers (see image_folder.h). Must not touch anything outside compiler/data/.
#include "compiler/data/image_folder.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "compiler/data/image_codec.h"

namespace q46 {
namespace {

namespace fs = std::filesystem;

std::string Join(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

// Appends the images of one folder (which must contain only image files) with `label`.
absl::Status ListImages(const std::string& dir, int label, ImageFileList* list) {
  absl::StatusOr<std::vector<data::DirEntry>> entries = data::ListDirSorted(dir);
  if (!entries.ok()) return entries.status();
  if (entries->empty()) return data::FileError(dir, "folder has no images");
  for (const data::DirEntry& entry : *entries) {
    std::string path = Join(dir, entry.name);
    if (entry.is_dir) return data::FileError(path, "unexpected folder inside a folder of images");
    if (!HasImageExtension(entry.name)) {
      return data::FileError(path,
                             "not an image file (expected .jpg, .jpeg or .png; hidden files are ignored)");
    }
    list->paths.push_back(std::move(path));
    list->labels.push_back(label);
  }
  return absl::OkStatus();
}

}  // namespace

bool HasImageExtension(const std::string& path) {
  std::string ext = data::LowerExtension(path);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

absl::StatusOr<FloatTensor> DecodeImage(const std::string& bytes, const std::string& name,
                                        const ImagePreprocess& preprocess, int64_t max_pixels) {
  absl::StatusOr<data::Rgb8Image> image = data::DecodeRgb8(bytes, name, max_pixels);
  if (!image.ok()) return image.status();
  return PreprocessImage(*std::move(image), preprocess, name, max_pixels);
}

absl::StatusOr<FloatTensor> ReadImage(const std::string& path, const ImagePreprocess& preprocess) {
  absl::StatusOr<std::string> bytes = data::ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  return DecodeImage(*bytes, path, preprocess);
}

absl::StatusOr<ImageFileList> ListImageFolder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrCat(dir, ": no such folder"));
  absl::StatusOr<std::vector<data::DirEntry>> entries = data::ListDirSorted(dir);
  if (!entries.ok()) return entries.status();
  if (entries->empty()) return data::FileError(dir, "folder has no images or class subfolders");
  ImageFileList list;
  if (!(*entries)[0].is_dir) {  // flat folder of images
    absl::Status listed = ListImages(dir, -1, &list);
    if (!listed.ok()) return listed;
    return list;
  }
  for (const data::DirEntry& entry : *entries) {
    if (!entry.is_dir) {
      return data::FileError(
          Join(dir, entry.name),
          "file next to class subfolders (a folder holds either class subfolders or images)");
    }
    absl::Status listed = ListImages(Join(dir, entry.name), static_cast<int>(list.classes.size()), &list);
    if (!listed.ok()) return listed;
    list.classes.push_back(entry.name);
  }
  return list;
}

absl::StatusOr<LabeledImages> ReadImageFiles(const std::vector<std::string>& paths,
                                             const std::vector<int>& labels,
                                             const ImagePreprocess& preprocess) {
  if (paths.empty() || paths.size() != labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ReadImageFiles: need one label per path and at least one path, got ", paths.size(),
                     " paths and ", labels.size(), " labels"));
  }
  LabeledImages out;
  out.labels = labels;
  for (size_t i = 0; i < paths.size(); ++i) {
    absl::StatusOr<FloatTensor> image = ReadImage(paths[i], preprocess);
    if (!image.ok()) return image.status();
    if (i == 0) {
      out.images.dims = image->dims;
      out.images.dims[0] = static_cast<int64_t>(paths.size());
      out.images.data.reserve(image->data.size() * paths.size());
    } else if (image->dims[2] != out.images.dims[2] || image->dims[3] != out.images.dims[3]) {
      return data::FileError(
          paths[i], absl::StrCat("image is ", image->dims[3], "x", image->dims[2], " but ", paths[0], " is ",
                                 out.images.dims[3], "x", out.images.dims[2],
                                 "; give resize and crop to make all images one size"));
    }
    out.images.data.insert(out.images.data.end(), image->data.begin(), image->data.end());
  }
  return out;
}

absl::StatusOr<LabeledImages> ReadImageFolder(const std::string& dir, const ImagePreprocess& preprocess,
                                              int64_t max_images) {
  if (max_images == 0 || max_images < -1) {
    return data::FileError(dir, absl::StrCat("max_images must be -1 (all) or positive, got ", max_images));
  }
  absl::StatusOr<ImageFileList> list = ListImageFolder(dir);
  if (!list.ok()) return list.status();
  if (max_images > 0 && static_cast<size_t>(max_images) < list->paths.size()) {
    list->paths.resize(max_images);
    list->labels.resize(max_images);
  }
  return ReadImageFiles(list->paths, list->labels, preprocess);
}

}  // namespace q46
