// torchvision-style image preprocessing (see image_preprocess.h). Must not touch anything outside
// compiler/data/. The resize reproduces Pillow's Image.resize(BILINEAR) for 8-bit images (Resample.c):
// a triangle filter widened by the scale factor when shrinking, 22-bit fixed-point weights, a horizontal
// pass then a vertical pass, each rounded to 8 bits.
#include "compiler/data/image_preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "compiler/data/common.h"
#include "runtime/shape.h"

namespace q46 {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

// Pillow's per-output-pixel filter taps along one axis.
struct Taps {
  int64_t ksize = 0;
  std::vector<int64_t> first;   // first input index per output index
  std::vector<int64_t> count;   // number of taps per output index
  std::vector<int32_t> weight;  // ksize fixed-point weights per output index
};

Taps BilinearTaps(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // the bilinear filter has support 1
  const double inv_filter_scale = 1.0 / filter_scale;
  Taps taps;
  taps.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weight.assign(out_size * taps.ksize, 0);
  std::vector<double> w(taps.ksize);
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const int64_t xmin = std::max<int64_t>(0, static_cast<int64_t>(center - support + 0.5));
    const int64_t xmax = std::min<int64_t>(in_size, static_cast<int64_t>(center + support + 0.5)) - xmin;
    double total = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      const double t = std::fabs((x + xmin - center + 0.5) * inv_filter_scale);
      w[x] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[x];
    }
    for (int64_t x = 0; x < xmax; ++x) {
      const double k = total != 0.0 ? w[x] / total : w[x];
      taps.weight[xx * taps.ksize + x] = static_cast<int32_t>(0.5 + k * (1 << kPrecisionBits));
    }
    taps.first[xx] = xmin;
    taps.count[xx] = xmax;
  }
  return taps;
}

uint8_t Clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

// One Pillow resampling pass, along x (horizontal) or y.
data::Rgb8Image ResamplePass(const data::Rgb8Image& in, int64_t out_size, bool horizontal) {
  data::Rgb8Image out;
  out.width = horizontal ? out_size : in.width;
  out.height = horizontal ? in.height : out_size;
  out.pixels.resize(out.width * out.height * 3);
  const Taps taps = BilinearTaps(horizontal ? in.width : in.height, out_size);
  const int64_t stride = horizontal ? 3 : in.width * 3;  // input step between neighbouring taps
  for (int64_t y = 0; y < out.height; ++y) {
    for (int64_t x = 0; x < out.width; ++x) {
      const int64_t a = horizontal ? x : y;  // index along the resampled axis
      const int64_t base = horizontal ? y * in.width * 3 : x * 3;
      const int32_t* k = &taps.weight[a * taps.ksize];
      for (int64_t c = 0; c < 3; ++c) {
        int32_t sum = 1 << (kPrecisionBits - 1);
        const uint8_t* src = &in.pixels[base + taps.first[a] * stride + c];
        for (int64_t i = 0; i < taps.count[a]; ++i) sum += src[i * stride] * k[i];
        out.pixels[(y * out.width + x) * 3 + c] = Clip8(sum);
      }
    }
  }
  return out;
}

// torchvision Resize(size): shorter side -> size, longer side -> int(size * long / short).
absl::StatusOr<data::Rgb8Image> ResizeShorterSide(data::Rgb8Image image, int64_t size, const std::string& name,
                                                  int64_t max_pixels) {
  const bool wide = image.width > image.height;
  const int64_t shorter = wide ? image.height : image.width;
  const int64_t longer = wide ? image.width : image.height;
  const int64_t new_longer = static_cast<int64_t>(static_cast<double>(size * longer) / shorter);
  if (size * new_longer > max_pixels) {
    return data::FileError(name, absl::StrCat("resizing ", image.width, "x", image.height,
                                              " to shorter side ", size, " gives too many pixels"));
  }
  const int64_t new_width = wide ? new_longer : size;
  const int64_t new_height = wide ? size : new_longer;
  if (new_width != image.width) image = ResamplePass(image, new_width, /*horizontal=*/true);
  if (new_height != image.height) image = ResamplePass(image, new_height, /*horizontal=*/false);
  return image;
}

// torchvision CenterCrop: offset int(round((in - out) / 2)) with round-half-to-even; when the image is
// smaller, it is first zero-padded by (out - in) // 2 before it.
int64_t CropOffset(int64_t in, int64_t out) {
  if (out > in) return -((out - in) / 2);
  int64_t d = in - out, half = d / 2;
  if (d % 2 == 1 && half % 2 == 1) ++half;
  return half;
}

data::Rgb8Image CenterCrop(const data::Rgb8Image& in, int64_t size) {
  data::Rgb8Image out;
  out.width = out.height = size;
  out.pixels.assign(size * size * 3, 0);
  const int64_t top = CropOffset(in.height, size), left = CropOffset(in.width, size);
  for (int64_t y = 0; y < size; ++y) {
    const int64_t sy = y + top;
    if (sy < 0 || sy >= in.height) continue;
    for (int64_t x = 0; x < size; ++x) {
      const int64_t sx = x + left;
      if (sx < 0 || sx >= in.width) continue;
      std::copy_n(&in.pixels[(sy * in.width + sx) * 3], 3, &out.pixels[(y * size + x) * 3]);
    }
  }
  return out;
}

// ToTensor: HWC bytes -> [1,3,H,W] floats byte/255.
FloatTensor ToTensor(const data::Rgb8Image& image) {
  FloatTensor t;
  t.dims = {1, 3, image.height, image.width};
  const int64_t plane = image.width * image.height;
  t.data.resize(3 * plane);
  for (int64_t p = 0; p < plane; ++p) {
    for (int64_t c = 0; c < 3; ++c) {
      t.data[c * plane + p] = static_cast<float>(image.pixels[p * 3 + c]) / 255.0f;
    }
  }
  return t;
}

}  // namespace

absl::Status ValidatePreprocess(const ImagePreprocess& p) {
  if (p.resize < 0 || p.resize > kMaxPreprocessSide || p.crop < 0 || p.crop > kMaxPreprocessSide) {
    return absl::InvalidArgumentError(absl::StrCat("preprocess: resize (", p.resize, ") and crop (", p.crop,
                                                   ") must be between 0 and ", kMaxPreprocessSide));
  }
  if (p.mean.empty() != p.std.empty()) {
    return absl::InvalidArgumentError("preprocess: give both mean and std, or neither");
  }
  for (const std::vector<float>* v : {&p.mean, &p.std}) {
    if (v->size() > 1 && v->size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("preprocess: mean and std need 1 or 3 values, got ", v->size()));
    }
  }
  for (float s : p.std) {
    if (s == 0.0f || !std::isfinite(s)) {
      return absl::InvalidArgumentError("preprocess: std values must be finite and non-zero");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FloatTensor> PreprocessImage(data::Rgb8Image image, const ImagePreprocess& preprocess,
                                            const std::string& name, int64_t max_pixels) {
  absl::Status valid = ValidatePreprocess(preprocess);
  if (!valid.ok()) return valid;
  if (preprocess.resize > 0) {
    absl::StatusOr<data::Rgb8Image> resized = ResizeShorterSide(std::move(image), preprocess.resize, name, max_pixels);
    if (!resized.ok()) return resized.status();
    image = *std::move(resized);
  }
  if (preprocess.crop > 0) image = CenterCrop(image, preprocess.crop);
  FloatTensor tensor = ToTensor(image);
  if (!preprocess.mean.empty()) {
    absl::Status normalized = NormalizeChannels(&tensor, preprocess.mean, preprocess.std);
    if (!normalized.ok()) return normalized;
  }
  return tensor;
}

absl::Status NormalizeChannels(FloatTensor* tensor, const std::vector<float>& mean,
                               const std::vector<float>& std) {
  const std::vector<int64_t>& dims = tensor->dims;
  const int64_t count = BoundedElementCount(dims);
  if (dims.size() < 2 || count < 0 || static_cast<uint64_t>(count) != tensor->data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("normalize: need an [N,C,...] tensor, got dims ", data::DimsString(dims)));
  }
  const int64_t channels = dims[1];
  for (const std::vector<float>* v : {&mean, &std}) {
    if (v->size() != 1 && static_cast<int64_t>(v->size()) != channels) {
      return absl::InvalidArgumentError(absl::StrCat("normalize: mean/std have ", v->size(),
                                                     " values but the data has ", channels, " channels"));
    }
  }
  if (count == 0) return absl::OkStatus();
  const int64_t inner = count / dims[0] / channels;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t c = (i / inner) % channels;
    float& x = tensor->data[i];
    x = (x - mean[mean.size() == 1 ? 0 : c]) / std[std.size() == 1 ? 0 : c];
  }
  return absl::OkStatus();
}

}  // namespace q46
