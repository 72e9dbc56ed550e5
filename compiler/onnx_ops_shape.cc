// ONNX handlers for ops that move or reshape data: Concat, Flatten, Reshape, Pad, Resize, Transpose, Slice and
// Split, and the shape arithmetic exporters emit around them (Constant, ConstantOfShape, Shape, Gather, Unsqueeze,
// Squeeze, Cast), which is folded to constants since every shape here is static.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compiler/onnx_ops_util.h"

namespace q46 {
namespace {

int64_t NormalizeAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

// Reshape (or fold a constant) to `dims`.
void EmitReshape(ImportContext& ctx, std::vector<int64_t> dims) {
  if (const FloatTensor* c = ctx.ConstInput(0)) {
    ctx.EmitConstant(0, FloatTensor{std::move(dims), c->data});
    return;
  }
  ctx.Emit(ir::ReshapeAttrs{}, {ctx.Input(0)}, {std::move(dims)});
}

absl::Status Constant(ImportContext& ctx) {
  FloatTensor t;
  if (const onnx::TensorProto* v = ctx.AttrTensor("value")) {
    if (absl::Status st = TensorFromProto(*v, &t); !st.ok()) return ctx.Error(std::string(st.message()));
  } else if (ctx.HasAttr("value_float")) {
    t = {{}, {ctx.AttrFloat("value_float", 0)}};
  } else if (ctx.HasAttr("value_int")) {
    t = {{}, {static_cast<float>(ctx.AttrInt("value_int", 0))}};
  } else if (ctx.HasAttr("value_ints")) {
    const auto v = ctx.AttrInts("value_ints");
    t = {{static_cast<int64_t>(v.size())}, std::vector<float>(v.begin(), v.end())};
  } else {
    return ctx.Error("only tensor, float and int constants are supported");
  }
  ctx.EmitConstant(0, std::move(t));
  return absl::OkStatus();
}

absl::Status Shape(ImportContext& ctx) {
  const auto& d = ctx.InputDims(0);
  const int64_t rank = static_cast<int64_t>(d.size());
  int64_t start = std::clamp<int64_t>(NormalizeAxis(ctx.AttrInt("start", 0), rank), 0, rank);
  int64_t end = std::clamp<int64_t>(NormalizeAxis(ctx.AttrInt("end", rank), rank), 0, rank);
  std::vector<float> v;
  for (int64_t i = start; i < end; ++i) v.push_back(static_cast<float>(d[i]));
  ctx.EmitConstant(0, FloatTensor{{static_cast<int64_t>(v.size())}, v});
  return absl::OkStatus();
}

absl::Status Gather(ImportContext& ctx) {
  const FloatTensor *data, *idx;
  if (absl::Status st = ctx.RequireConstInput(0, "data (Gather is folded on constants only)", &data); !st.ok()) return st;
  if (absl::Status st = ctx.RequireConstInput(1, "indices", &idx); !st.ok()) return st;
  const int64_t rank = static_cast<int64_t>(data->dims.size());
  const int64_t axis = NormalizeAxis(ctx.AttrInt("axis", 0), rank);
  if (rank == 0 || axis < 0 || axis >= rank) return ctx.Error("axis out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= data->dims[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= data->dims[i];
  const int64_t n = data->dims[axis];
  FloatTensor out;
  out.dims.assign(data->dims.begin(), data->dims.begin() + axis);
  out.dims.insert(out.dims.end(), idx->dims.begin(), idx->dims.end());
  out.dims.insert(out.dims.end(), data->dims.begin() + axis + 1, data->dims.end());
  for (int64_t o = 0; o < outer; ++o)
    for (float fi : idx->data) {
      int64_t i = static_cast<int64_t>(fi);
      if (i < 0) i += n;
      if (i < 0 || i >= n) return ctx.Error(absl::StrCat("index ", fi, " out of range"));
      for (int64_t k = 0; k < inner; ++k) out.data.push_back(data->data[(o * n + i) * inner + k]);
    }
  ctx.EmitConstant(0, std::move(out));
  return absl::OkStatus();
}

// Axes from the opset-13 input or the older attribute; Unsqueeze and Squeeze check them against the rank.
absl::Status ReadAxes(ImportContext& ctx, std::vector<int64_t>* axes) {
  constexpr int64_t kAnyAxis = int64_t{1} << 20;
  return ReadInts(ctx, 1, "axes", -kAnyAxis, kAnyAxis, axes);
}

absl::Status Unsqueeze(ImportContext& ctx) {
  std::vector<int64_t> axes;
  if (absl::Status st = ReadAxes(ctx, &axes); !st.ok()) return st;
  std::vector<int64_t> dims = ctx.InputDims(0);
  const int64_t out_rank = static_cast<int64_t>(dims.size() + axes.size());
  for (int64_t& a : axes) a = NormalizeAxis(a, out_rank);
  std::sort(axes.begin(), axes.end());
  for (int64_t a : axes) {
    if (a < 0 || a > static_cast<int64_t>(dims.size())) return ctx.Error("axis out of range");
    dims.insert(dims.begin() + a, 1);
  }
  EmitReshape(ctx, dims);
  return absl::OkStatus();
}

absl::Status Squeeze(ImportContext& ctx) {
  std::vector<int64_t> axes;
  if (absl::Status st = ReadAxes(ctx, &axes); !st.ok()) return st;
  const auto& in = ctx.InputDims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  for (int64_t& a : axes) a = NormalizeAxis(a, rank);
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i) {
    const bool listed = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (listed && in[i] != 1) return ctx.Error(absl::StrCat("cannot squeeze axis ", i, " of size ", in[i]));
    if (!(listed || (axes.empty() && in[i] == 1))) dims.push_back(in[i]);
  }
  EmitReshape(ctx, dims);
  return absl::OkStatus();
}

absl::Status Cast(ImportContext& ctx) {
  using TP = onnx::TensorProto;
  const int64_t to = ctx.AttrInt("to", 0);
  // The types a q46 constant can stand for exactly (those TensorFromProto imports); others would need rounding
  // (FLOAT16, BFLOAT16) or are not numbers.
  if (to != TP::FLOAT && to != TP::DOUBLE && to != TP::INT64 && to != TP::INT32 && to != TP::INT8 &&
      to != TP::UINT8 && to != TP::BOOL)
    return ctx.Error(absl::StrCat("Cast to ", TP::DataType_Name(static_cast<TP::DataType>(to)), " is not supported"));
  const bool to_int = to == TP::INT64 || to == TP::INT32 || to == TP::INT8 || to == TP::UINT8;
  if (const FloatTensor* c = ctx.ConstInput(0)) {
    FloatTensor t = *c;
    if (to_int) for (float& v : t.data) v = std::trunc(v);
    if (to == TP::BOOL) for (float& v : t.data) v = v != 0 ? 1.0f : 0.0f;
    ctx.EmitConstant(0, std::move(t));
    return absl::OkStatus();
  }
  if (to != onnx::TensorProto::FLOAT) return ctx.Error("only casts to float are supported on non-constant tensors");
  ctx.Alias(0, ctx.Input(0));
  return absl::OkStatus();
}

absl::Status ConstantOfShape(ImportContext& ctx) {
  const FloatTensor* shape;
  if (absl::Status st = ctx.RequireConstInput(0, "the shape", &shape); !st.ok()) return st;
  FloatTensor value{{}, {0.0f}};
  if (const onnx::TensorProto* v = ctx.AttrTensor("value"))
    if (absl::Status st = TensorFromProto(*v, &value); !st.ok() || value.data.size() != 1)
      return ctx.Error("value must be a one-element tensor");
  FloatTensor out;
  for (float d : shape->data) {
    if (d < 0 || d > (1 << 24)) return ctx.Error("shape value out of range");
    out.dims.push_back(static_cast<int64_t>(d));
  }
  const int64_t n = FloatTensor::NumElements(out.dims);
  if (n > (int64_t{1} << 28)) return ctx.Error("the constant would be too large");
  out.data.assign(static_cast<size_t>(n), value.data[0]);
  ctx.EmitConstant(0, std::move(out));
  return absl::OkStatus();
}

// Slice (opset 10+: starts, ends, axes, steps as constant inputs); folded on a constant, else a runtime op.
absl::Status Slice(ImportContext& ctx) {
  const FloatTensor *starts, *ends, *axes_t = nullptr, *steps_t = nullptr;
  if (absl::Status st = ctx.RequireConstInput(1, "starts", &starts); !st.ok()) return st;
  if (absl::Status st = ctx.RequireConstInput(2, "ends", &ends); !st.ok()) return st;
  if (ctx.HasInput(3)) if (absl::Status st = ctx.RequireConstInput(3, "axes", &axes_t); !st.ok()) return st;
  if (ctx.HasInput(4)) if (absl::Status st = ctx.RequireConstInput(4, "steps", &steps_t); !st.ok()) return st;
  const std::vector<int64_t>& in = ctx.InputDims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  if (rank == 0) return ctx.Error("Slice needs a tensor of rank 1 or more");
  const size_t listed = starts->data.size();
  if (ends->data.size() != listed || (axes_t && axes_t->data.size() != listed) ||
      (steps_t && steps_t->data.size() != listed))
    return ctx.Error("starts, ends, axes and steps differ in length");
  // Values are clamped in double before any conversion: exporters write INT64_MAX and INT64_MIN for open ends.
  auto clampd = [](double v, double lo, double hi) { return static_cast<int64_t>(std::min(std::max(v, lo), hi)); };
  std::vector<int64_t> begin(rank, 0), step(rank, 1), count = in;
  for (size_t i = 0; i < listed; ++i) {
    const double a = axes_t ? axes_t->data[i] : static_cast<double>(i);
    if (!(a >= -rank && a < rank)) return ctx.Error("axes out of range");
    const int64_t axis = NormalizeAxis(static_cast<int64_t>(a), rank), n = in[axis];
    const double sd = steps_t ? steps_t->data[i] : 1.0;
    if (sd == 0 || std::isnan(sd)) return ctx.Error("a step of 0");
    // A step of n or more takes one element at most: held to +-n, it takes the same one.
    const int64_t s = clampd(sd, -std::max<int64_t>(n, 1), std::max<int64_t>(n, 1));
    // ONNX clamps starts to [0, n] going forwards and [0, n - 1] backwards; ends to [0, n] and [-1, n - 1].
    double b = starts->data[i], e = ends->data[i];
    if (b < 0) b += n;
    if (e < 0) e += n;
    const int64_t first = s > 0 ? clampd(b, 0, n) : clampd(b, 0, n - 1);
    const int64_t last = s > 0 ? clampd(e, 0, n) : clampd(e, -1, n - 1);
    begin[axis] = first;
    count[axis] = s > 0 ? std::max<int64_t>(0, (last - first + s - 1) / s) : std::max<int64_t>(0, (first - last - s - 1) / -s);
    step[axis] = count[axis] > 1 ? s : 1;  // one element or none: the step is never taken
  }
  if (const FloatTensor* data = ctx.ConstInput(0)) {
    FloatTensor out{count, std::vector<float>(FloatTensor::NumElements(count))};
    if (!out.data.empty()) kernels::SliceRef(data->data.data(), data->dims, begin, step, out.data.data(), count);
    ctx.EmitConstant(0, std::move(out));
    return absl::OkStatus();
  }
  ctx.Emit(ir::SliceAttrs{begin, step}, {ctx.Input(0)}, {count});
  return absl::OkStatus();
}

// Split (sizes from the `split` attribute below opset 13, a constant input from 13; equal parts without them):
// one slice per output.
absl::Status Split(ImportContext& ctx) {
  const std::vector<int64_t> in = ctx.InputDims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  const int64_t axis = NormalizeAxis(ctx.AttrInt("axis", 0), rank);
  if (axis < 0 || axis >= rank) return ctx.Error("axis out of range");
  const int parts = ctx.proto().output_size();
  std::vector<int64_t> sizes;
  if (absl::Status st = ReadInts(ctx, 1, "split", 0, in[axis], &sizes); !st.ok()) return st;
  if (sizes.empty()) {
    if (in[axis] % parts != 0) return ctx.Error(absl::StrCat("axis size ", in[axis], " does not split into ", parts));
    sizes.assign(static_cast<size_t>(parts), in[axis] / parts);
  }
  int64_t total = 0;  // each size is at most in[axis]: no overflow
  for (int64_t s : sizes) total += s;
  if (static_cast<int>(sizes.size()) != parts || total != in[axis])
    return ctx.Error(absl::StrCat("split sizes [", absl::StrJoin(sizes, ", "), "] do not cut axis ", axis, " of size ",
                                  in[axis], " into ", parts, " outputs"));
  std::vector<int64_t> starts(rank, 0);
  const std::vector<int64_t> steps(rank, 1);
  for (int i = 0; i < parts; ++i) {
    std::vector<int64_t> dims = in;
    dims[axis] = sizes[i];
    if (const FloatTensor* c = ctx.ConstInput(0)) {
      FloatTensor out{dims, std::vector<float>(FloatTensor::NumElements(dims))};
      if (!out.data.empty()) kernels::SliceRef(c->data.data(), c->dims, starts, steps, out.data.data(), dims);
      ctx.EmitConstant(i, std::move(out));
    } else {
      ctx.EmitOutput(i, ir::SliceAttrs{starts, steps}, {ctx.Input(0)}, dims);
    }
    starts[axis] += sizes[i];
  }
  return absl::OkStatus();
}

absl::Status Concat(ImportContext& ctx) {
  const int64_t rank = static_cast<int64_t>(ctx.InputDims(0).size());
  const int64_t axis = NormalizeAxis(ctx.AttrInt("axis", 0), rank);
  if (axis < 0 || axis >= rank) return ctx.Error("axis out of range");
  std::vector<int64_t> dims = ctx.InputDims(0);
  dims[axis] = 0;
  bool all_const = true;
  std::vector<ir::ValueId> inputs;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const auto& d = ctx.InputDims(i);
    if (static_cast<int64_t>(d.size()) != rank) return ctx.Error("inputs differ in rank");
    for (int64_t k = 0; k < rank; ++k)
      if (k != axis && d[k] != dims[k]) return ctx.Error("inputs differ outside the concatenation axis");
    dims[axis] += d[axis];
    all_const = all_const && ctx.ConstInput(i);
    inputs.push_back(ctx.Input(i));
  }
  if (!all_const) {
    ctx.Emit(ir::ConcatAttrs{axis}, std::move(inputs), {dims});
    return absl::OkStatus();
  }
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= dims[k];
  FloatTensor out{dims, {}};
  for (int64_t o = 0; o < outer; ++o)
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const FloatTensor* c = ctx.ConstInput(i);
      const int64_t chunk = c->size() / outer;
      out.data.insert(out.data.end(), c->data.begin() + o * chunk, c->data.begin() + (o + 1) * chunk);
    }
  ctx.EmitConstant(0, std::move(out));
  return absl::OkStatus();
}

absl::Status Flatten(ImportContext& ctx) {
  const auto& in = ctx.InputDims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  const int64_t axis = NormalizeAxis(ctx.AttrInt("axis", 1), rank);
  if (axis < 0 || axis > rank) return ctx.Error("axis out of range");
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? a : b) *= in[i];
  EmitReshape(ctx, {a, b});
  return absl::OkStatus();
}

absl::Status Reshape(ImportContext& ctx) {
  const FloatTensor* shape;
  if (absl::Status st = ctx.RequireConstInput(1, "the target shape", &shape); !st.ok()) return st;
  const auto& in = ctx.InputDims(0);
  const bool allow_zero = ctx.AttrInt("allowzero", 0) != 0;
  std::vector<int64_t> dims;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape->data.size(); ++i) {
    int64_t d = static_cast<int64_t>(shape->data[i]);
    if (d == 0 && !allow_zero) {
      if (i >= in.size()) return ctx.Error("a 0 in the shape has no input dimension to copy");
      d = in[i];
    }
    if (d == -1) {
      if (infer >= 0) return ctx.Error("more than one -1 in the shape");
      infer = static_cast<int>(i);
    } else if (d < 1) {
      return ctx.Error(absl::StrCat("shape value ", d, " is not supported"));
    } else {
      known *= d;
    }
    dims.push_back(d);
  }
  const int64_t total = FloatTensor::NumElements(in);
  if (infer >= 0) {
    if (total % known) return ctx.Error("the -1 dimension cannot be inferred");
    dims[infer] = total / known;
  }
  if (FloatTensor::NumElements(dims) != total)
    return ctx.Error(absl::StrCat("cannot reshape [", absl::StrJoin(in, ", "), "] to [", absl::StrJoin(dims, ", "), "]"));
  EmitReshape(ctx, dims);
  return absl::OkStatus();
}

absl::Status Transpose(ImportContext& ctx) {
  const std::vector<int64_t>& in = ctx.InputDims(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> perm = ctx.AttrInts("perm");
  if (perm.empty()) for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != rank) return ctx.Error("perm does not match the rank");
  std::vector<int64_t> dims;
  std::vector<bool> used(static_cast<size_t>(rank), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || used[p]) return ctx.Error("perm is not a permutation");
    used[p] = true;
    dims.push_back(in[p]);
  }
  if (const FloatTensor* c = ctx.ConstInput(0)) {
    FloatTensor out{dims, std::vector<float>(c->data.size())};
    kernels::TransposeF32Ref(c->data.data(), c->dims, perm, out.data.data());
    ctx.EmitConstant(0, std::move(out));
    return absl::OkStatus();
  }
  ctx.Emit(ir::TransposeAttrs{perm}, {ctx.Input(0)}, {dims});
  return absl::OkStatus();
}

absl::Status Pad(ImportContext& ctx) {
  if (ctx.AttrString("mode", "constant") != "constant") return ctx.Error("only constant padding is supported");
  const FloatTensor* pads;
  if (absl::Status st = ctx.RequireConstInput(1, "pads", &pads); !st.ok()) return st;
  const auto& in = ctx.InputDims(0);
  if (pads->data.size() != 2 * in.size()) return ctx.Error("pads must have two values per axis");
  ir::PadAttrs a;
  std::vector<int64_t> dims = in;
  for (size_t i = 0; i < pads->data.size(); ++i) {
    const int64_t p = static_cast<int64_t>(pads->data[i]);
    if (p < 0) return ctx.Error("negative pads (cropping) are not supported");
    a.pads.push_back(p);
    dims[i % in.size()] += p;
  }
  if (ctx.HasInput(2)) {
    const FloatTensor* v;
    if (absl::Status st = ctx.RequireConstInput(2, "constant_value", &v); !st.ok()) return st;
    if (v->size() != 1) return ctx.Error("constant_value must be a scalar");
    a.value = v->data[0];
  }
  ctx.Emit(a, {ctx.Input(0)}, {dims});
  return absl::OkStatus();
}

absl::Status Resize(ImportContext& ctx) {
  using P = kernels::ResizeParams;
  ir::ResizeAttrs a;
  const std::string mode = ctx.AttrString("mode", "nearest");
  if (mode == "nearest") a.params.mode = P::kNearest;
  else if (mode == "linear") a.params.mode = P::kLinear;
  else return ctx.Error(absl::StrCat("mode '", mode, "' is not supported (nearest, linear)"));
  const std::string coord = ctx.AttrString("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel") a.params.coordinates = P::kHalfPixel;
  else if (coord == "asymmetric") a.params.coordinates = P::kAsymmetric;
  else if (coord == "align_corners") a.params.coordinates = P::kAlignCorners;
  else if (coord == "pytorch_half_pixel") a.params.coordinates = P::kPytorchHalfPixel;
  else return ctx.Error(absl::StrCat("coordinate_transformation_mode '", coord, "' is not supported"));
  const std::string rounding = ctx.AttrString("nearest_mode", "round_prefer_floor");
  if (rounding == "round_prefer_floor") a.params.rounding = P::kRoundPreferFloor;
  else if (rounding == "round_prefer_ceil") a.params.rounding = P::kRoundPreferCeil;
  else if (rounding == "floor") a.params.rounding = P::kFloor;
  else if (rounding == "ceil") a.params.rounding = P::kCeil;
  else return ctx.Error(absl::StrCat("nearest_mode '", rounding, "' is not supported"));
  if (ctx.AttrInt("exclude_outside", 0) != 0) return ctx.Error("exclude_outside is not supported");
  const auto& in = ctx.InputDims(0);
  std::vector<int64_t> out;
  if (ctx.HasInput(3)) {
    const FloatTensor* sizes;
    if (absl::Status st = ctx.RequireConstInput(3, "sizes", &sizes); !st.ok()) return st;
    if (sizes->size() != static_cast<int64_t>(in.size())) return ctx.Error("sizes must have one value per axis");
    for (size_t i = 0; i < in.size(); ++i) {
      out.push_back(static_cast<int64_t>(sizes->data[i]));
      a.params.scales.push_back(static_cast<float>(out[i]) / static_cast<float>(in[i]));
    }
  } else {
    const FloatTensor* scales;
    if (absl::Status st = ctx.RequireConstInput(2, "scales", &scales); !st.ok()) return st;
    if (scales->size() != static_cast<int64_t>(in.size())) return ctx.Error("scales must have one value per axis");
    for (size_t i = 0; i < in.size(); ++i) {
      a.params.scales.push_back(scales->data[i]);
      out.push_back(static_cast<int64_t>(std::floor(in[i] * scales->data[i])));
    }
  }
  for (int64_t d : out) if (d < 1) return ctx.Error("the output would be empty");
  ctx.Emit(a, {ctx.Input(0)}, {out});
  return absl::OkStatus();
}

}  // namespace

void RegisterShapeOps(OpTable& t) {
  t["Constant"] = Constant;
  t["Shape"] = Shape;
  t["ConstantOfShape"] = ConstantOfShape;
  t["Slice"] = Slice;
  t["Split"] = Split;
  t["Gather"] = Gather;
  t["Unsqueeze"] = Unsqueeze;
  t["Squeeze"] = Squeeze;
  t["Cast"] = Cast;
  t["Concat"] = Concat;
  t["Flatten"] = Flatten;
  t["Reshape"] = Reshape;
  t["Transpose"] = Transpose;
  t["Pad"] = Pad;
  t["Resize"] = Resize;
}

}  // namespace q46
