// Shared handler helpers and the op table.
#include "compiler/onnx_ops_util.h"

#include "absl/strings/str_cat.h"
#include "compiler/onnx_importer.h"

namespace q46 {

absl::Status ReadInts(const ImportContext& ctx, int input, const char* attr, int64_t lo, int64_t hi,
                      std::vector<int64_t>* out) {
  std::vector<double> values;
  if (ctx.HasInput(input)) {
    const FloatTensor* t;
    if (absl::Status st = ctx.RequireConstInput(input, attr, &t); !st.ok()) return st;
    values.assign(t->data.begin(), t->data.end());
  } else {
    for (int64_t v : ctx.AttrInts(attr)) values.push_back(static_cast<double>(v));
  }
  out->clear();
  for (double v : values) {
    if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)))
      return ctx.Error(absl::StrCat(attr, " value ", v, " is out of range [", lo, ", ", hi, "]"));
    out->push_back(static_cast<int64_t>(v));
  }
  return absl::OkStatus();
}

absl::Status ResolveAutoPad(const ImportContext& ctx, const std::string& auto_pad, int64_t h, int64_t w,
                            ir::Window2d* win) {
  if (auto_pad == "NOTSET") return absl::OkStatus();
  if (auto_pad == "VALID") {
    win->pad_t = win->pad_l = win->pad_b = win->pad_r = 0;
    return absl::OkStatus();
  }
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    return ctx.Error(absl::StrCat("auto_pad '", auto_pad, "' is not supported"));
  const auto same = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t* begin, int64_t* end) {
    const int64_t out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
    *begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    *end = total - *begin;
  };
  same(h, win->kh, win->sh, win->dh, &win->pad_t, &win->pad_b);
  same(w, win->kw, win->sw, win->dw, &win->pad_l, &win->pad_r);
  return absl::OkStatus();
}

static const OpTable& Table() {
  static const OpTable table = [] {
    OpTable t;
    RegisterConvOps(t);
    RegisterPoolOps(t);
    RegisterElementwiseOps(t);
    RegisterShapeOps(t);
    return t;
  }();
  return table;
}

OpHandler FindOpHandler(const std::string& op_type) {
  const auto it = Table().find(op_type);
  return it == Table().end() ? nullptr : it->second;
}

std::vector<std::string> SupportedOnnxOps() {
  std::vector<std::string> names;
  for (const auto& [name, handler] : Table()) names.push_back(name);
  return names;
}

}  // namespace q46
