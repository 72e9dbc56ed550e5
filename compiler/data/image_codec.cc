// JPEG and PNG decoding to RGB8 (see image_codec.h). Must not touch anything outside compiler/data/.
//
// Both libraries report fatal errors through callbacks that must not return. The callbacks here record a
// message and longjmp back to a setjmp in RunJpeg/RunPng. Those functions keep no C++ objects with
// destructors in their own frame, and the callbacks none in theirs, so the jump skips no destructors.
#include "compiler/data/image_codec.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

// Order matters: jpeglib.h needs <cstdio> first, jerror.h needs jpeglib.h.
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
// clang-format on

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "compiler/data/common.h"

namespace q46::data {
namespace {

constexpr int kMaxJpegScans = 1000;  // guards against progressive JPEGs with absurd scan counts

void CopyMessage(char* dst, size_t size, const char* src) { std::snprintf(dst, size, "%s", src); }

// ---- JPEG ----

struct JpegError {
  jpeg_error_mgr mgr;  // first member: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void JpegFail(j_common_ptr cinfo, const char* message) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  if (message != nullptr) {
    CopyMessage(err->message, sizeof err->message, message);
  } else {
    (*cinfo->err->format_message)(cinfo, err->message);
  }
  std::longjmp(err->jump, 1);
}

void JpegErrorExit(j_common_ptr cinfo) { JpegFail(cinfo, nullptr); }

// Warnings are silent, except that data ending early is an error (PIL also refuses truncated images).
void JpegEmitMessage(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) JpegFail(cinfo, "truncated JPEG data");
}

void JpegOutputMessage(j_common_ptr) {}

void JpegProgress(j_common_ptr cinfo) {
  if (cinfo->is_decompressor &&
      reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number > kMaxJpegScans) {
    JpegFail(cinfo, "too many progressive JPEG scans");
  }
}

bool RunJpeg(jpeg_decompress_struct* cinfo, JpegError* err, jpeg_progress_mgr* progress,
             const std::string& bytes, int64_t max_pixels, Rgb8Image* out) {
  if (setjmp(err->jump)) return false;
  jpeg_create_decompress(cinfo);  // keeps cinfo->err, clears everything else
  cinfo->progress = progress;
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  jpeg_read_header(cinfo, TRUE);
  if (static_cast<int64_t>(cinfo->image_width) * cinfo->image_height > max_pixels) {
    JpegFail(reinterpret_cast<j_common_ptr>(cinfo), "image has too many pixels");
  }
  cinfo->out_color_space = JCS_RGB;
  jpeg_start_decompress(cinfo);
  if (cinfo->output_components != 3) JpegFail(reinterpret_cast<j_common_ptr>(cinfo), "not decodable as RGB");
  out->width = cinfo->output_width;
  out->height = cinfo->output_height;
  out->pixels.resize(static_cast<size_t>(out->width * out->height * 3));
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out->pixels.data() + static_cast<size_t>(cinfo->output_scanline) * out->width * 3;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
      JpegFail(reinterpret_cast<j_common_ptr>(cinfo), "no progress");
    }
  }
  return true;
}

absl::StatusOr<Rgb8Image> DecodeJpeg(const std::string& bytes, const std::string& name, int64_t max_pixels) {
  jpeg_decompress_struct cinfo{};  // zeroed so that destroying it is safe even if creating it failed
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = JpegErrorExit;
  err.mgr.emit_message = JpegEmitMessage;
  err.mgr.output_message = JpegOutputMessage;
  err.message[0] = '\0';
  jpeg_progress_mgr progress{};
  progress.progress_monitor = JpegProgress;
  Rgb8Image image;
  bool ok = RunJpeg(&cinfo, &err, &progress, bytes, max_pixels, &image);
  jpeg_destroy_decompress(&cinfo);
  if (!ok) return FileError(name, absl::StrCat("cannot decode JPEG: ", err.message));
  return image;
}

// ---- PNG ----

struct PngState {
  const unsigned char* data;
  size_t size;
  size_t pos;
  char message[256];
};

[[noreturn]] void PngErrorFn(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  CopyMessage(state->message, sizeof state->message, message);
  png_longjmp(png, 1);
}

void PngWarningFn(png_structp, png_const_charp) {}

void PngReadFn(png_structp png, png_bytep out, size_t n) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > state->size - state->pos) png_error(png, "truncated PNG data");
  std::memcpy(out, state->data + state->pos, n);
  state->pos += n;
}

bool RunPng(png_structp png, png_infop info, int64_t max_pixels, Rgb8Image* out, std::vector<png_bytep>* rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  png_uint_32 width = png_get_image_width(png, info);
  png_uint_32 height = png_get_image_height(png, info);
  if (static_cast<int64_t>(width) * height > max_pixels) png_error(png, "image has too many pixels");
  png_set_expand(png);       // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
  png_set_strip_16(png);     // 16-bit samples -> high byte
  png_set_strip_alpha(png);  // drop alpha, as PIL's convert("RGB")
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3 || png_get_rowbytes(png, info) != size_t{width} * 3) {
    png_error(png, "unexpected pixel layout after conversion to RGB");
  }
  out->width = width;
  out->height = height;
  out->pixels.resize(size_t{width} * height * 3);
  rows->resize(height);
  for (png_uint_32 y = 0; y < height; ++y) (*rows)[y] = out->pixels.data() + size_t{y} * width * 3;
  png_read_image(png, rows->data());
  return true;
}

absl::StatusOr<Rgb8Image> DecodePng(const std::string& bytes, const std::string& name, int64_t max_pixels) {
  PngState state{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0, ""};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, PngErrorFn, PngWarningFn);
  png_infop info = png == nullptr ? nullptr : png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return absl::ResourceExhaustedError(absl::StrCat(name, ": cannot create PNG decoder"));
  }
  png_set_read_fn(png, &state, PngReadFn);
  Rgb8Image image;
  std::vector<png_bytep> rows;
  bool ok = RunPng(png, info, max_pixels, &image, &rows);
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) return FileError(name, absl::StrCat("cannot decode PNG: ", state.message));
  return image;
}

}  // namespace

absl::StatusOr<Rgb8Image> DecodeRgb8(const std::string& bytes, const std::string& name, int64_t max_pixels) {
  absl::string_view head(bytes);
  if (head.substr(0, 3) == absl::string_view("\xff\xd8\xff", 3)) return DecodeJpeg(bytes, name, max_pixels);
  if (head.substr(0, 8) == absl::string_view("\x89PNG\r\n\x1a\n", 8)) return DecodePng(bytes, name, max_pixels);
  return FileError(name, "not a JPEG or PNG image (unrecognized signature)");
}

}  // namespace q46::data
