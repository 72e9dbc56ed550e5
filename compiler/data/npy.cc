// NumPy .npy reading and writing (see npy.h). Must not touch anything outside compiler/data/.
#include "compiler/data/npy.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "compiler/data/common.h"
#include "runtime/shape.h"

namespace q46 {
namespace {

constexpr absl::string_view kMagic("\x93NUMPY", 6);
constexpr size_t kMaxDims = 64;
constexpr const char* kSupported = "<f4 <f8 |u1 <i4 <i8";

enum class Kind { kF4, kF8, kU1, kI4, kI8 };
struct DType {
  absl::string_view descr;
  int64_t size;
  Kind kind;
};
constexpr DType kDTypes[] = {{"<f4", 4, Kind::kF4}, {"<f8", 8, Kind::kF8}, {"|u1", 1, Kind::kU1},
                             {"<u1", 1, Kind::kU1}, {"<i4", 4, Kind::kI4}, {"<i8", 8, Kind::kI8}};

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses the Python dict literal of an .npy header, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Exactly the keys descr, fortran_order and shape are allowed; errors say what was expected where.
class HeaderParser {
 public:
  explicit HeaderParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<NpyHeader> Parse() {
    NpyHeader header;
    bool seen[3] = {false, false, false};
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      absl::StatusOr<std::string> key = ParseString();
      if (!key.ok()) return key.status();
      SkipSpace();
      if (!Consume(':')) return Error("expected ':' after key");
      SkipSpace();
      absl::Status value;
      if (*key == "descr" && !seen[0]) {
        seen[0] = true;
        absl::StatusOr<std::string> descr = ParseString();
        if (!descr.ok()) return Error("descr must be a string (structured dtypes are not supported)");
        header.descr = *descr;
      } else if (*key == "fortran_order" && !seen[1]) {
        seen[1] = true;
        value = ParseBool(&header.fortran_order);
      } else if (*key == "shape" && !seen[2]) {
        seen[2] = true;
        value = ParseShape(&header.shape);
      } else {
        return Error(absl::StrCat("unexpected or repeated key '", absl::CHexEscape(*key), "'"));
      }
      if (!value.ok()) return value;
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after '}'");
    if (!seen[0] || !seen[1] || !seen[2]) return Error("missing key (need descr, fortran_order and shape)");
    return header;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool AtDigit() const { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("bad npy header: ", what, " at offset ", pos_));
  }

  absl::StatusOr<std::string> ParseString() {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Error("expected a string");
    }
    char quote = text_[pos_++];
    size_t end = text_.find(quote, pos_);
    if (end == absl::string_view::npos) return Error("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    if (value.find('\\') != std::string::npos) return Error("escapes in strings are not supported");
    pos_ = end + 1;
    return value;
  }

  absl::Status ParseBool(bool* value) {
    if (ConsumeWord("True")) {
      *value = true;
    } else if (ConsumeWord("False")) {
      *value = false;
    } else {
      return Error("fortran_order must be True or False");
    }
    return absl::OkStatus();
  }

  // A tuple of non-negative integers; "(3)" is accepted like "(3,)"; a Python 2 'L' suffix is allowed.
  absl::Status ParseShape(std::vector<int64_t>* shape) {
    if (!Consume('(')) return Error("shape must be a tuple");
    SkipSpace();
    while (!Consume(')')) {
      if (!AtDigit()) return Error("shape entries must be non-negative integers");
      int64_t dim = 0;
      while (AtDigit()) {
        int digit = text_[pos_++] - '0';
        if (dim > (std::numeric_limits<int64_t>::max() - digit) / 10) return Error("shape entry too large");
        dim = dim * 10 + digit;
      }
      Consume('L');
      if (shape->size() == kMaxDims) return Error(absl::StrCat("more than ", kMaxDims, " dimensions"));
      shape->push_back(dim);
      SkipSpace();
      if (Consume(',')) {
        SkipSpace();
      } else if (pos_ >= text_.size() || text_[pos_] != ')') {
        return Error("expected ',' or ')' in shape");
      }
    }
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

uint64_t LoadLittleEndian(const unsigned char* p, int64_t n) {
  uint64_t v = 0;
  for (int64_t i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

float DecodeValue(const unsigned char* p, const DType& type) {
  uint64_t bits = LoadLittleEndian(p, type.size);
  switch (type.kind) {
    case Kind::kF4: {
      uint32_t b = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b, sizeof f);
      return f;
    }
    case Kind::kF8: {
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return static_cast<float>(d);
    }
    case Kind::kU1:
      return static_cast<float>(bits);
    case Kind::kI4: {
      int32_t i;
      uint32_t b = static_cast<uint32_t>(bits);
      std::memcpy(&i, &b, sizeof i);
      return static_cast<float>(i);
    }
    case Kind::kI8: {
      int64_t i;
      std::memcpy(&i, &bits, sizeof i);
      return static_cast<float>(i);
    }
  }
  return 0.0f;
}

const DType* FindDType(absl::string_view descr) {
  for (const DType& type : kDTypes) {
    if (type.descr == descr) return &type;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<FloatTensor> ParseNpy(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 10) {
    return data::FileError(name, absl::StrCat("too short for an npy file (", bytes.size(), " bytes)"));
  }
  if (absl::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    return data::FileError(name, "not an npy file (bad magic)");
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
  int major = raw[6], minor = raw[7];
  if (major < 1 || major > 3) {
    return data::FileError(name, absl::StrCat("unsupported npy version ", major, ".", minor));
  }
  size_t prefix = major == 1 ? 10 : 12;
  if (bytes.size() < prefix) return data::FileError(name, "truncated npy header length");
  uint64_t header_len = LoadLittleEndian(raw + 8, major == 1 ? 2 : 4);
  if (header_len > bytes.size() - prefix) {
    return data::FileError(name, absl::StrCat("npy header length ", header_len,
                                              " runs past the end of the file (", bytes.size(), " bytes)"));
  }
  absl::StatusOr<NpyHeader> header =
      HeaderParser(absl::string_view(bytes).substr(prefix, header_len)).Parse();
  if (!header.ok()) return data::FileError(name, header.status().message());

  const DType* type = FindDType(header->descr);
  if (type == nullptr) {
    // At most 32 characters of it: the header may hold a megabyte, and the message is one line.
    const std::string shown = absl::CHexEscape(header->descr.substr(0, 32)) + (header->descr.size() > 32 ? "..." : "");
    return data::FileError(name, absl::StrCat("unsupported dtype '", shown, "' (supported: ", kSupported, ")"));
  }
  if (header->fortran_order) {
    return data::FileError(name, "fortran_order True is not supported (need C order)");
  }
  const int64_t count = BoundedElementCount(header->shape);
  uint64_t data_bytes = bytes.size() - prefix - header_len;
  // Compare element counts rather than byte counts so that absurd shapes cannot overflow.
  if (count < 0 || data_bytes % type->size != 0 || static_cast<uint64_t>(count) != data_bytes / type->size) {
    return data::FileError(name, absl::StrCat("shape ", data::DimsString(header->shape), " of ", type->descr,
                                              " does not match the ", data_bytes, " data bytes in the file"));
  }
  FloatTensor tensor;
  tensor.dims = header->shape;
  tensor.data.resize(static_cast<size_t>(count));
  const unsigned char* p = raw + prefix + header_len;
  for (float& value : tensor.data) {
    value = DecodeValue(p, *type);
    p += type->size;
  }
  return tensor;
}

absl::StatusOr<FloatTensor> ReadNpy(const std::string& path) {
  absl::StatusOr<std::string> bytes = data::ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  return ParseNpy(*bytes, path);
}

absl::StatusOr<std::string> SerializeNpy(const FloatTensor& tensor) {
  const int64_t count = BoundedElementCount(tensor.dims);
  if (count < 0 || static_cast<uint64_t>(count) != tensor.data.size()) {
    return absl::InvalidArgumentError(absl::StrCat("npy: tensor with dims ", data::DimsString(tensor.dims),
                                                   " has ", tensor.data.size(), " values"));
  }
  std::string shape = absl::StrJoin(tensor.dims, ", ");
  if (tensor.dims.size() == 1) shape += ",";
  std::string header = absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", shape, "), }");
  // Pad with spaces and a final newline so that the data starts on a 64-byte boundary.
  size_t total = kMagic.size() + 4 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 0xffff) {
    return absl::InvalidArgumentError("npy: too many dimensions for a version 1.0 header");
  }

  std::string out(kMagic);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.reserve(out.size() + tensor.data.size() * 4);
  for (float value : tensor.data) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  return out;
}

absl::Status WriteNpy(const std::string& path, const FloatTensor& tensor) {
  absl::StatusOr<std::string> bytes = SerializeNpy(tensor);
  if (!bytes.ok()) return data::FileError(path, bytes.status().message());
  return data::WriteFileAtomic(path, *bytes);
}

}  // namespace q46
