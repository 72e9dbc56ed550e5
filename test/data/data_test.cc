// Tests for the sample-data readers in compiler/data/ (npy, CIFAR-10, JPEG/PNG images and folders,
// LoadSamples). Every fixture is written by the test itself into a temporary directory; nothing outside it
// is touched and no Python is needed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

// jpeglib.h needs <cstdio> before it.
// clang-format off
#include <jpeglib.h>
#include <png.h>
// clang-format on

#include "compiler/data/cifar10.h"
#include "compiler/data/image_folder.h"
#include "compiler/data/npy.h"
#include "compiler/data/sample_source.h"
#include "gtest/gtest.h"

namespace q46 {
namespace {

namespace fs = std::filesystem;

// ---- helpers ----

// A fresh directory per test under ::testing::TempDir(), removed afterwards.
class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("q46_data_test_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

void WriteBytes(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// Expects an error whose one-line message contains each of `parts`.
template <typename T>
void ExpectError(const absl::StatusOr<T>& result, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(result.ok()) << "expected an error containing " << *parts.begin();
  const std::string message(result.status().message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
}

// Bytes of an .npy file with the given header fields and raw data.
std::string NpyBytes(const std::string& descr, const std::string& shape, const std::string& data,
                     int major = 1, const std::string& fortran = "False") {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const size_t n = header.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major >= 2) out += std::string(2, '\0');
  return out + header + data;
}

template <typename T>
std::string RawBytes(const std::vector<T>& values) {  // little-endian host, as every test machine is
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A deterministic RGB test pattern (interleaved), the same one used to get the torchvision reference values.
std::vector<uint8_t> Pattern(int w, int h) {
  std::vector<uint8_t> rgb;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      rgb.push_back((x * 37 + y * 11) % 256);
      rgb.push_back((x * 5 + y * 53 + 17) % 256);
      rgb.push_back((x * x * 7 + y * 3) % 256);
    }
  }
  return rgb;
}

std::string JpegBytes(int w, int h, const std::vector<uint8_t>& rgb, int quality = 100) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = w;
  c.image_height = h;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(&rgb[c.next_scanline * w * 3]);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string bytes(reinterpret_cast<char*>(buffer), size);
  std::free(buffer);
  jpeg_destroy_compress(&c);
  return bytes;
}

// PNG bytes via libpng's simplified API; `format` is a PNG_FORMAT_* value, `pixels` its sample buffer.
std::string PngBytes(int w, int h, png_uint_32 format, const void* pixels, const void* colormap = nullptr,
                     int colormap_entries = 0) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = w;
  image.height = h;
  image.format = format;
  image.colormap_entries = colormap_entries;
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, colormap)) << image.message;
  std::string bytes(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, bytes.data(), &size, 0, pixels, 0, colormap))
      << image.message;
  bytes.resize(size);
  return bytes;
}

std::string RgbPng(int w, int h, const std::vector<uint8_t>& rgb) {
  return PngBytes(w, h, PNG_FORMAT_RGB, rgb.data());
}

// Value of channel c at (x, y) of a [1,3,H,W] (or row n of an [N,3,H,W]) tensor.
float At(const FloatTensor& t, int64_t n, int64_t c, int64_t y, int64_t x) {
  return t.data[((n * t.dims[1] + c) * t.dims[2] + y) * t.dims[3] + x];
}

// ---- npy ----

TEST_F(DataTest, NpyRoundTrip) {
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{2, 3, 4}, {5}, {}, {0, 3}}) {
    FloatTensor t;
    t.dims = dims;
    for (int64_t i = 0; i < t.size(); ++i) t.data.push_back(0.25f * i - 3.0f);
    const std::string path = Path("t.npy");
    ASSERT_TRUE(WriteNpy(path, t).ok());
    absl::StatusOr<FloatTensor> back = ReadNpy(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->dims, t.dims);
    EXPECT_EQ(back->data, t.data);
    EXPECT_EQ((fs::file_size(path) - 4 * t.data.size()) % 64, 0u);  // data starts 64-byte aligned
  }
  int files = 0;
  for (auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);  // no temporary files left behind
}

TEST_F(DataTest, NpyWriteErrorsLeaveNoFile) {
  FloatTensor bad{{2, 2}, {1, 2, 3}};
  ExpectError(absl::StatusOr<int>(WriteNpy(Path("bad.npy"), bad)), {"bad.npy", "[2, 2]", "3 values"});
  EXPECT_TRUE(fs::is_empty(dir_));
  FloatTensor good{{1}, {1}};
  EXPECT_FALSE(WriteNpy(Path("missing/dir/x.npy"), good).ok());
}

TEST_F(DataTest, NpyDtypesAndVersions) {
  const std::vector<float> expected = {0, 1, -2, 250, 7, 3};
  struct Case {
    std::string descr, data;
  };
  const std::vector<Case> cases = {
      {"<f4", RawBytes(std::vector<float>{0, 1, -2, 250, 7, 3})},
      {"<f8", RawBytes(std::vector<double>{0, 1, -2, 250, 7, 3})},
      {"<i4", RawBytes(std::vector<int32_t>{0, 1, -2, 250, 7, 3})},
      {"<i8", RawBytes(std::vector<int64_t>{0, 1, -2, 250, 7, 3})},
  };
  for (const Case& c : cases) {
    for (int major : {1, 2, 3}) {
      absl::StatusOr<FloatTensor> t = ParseNpy(NpyBytes(c.descr, "(2, 3)", c.data, major), "x.npy");
      ASSERT_TRUE(t.ok()) << c.descr << " v" << major << ": " << t.status();
      EXPECT_EQ(t->dims, (std::vector<int64_t>{2, 3}));
      EXPECT_EQ(t->data, expected) << c.descr;
    }
  }
  absl::StatusOr<FloatTensor> u1 = ParseNpy(NpyBytes("|u1", "(3,)", std::string("\x00\x07\xff", 3)), "u.npy");
  ASSERT_TRUE(u1.ok()) << u1.status();
  EXPECT_EQ(u1->data, (std::vector<float>{0, 7, 255}));
  // Header variations numpy or Python 2 produce: double quotes, no trailing comma, 'L' suffixes, key order.
  std::string header = "{\"shape\": (1L, 2L), \"fortran_order\": False, \"descr\": \"<f4\"}\n";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header +
                      RawBytes(std::vector<float>{4, 5});
  absl::StatusOr<FloatTensor> variant = ParseNpy(bytes, "v.npy");
  ASSERT_TRUE(variant.ok()) << variant.status();
  EXPECT_EQ(variant->dims, (std::vector<int64_t>{1, 2}));
}

TEST_F(DataTest, NpyBadFiles) {
  const std::string good = NpyBytes("<f4", "(2, 3)", RawBytes(std::vector<float>(6, 1.0f)));
  ASSERT_TRUE(ParseNpy(good, "g.npy").ok());
  ExpectError(ParseNpy(good.substr(0, good.size() - 1), "t.npy"),
              {"t.npy", "does not match", "23 data bytes"});
  ExpectError(ParseNpy(good.substr(0, 5), "short.npy"), {"short.npy", "too short"});
  ExpectError(ParseNpy(good.substr(0, 40), "hdr.npy"), {"hdr.npy", "runs past the end"});
  ExpectError(ParseNpy("GIF89a" + good.substr(6), "m.npy"), {"m.npy", "bad magic"});
  ExpectError(ParseNpy(NpyBytes("<f4", "(2, 3)", RawBytes(std::vector<float>(6)), 1, "True"), "f.npy"),
              {"f.npy", "fortran_order"});
  ExpectError(
      ParseNpy(NpyBytes("<f4", "(1000000000000, 1000000000000)", RawBytes(std::vector<float>(2))), "l.npy"),
      {"l.npy", "does not match"});
  ExpectError(ParseNpy(NpyBytes("<f4", "(99999999999999999999,)", ""), "o.npy"), {"o.npy", "too large"});
  ExpectError(ParseNpy(NpyBytes(">f4", "(1,)", "abcd"), "b.npy"), {"b.npy", "unsupported dtype", "<f4"});
  ExpectError(ParseNpy(NpyBytes("<f4", "(-1,)", ""), "n.npy"), {"n.npy", "non-negative"});
  ExpectError(ParseNpy(NpyBytes("<f4", "[2]", ""), "s.npy"), {"s.npy", "tuple"});
  ExpectError(ParseNpy(NpyBytes("<f4", "(2, 3)", "", 4), "v.npy"), {"v.npy", "version 4"});
  std::string missing = "{'descr': '<f4', 'shape': (1,)}\n";
  ExpectError(ParseNpy(std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(missing.size()) + '\0' +
                           missing + "abcd",
                       "k.npy"),
              {"k.npy", "missing key"});
  ExpectError(ReadNpy(Path("absent.npy")), {"absent.npy"});
  EXPECT_EQ(ReadNpy(Path("absent.npy")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DataTest, NpyNeverCrashesOnMutations) {
  const std::string good = NpyBytes("<i8", "(2, 2)", RawBytes(std::vector<int64_t>{1, 2, 3, 4}));
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(ParseNpy(good.substr(0, n), "cut").ok());
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = good;
    bytes[rng() % bytes.size()] = static_cast<char>(rng());
    (void)ParseNpy(bytes, "mutated");
  }
}

// ---- CIFAR-10 ----

std::string CifarRecord(int label, int seed) {
  std::string record(1, static_cast<char>(label));
  for (int i = 0; i < kCifar10ImageBytes; ++i) record += static_cast<char>((i * 7 + seed * 31) % 256);
  return record;
}

TEST_F(DataTest, CifarGoodFileAndDirectories) {
  const std::string bytes = CifarRecord(3, 0) + CifarRecord(9, 1) + CifarRecord(0, 2);
  WriteBytes(Path("a/test_batch.bin"), bytes);
  WriteBytes(Path("b/cifar-10-batches-bin/test_batch.bin"), bytes);
  for (const std::string& path : {Path("a/test_batch.bin"), Path("a"), Path("b")}) {
    absl::StatusOr<LabeledImages> data = ReadCifar10(path);
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_EQ(data->images.dims, (std::vector<int64_t>{3, 3, 32, 32}));
    EXPECT_EQ(data->labels, (std::vector<int>{3, 9, 0}));
    // Record 1: byte j of the image is (j * 7 + 31) % 256; planes R, G, B of 1024 bytes each.
    EXPECT_EQ(At(data->images, 1, 0, 0, 0), 31 / 255.0f);
    EXPECT_EQ(At(data->images, 1, 1, 0, 2), ((1024 + 2) * 7 + 31) % 256 / 255.0f);
    EXPECT_EQ(At(data->images, 2, 2, 31, 31), ((3071) * 7 + 62) % 256 / 255.0f);
  }
  absl::StatusOr<LabeledImages> two = ReadCifar10(Path("a"), 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->images.dims[0], 2);
  ExpectError(ReadCifar10(Path("empty_dir_missing")), {"empty_dir_missing"});
  fs::create_directories(Path("c"));
  ExpectError(ReadCifar10(Path("c")), {"test_batch.bin", "cifar-10-batches-bin"});
}

TEST_F(DataTest, CifarBadFiles) {
  WriteBytes(Path("odd.bin"), CifarRecord(1, 0) + "xyz");
  ExpectError(ReadCifar10(Path("odd.bin")), {"odd.bin", "3076 bytes", "3073", "remainder 3"});
  WriteBytes(Path("label.bin"), CifarRecord(1, 0) + CifarRecord(10, 0));
  ExpectError(ReadCifar10(Path("label.bin")), {"label.bin", "record 1", "label 10"});
  WriteBytes(Path("empty.bin"), "");
  ExpectError(ReadCifar10(Path("empty.bin")), {"empty.bin", "empty"});
}

// ---- images ----

TEST_F(DataTest, ImageFolderWithClasses) {
  const std::vector<uint8_t> rgb = Pattern(4, 3);
  const std::vector<uint8_t> solid(4 * 3 * 3, 200);
  WriteBytes(Path("root/cat/b.png"), RgbPng(4, 3, rgb));
  WriteBytes(Path("root/cat/a.JPG"), JpegBytes(4, 3, solid));
  WriteBytes(Path("root/cat/.DS_Store"), "junk");
  WriteBytes(Path("root/dog/c.jpeg"), JpegBytes(4, 3, solid));
  WriteBytes(Path("root/.hidden/x.txt"), "junk");

  absl::StatusOr<ImageFileList> list = ListImageFolder(Path("root"));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(list->paths, (std::vector<std::string>{Path("root/cat/a.JPG"), Path("root/cat/b.png"),
                                                   Path("root/dog/c.jpeg")}));
  absl::StatusOr<LabeledImages> data = ReadImageFolder(Path("root"), {});
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->images.dims, (std::vector<int64_t>{3, 3, 3, 4}));
  EXPECT_EQ(data->labels, (std::vector<int>{0, 0, 1}));
  EXPECT_NEAR(At(data->images, 0, 1, 2, 3), 200 / 255.0f, 2 / 255.0f);
  EXPECT_EQ(At(data->images, 1, 0, 2, 3), rgb[(2 * 4 + 3) * 3 + 0] / 255.0f);  // PNG is exact
  EXPECT_EQ(At(data->images, 1, 2, 1, 2), rgb[(1 * 4 + 2) * 3 + 2] / 255.0f);

  absl::StatusOr<LabeledImages> first = ReadImageFolder(Path("root"), {}, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->images.dims[0], 1);
}

TEST_F(DataTest, ImageFolderFlatAndErrors) {
  const std::string png = RgbPng(4, 3, Pattern(4, 3));
  WriteBytes(Path("flat/1.png"), png);
  WriteBytes(Path("flat/2.png"), png);
  absl::StatusOr<LabeledImages> flat = ReadImageFolder(Path("flat"), {});
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(flat->labels, (std::vector<int>{-1, -1}));

  WriteBytes(Path("flat/notes.txt"), "hello");
  ExpectError(ReadImageFolder(Path("flat"), {}), {"notes.txt", "not an image file"});

  WriteBytes(Path("classes/a/1.png"), png);
  fs::create_directories(Path("classes/b"));
  ExpectError(ReadImageFolder(Path("classes"), {}), {"classes/b", "no images"});
  ExpectError(ReadImageFolder(Path("nowhere"), {}), {"nowhere", "no such folder"});
  fs::create_directories(Path("empty"));
  ExpectError(ReadImageFolder(Path("empty"), {}), {"empty", "no images"});

  WriteBytes(Path("sizes/a.png"), png);
  WriteBytes(Path("sizes/b.png"), RgbPng(5, 3, Pattern(5, 3)));
  ExpectError(ReadImageFolder(Path("sizes"), {}), {"b.png", "5x3", "4x3"});
  ImagePreprocess crop;
  crop.crop = 2;
  EXPECT_TRUE(ReadImageFolder(Path("sizes"), crop).ok());
}

TEST_F(DataTest, CorruptImagesAreErrors) {
  const std::string jpeg = JpegBytes(16, 16, Pattern(16, 16), 90);
  const std::string png = RgbPng(16, 16, Pattern(16, 16));
  ASSERT_TRUE(DecodeImage(jpeg, "ok.jpg", {}).ok());
  ASSERT_TRUE(DecodeImage(png, "ok.png", {}).ok());
  WriteBytes(Path("bad/x.jpg"), jpeg.substr(0, jpeg.size() / 2));
  ExpectError(ReadImage(Path("bad/x.jpg"), {}), {"x.jpg", "cannot decode JPEG"});
  ExpectError(DecodeImage(jpeg.substr(0, 20), "head.jpg", {}), {"head.jpg", "cannot decode JPEG"});
  ExpectError(DecodeImage(png.substr(0, png.size() - 30), "cut.png", {}), {"cut.png", "cannot decode PNG"});
  ExpectError(DecodeImage("not an image", "t.png", {}), {"t.png", "not a JPEG or PNG"});
  // Mutated bytes must give a Status (either way), never a crash or exit.
  std::mt19937 rng(7);
  for (const std::string& good : {jpeg, png}) {
    for (int i = 0; i < 300; ++i) {
      std::string bytes = good;
      for (int k = 0; k < 3; ++k) bytes[3 + rng() % (bytes.size() - 3)] = static_cast<char>(rng());
      (void)DecodeImage(bytes, "mutated", {});
      (void)DecodeImage(good.substr(0, rng() % good.size()), "cut", {});
    }
  }
}

TEST_F(DataTest, PngColorTypes) {
  const uint8_t gray[4] = {0, 90, 180, 255};
  absl::StatusOr<FloatTensor> g = DecodeImage(PngBytes(2, 2, PNG_FORMAT_GRAY, gray), "g.png", {});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->dims, (std::vector<int64_t>{1, 3, 2, 2}));
  EXPECT_EQ(At(*g, 0, 2, 0, 1), 90 / 255.0f);

  const uint8_t rgba[8] = {10, 20, 30, 0, 40, 50, 60, 255};
  absl::StatusOr<FloatTensor> a = DecodeImage(PngBytes(2, 1, PNG_FORMAT_RGBA, rgba), "a.png", {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(At(*a, 0, 0, 0, 1), 40 / 255.0f);
  EXPECT_EQ(At(*a, 0, 2, 0, 1), 60 / 255.0f);

  const uint8_t colormap[6] = {255, 0, 0, 0, 128, 255};
  const uint8_t indices[2] = {1, 0};
  absl::StatusOr<FloatTensor> p =
      DecodeImage(PngBytes(2, 1, PNG_FORMAT_RGB_COLORMAP, indices, colormap, 2), "p.png", {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(At(*p, 0, 1, 0, 0), 128 / 255.0f);
  EXPECT_EQ(At(*p, 0, 0, 0, 1), 1.0f);

  const uint16_t deep[3] = {0xAB12, 0x0000, 0xFFFF};
  absl::StatusOr<FloatTensor> d = DecodeImage(PngBytes(1, 1, PNG_FORMAT_LINEAR_RGB, deep), "d.png", {});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(At(*d, 0, 0, 0, 0), 0xAB / 255.0f);
  EXPECT_EQ(At(*d, 0, 2, 0, 0), 1.0f);
}

// Reference bytes after Resize/CenterCrop, CHW, from torchvision 0.14 (PIL 9.4) on Pattern(w, h).
struct PreprocessCase {
  int w, h, resize, crop;
  std::vector<int> chw;
};
const PreprocessCase kPreprocessCases[] = {
    {7, 5, 3, 3, {24,  82,  150, 41,  99, 167, 58,  116, 184, 43,  50, 60, 126, 133,
                  143, 209, 216, 226, 5,  35,  112, 10,  40,  117, 15, 45, 122}},
    {3, 2, 5, 4, {21, 37, 53, 69, 22, 38, 54, 70, 27, 43, 59, 75, 31, 47, 63, 79,
                  20, 22, 24, 26, 25, 27, 29, 31, 47, 49, 51, 53, 68, 70, 72, 74,
                  4,  7,  16, 25, 4,  7,  16, 25, 6,  9,  18, 27, 7,  10, 19, 28}},
    {3, 2, 0, 4, {0,  0,  0,  0, 0, 37, 74, 0, 11, 48, 85, 0, 0, 0, 0,  0, 0, 0,  0,  0, 17, 22, 27, 0,
                  70, 75, 80, 0, 0, 0,  0,  0, 0,  0,  0,  0, 0, 7, 28, 0, 3, 10, 31, 0, 0,  0,  0,  0}},
};

TEST_F(DataTest, ResizeCropNormalizeMatchTorchvision) {
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  for (const PreprocessCase& c : kPreprocessCases) {
    ImagePreprocess p;
    p.resize = c.resize;
    p.crop = c.crop;
    p.mean.assign(mean, mean + 3);
    p.std.assign(std, std + 3);
    WriteBytes(Path("p.png"), RgbPng(c.w, c.h, Pattern(c.w, c.h)));
    absl::StatusOr<FloatTensor> t = ReadImage(Path("p.png"), p);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_EQ(t->dims, (std::vector<int64_t>{1, 3, c.crop, c.crop}));
    for (size_t i = 0; i < c.chw.size(); ++i) {
      const size_t ch = i / (c.crop * c.crop);
      EXPECT_EQ(t->data[i], (c.chw[i] / 255.0f - mean[ch]) / std[ch]) << c.w << "x" << c.h << " value " << i;
    }
  }
  ImagePreprocess resize_only;
  resize_only.resize = 4;
  absl::StatusOr<FloatTensor> wide = DecodeImage(RgbPng(10, 6, Pattern(10, 6)), "w.png", resize_only);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->dims, (std::vector<int64_t>{1, 3, 4, 6}));  // int(4 * 10 / 6) = 6
  // The pixel cap bounds the resize too: a 2x300 image to shorter side 40 would have 40 x 6000 pixels.
  const std::string tall = RgbPng(2, 300, Pattern(2, 300));
  resize_only.resize = 40;
  ExpectError(DecodeImage(tall, "t.png", resize_only, 100000), {"t.png", "too many pixels"});
  ASSERT_TRUE(DecodeImage(tall, "t.png", resize_only, 240000).ok());
}

TEST_F(DataTest, BadPreprocessOptions) {
  const std::string png = RgbPng(2, 2, Pattern(2, 2));
  ImagePreprocess p;
  p.mean = {0.5f, 0.5f};
  p.std = {0.5f, 0.5f};
  ExpectError(DecodeImage(png, "x.png", p), {"mean and std need 1 or 3 values"});
  p.mean = {0.5f};
  p.std = {0.0f};
  ExpectError(DecodeImage(png, "x.png", p), {"non-zero"});
  p = {};
  p.crop = -1;
  ExpectError(DecodeImage(png, "x.png", p), {"crop"});
}

// ---- LoadSamples ----

TEST(SelectSamplesTest, DeterministicSortedDistinct) {
  std::mt19937_64 reference;  // the standard fixes this engine's output
  reference.discard(9999);
  EXPECT_EQ(reference(), 9981545732273789042ull);
  const std::vector<int64_t> picked = SelectSamples(100, 5, 42);
  EXPECT_EQ(picked, SelectSamples(100, 5, 42));
  EXPECT_NE(picked, SelectSamples(100, 5, 43));
  ASSERT_EQ(picked.size(), 5u);
  for (size_t i = 1; i < picked.size(); ++i) EXPECT_LT(picked[i - 1], picked[i]);
  EXPECT_GE(picked.front(), 0);
  EXPECT_LT(picked.back(), 100);
  EXPECT_EQ(SelectSamples(4, 4, 9), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST_F(DataTest, LoadSamplesCifar) {
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += CifarRecord(i, i);
  WriteBytes(Path("cifar/cifar-10-batches-bin/test_batch.bin"), bytes);
  SampleOptions options;
  options.count = 4;
  options.seed = 7;
  absl::StatusOr<LabeledImages> a = LoadSamples(Path("cifar"), options);
  absl::StatusOr<LabeledImages> b = LoadSamples(Path("cifar/cifar-10-batches-bin/test_batch.bin"), options);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  const std::vector<int64_t> picked = SelectSamples(10, 4, 7);
  EXPECT_EQ(a->labels, std::vector<int>(picked.begin(), picked.end()));  // label i is record i
  EXPECT_EQ(a->images.dims, (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_EQ(a->images.data, b->images.data);
  EXPECT_EQ(At(a->images, 1, 0, 0, 0), picked[1] * 31 % 256 / 255.0f);

  options.count = 11;
  ExpectError(LoadSamples(Path("cifar"), options), {"asked for 11", "only 10"});
  options.count = -1;
  options.preprocess.mean = {0.5f};
  options.preprocess.std = {0.25f};
  absl::StatusOr<LabeledImages> all = LoadSamples(Path("cifar"), options);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->labels.size(), 10u);
  EXPECT_EQ(all->images.data[0], (0.0f - 0.5f) / 0.25f);
  options.preprocess.crop = 24;
  ExpectError(LoadSamples(Path("cifar"), options), {"resize and crop"});
}

// A CIFAR-10 folder gives its test batch unless the training batch is asked for (calibration: q46c), and a
// folder without the batch asked for is an error naming it, never the other batch.
TEST_F(DataTest, LoadSamplesCifarSplit) {
  std::string test, train;
  for (int i = 0; i < 3; ++i) test += CifarRecord(i, i), train += CifarRecord(7, 100 + i);
  WriteBytes(Path("both/test_batch.bin"), test);
  WriteBytes(Path("both/data_batch_1.bin"), train);
  SampleOptions options;
  absl::StatusOr<LabeledImages> t = LoadSamples(Path("both"), options);
  options.cifar_split = CifarSplit::kTraining;
  absl::StatusOr<LabeledImages> d = LoadSamples(Path("both"), options);
  ASSERT_TRUE(t.ok() && d.ok()) << t.status() << d.status();
  EXPECT_EQ(t->labels, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(d->labels, (std::vector<int>{7, 7, 7}));
  WriteBytes(Path("testonly/test_batch.bin"), test);
  ExpectError(LoadSamples(Path("testonly"), options), {"testonly", "data_batch_1.bin"});
  WriteBytes(Path("trainonly/cifar-10-batches-bin/data_batch_1.bin"), train);
  absl::StatusOr<LabeledImages> nested = LoadSamples(Path("trainonly"), options);
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(nested->labels.size(), 3u);
}

TEST_F(DataTest, LoadSamplesNpyImagesAndErrors) {
  FloatTensor chw{{3, 2, 2}, std::vector<float>(12, 0.5f)};
  ASSERT_TRUE(WriteNpy(Path("one.npy"), chw).ok());
  absl::StatusOr<LabeledImages> one = LoadSamples(Path("one.npy"), {});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->images.dims, (std::vector<int64_t>{1, 3, 2, 2}));
  EXPECT_EQ(one->labels, (std::vector<int>{-1}));
  ASSERT_TRUE(WriteNpy(Path("flat.npy"), FloatTensor{{12}, std::vector<float>(12)}).ok());
  ExpectError(LoadSamples(Path("flat.npy"), {}), {"flat.npy", "[N,C,H,W]"});

  for (int i = 0; i < 5; ++i)
    WriteBytes(Path("imgs/" + std::to_string(i) + ".png"), RgbPng(3, 3 + i, Pattern(3, 3 + i)));
  SampleOptions options;
  options.count = 2;
  options.seed = 3;
  options.preprocess.crop = 3;  // images differ in height
  absl::StatusOr<LabeledImages> imgs = LoadSamples(Path("imgs"), options);
  ASSERT_TRUE(imgs.ok()) << imgs.status();
  EXPECT_EQ(imgs->images.dims, (std::vector<int64_t>{2, 3, 3, 3}));
  options.count = 6;
  ExpectError(LoadSamples(Path("imgs"), options), {"asked for 6", "only 5"});

  absl::StatusOr<LabeledImages> single = LoadSamples(Path("imgs/2.png"), {});
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->images.dims, (std::vector<int64_t>{1, 3, 5, 3}));

  WriteBytes(Path("x.gif"), "GIF89a");
  ExpectError(LoadSamples(Path("x.gif"), {}), {"x.gif", "unrecognized"});
  EXPECT_EQ(LoadSamples(Path("nothing"), {}).status().code(), absl::StatusCode::kNotFound);
  options.count = 0;
  ExpectError(LoadSamples(Path("imgs"), options), {"count"});
}

TEST(BatchTest, SlicesAndClamps) {
  FloatTensor t{{3, 2}, {0, 1, 2, 3, 4, 5}};
  FloatTensor mid = Batch(t, 1, 1);
  EXPECT_EQ(mid.dims, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(mid.data, (std::vector<float>{2, 3}));
  EXPECT_EQ(Batch(t, 2, 10).data, (std::vector<float>{4, 5}));
  EXPECT_EQ(Batch(t, 1, -1).dims[0], 2);
  EXPECT_EQ(Batch(t, 5, 1).dims, (std::vector<int64_t>{0, 2}));
  EXPECT_TRUE(Batch(FloatTensor{}, 0, 1).data.empty());
}

}  // namespace
}  // namespace q46
