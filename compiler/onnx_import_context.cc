// ImportContext methods and ONNX tensor decoding.
#include "compiler/onnx_import_context.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/shape.h"

namespace q46 {

std::string OnnxNodeName(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? absl::StrCat(node.op_type(), "_", index) : node.name();
}

absl::Status OnnxNodeError(const onnx::NodeProto& node, const std::string& name, int opset, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("node '", name, "' (", node.op_type(), ", opset ", opset, "): ", what));
}

absl::Status ImportContext::Error(const std::string& what) const { return OnnxNodeError(node_, node_name_, opset_, what); }

ir::ValueId ImportContext::Input(int i) const { return names_.at(node_.input(i)); }

const FloatTensor* ImportContext::ConstInput(int i) const {
  if (!HasInput(i)) return nullptr;
  const auto& c = graph_.values[Input(i)].constant;
  return c ? &*c : nullptr;
}

absl::Status ImportContext::RequireConstInput(int i, const char* what, const FloatTensor** out) const {
  *out = ConstInput(i);
  if (!*out) return Error(absl::StrCat(what, " (input ", i, ") must be a constant"));
  return absl::OkStatus();
}

static const onnx::AttributeProto* FindAttr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

bool ImportContext::HasAttr(const std::string& name) const { return FindAttr(node_, name) != nullptr; }

int64_t ImportContext::AttrInt(const std::string& name, int64_t def) const {
  const auto* a = FindAttr(node_, name);
  return a ? a->i() : def;
}

float ImportContext::AttrFloat(const std::string& name, float def) const {
  const auto* a = FindAttr(node_, name);
  return a ? a->f() : def;
}

std::string ImportContext::AttrString(const std::string& name, const std::string& def) const {
  const auto* a = FindAttr(node_, name);
  return a ? a->s() : def;
}

std::vector<int64_t> ImportContext::AttrInts(const std::string& name, std::vector<int64_t> def) const {
  const auto* a = FindAttr(node_, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
}

const onnx::TensorProto* ImportContext::AttrTensor(const std::string& name) const {
  const auto* a = FindAttr(node_, name);
  return a && a->has_t() ? &a->t() : nullptr;
}

void ImportContext::Emit(ir::Attrs attrs, std::vector<ir::ValueId> inputs,
                         const std::vector<std::vector<int64_t>>& output_dims) {
  ir::Node n;
  n.name = node_name_;
  n.op_type = node_.op_type();
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  for (size_t i = 0; i < output_dims.size(); ++i) {
    ir::Value v;
    v.name = node_.output(static_cast<int>(i));
    v.dims = output_dims[i];
    const ir::ValueId id = graph_.AddValue(std::move(v));
    names_[node_.output(static_cast<int>(i))] = id;
    n.outputs.push_back(id);
  }
  graph_.nodes.push_back(std::move(n));
}

void ImportContext::EmitOutput(int i, ir::Attrs attrs, std::vector<ir::ValueId> inputs, std::vector<int64_t> dims) {
  const ir::ValueId id = graph_.AddValue({node_.output(i), std::move(dims), std::nullopt, std::nullopt});
  names_[node_.output(i)] = id;
  graph_.nodes.push_back(
      {absl::StrCat(node_name_, "/", i), node_.op_type(), std::move(inputs), {id}, std::move(attrs)});
}

void ImportContext::EmitConstant(int i, FloatTensor t) {
  names_[node_.output(i)] = graph_.AddConstant(node_.output(i), std::move(t));
}

void ImportContext::Alias(int i, ir::ValueId v) { names_[node_.output(i)] = v; }

namespace {

template <typename T>
void CopyRaw(const std::string& raw, std::vector<float>* out) {
  const size_t n = raw.size() / sizeof(T);
  out->resize(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    (*out)[i] = static_cast<float>(v);
  }
}

template <typename Field>
void CopyTyped(const Field& f, std::vector<float>* out) {
  out->assign(f.begin(), f.end());
}

}  // namespace

absl::Status TensorFromProto(const onnx::TensorProto& t, FloatTensor* out) {
  out->dims.assign(t.dims().begin(), t.dims().end());
  const int64_t n = BoundedElementCount(t.dims(), int64_t{1} << 31);
  if (n < 0)
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name(), "' has dims [", absl::StrJoin(t.dims(), ", "),
                                                   "]: negative, or over 2^31 elements"));
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return absl::UnimplementedError(absl::StrCat("tensor '", t.name(), "' keeps its data in an external file; "
                                                 "save the model with all tensors inside it"));
  using TP = onnx::TensorProto;
  const bool raw = t.has_raw_data();
  size_t elem = 0;
  switch (t.data_type()) {
    case TP::FLOAT: elem = 4; raw ? CopyRaw<float>(t.raw_data(), &out->data) : CopyTyped(t.float_data(), &out->data); break;
    case TP::DOUBLE: elem = 8; raw ? CopyRaw<double>(t.raw_data(), &out->data) : CopyTyped(t.double_data(), &out->data); break;
    case TP::INT64: elem = 8; raw ? CopyRaw<int64_t>(t.raw_data(), &out->data) : CopyTyped(t.int64_data(), &out->data); break;
    case TP::INT32: elem = 4; raw ? CopyRaw<int32_t>(t.raw_data(), &out->data) : CopyTyped(t.int32_data(), &out->data); break;
    case TP::INT8: elem = 1; raw ? CopyRaw<int8_t>(t.raw_data(), &out->data) : CopyTyped(t.int32_data(), &out->data); break;
    case TP::UINT8: elem = 1; raw ? CopyRaw<uint8_t>(t.raw_data(), &out->data) : CopyTyped(t.int32_data(), &out->data); break;
    case TP::BOOL: elem = 1; raw ? CopyRaw<uint8_t>(t.raw_data(), &out->data) : CopyTyped(t.int32_data(), &out->data); break;
    default:
      return absl::UnimplementedError(
          absl::StrCat("tensor '", t.name(), "' has data type ", TP::DataType_Name(static_cast<TP::DataType>(t.data_type())),
                       ", which q46 does not import"));
  }
  if (raw && t.raw_data().size() != static_cast<size_t>(n) * elem)
    return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name(), "' holds ", t.raw_data().size(),
                                                   " bytes, its dims need ", n * elem));
  if (static_cast<int64_t>(out->data.size()) != n)
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", t.name(), "' holds ", out->data.size(), " values, its dims need ", n));
  return absl::OkStatus();
}

}  // namespace q46
