// Layout ops that move elements without arithmetic: Concat, Reshape, Pad, Slice (floats or codes), Transpose
// (floats).
#include <array>
#include <cstring>

#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

constexpr int kMaxConcatInputs = 64;

size_t ElementSize(const plan::Tensor& t) { return t.dtype() == plan::UINT8_CODES ? 1 : sizeof(float); }

class ConcatOp final : public Op {
 public:
  ConcatOp(const OpBuilder& b, int64_t outer, std::vector<int64_t> chunk_bytes)
      : y_(b.output_index(0)), outer_(outer), chunk_bytes_(std::move(chunk_bytes)) {
    for (int i = 0; i < b.num_inputs(); ++i) inputs_.push_back(b.input_index(i));
  }
  void Run(const RunState& st) const override {
    std::array<const void*, kMaxConcatInputs> pointers;
    for (size_t i = 0; i < inputs_.size(); ++i) pointers[i] = st.buffers[inputs_[i]];
    kernels::ConcatRef(pointers.data(), chunk_bytes_.data(), static_cast<int>(inputs_.size()), outer_,
                       st.buffers[y_]);
  }

 private:
  std::vector<int> inputs_;
  int y_;
  int64_t outer_;
  std::vector<int64_t> chunk_bytes_;
};

class CopyOp final : public Op {
 public:
  CopyOp(const OpBuilder& b, size_t bytes) : x_(b.input_index(0)), y_(b.output_index(0)), bytes_(bytes) {}
  void Run(const RunState& st) const override { std::memcpy(st.buffers[y_], st.buffers[x_], bytes_); }

 private:
  int x_, y_;
  size_t bytes_;
};

template <typename T>
class PadOp final : public Op {
 public:
  PadOp(const OpBuilder& b, std::vector<int64_t> pads, T value)
      : x_(b.input_index(0)), y_(b.output_index(0)), xd_(DimsOf(b.input(0))), yd_(DimsOf(b.output(0))),
        pads_(std::move(pads)), value_(value) {}
  void Run(const RunState& st) const override {
    kernels::PadRef(static_cast<const T*>(st.buffers[x_]), xd_, pads_, value_, static_cast<T*>(st.buffers[y_]), yd_);
  }

 private:
  int x_, y_;
  kernels::Dims xd_, yd_;
  std::vector<int64_t> pads_;
  T value_;
};

class TransposeOp final : public Op {
 public:
  TransposeOp(const OpBuilder& b, std::vector<int64_t> perm)
      : x_(b.input_index(0)), y_(b.output_index(0)), xd_(DimsOf(b.input(0))), perm_(std::move(perm)) {}
  void Run(const RunState& st) const override {
    kernels::TransposeF32Ref(static_cast<const float*>(st.buffers[x_]), xd_, perm_, static_cast<float*>(st.buffers[y_]));
  }

 private:
  int x_, y_;
  kernels::Dims xd_;
  std::vector<int64_t> perm_;
};

template <typename T>
class SliceOp final : public Op {
 public:
  SliceOp(const OpBuilder& b, std::vector<int64_t> starts, std::vector<int64_t> steps)
      : x_(b.input_index(0)), y_(b.output_index(0)), xd_(DimsOf(b.input(0))), yd_(DimsOf(b.output(0))),
        starts_(std::move(starts)), steps_(std::move(steps)) {}
  void Run(const RunState& st) const override {
    kernels::SliceRef(static_cast<const T*>(st.buffers[x_]), xd_, starts_, steps_, static_cast<T*>(st.buffers[y_]),
                      yd_);
  }

 private:
  int x_, y_;
  kernels::Dims xd_, yd_;
  std::vector<int64_t> starts_, steps_;
};

}  // namespace

Status CreateConcatOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, kMaxConcatInputs, 1));
  const plan::Tensor& y = b.output(0);
  const int64_t rank = y.dims_size();
  int64_t axis = b.node().concat().axis();
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return b.Fail("axis " + std::to_string(b.node().concat().axis()) + " out of range");
  int64_t outer = 1, inner = 1, axis_total = 0;
  for (int64_t i = 0; i < axis; ++i) outer *= y.dims(i);
  for (int64_t i = axis + 1; i < rank; ++i) inner *= y.dims(i);
  std::vector<int64_t> chunk_bytes;
  for (int i = 0; i < b.num_inputs(); ++i) {
    const plan::Tensor& x = b.input(i);
    Q46_RETURN_IF_ERROR(b.ExpectSameQuant(x, y));
    std::vector<int64_t> expect = DimsOf(y);
    if (x.dims_size() != rank) return b.Fail("input '" + x.name() + "' has another rank than the output");
    expect[axis] = x.dims(axis);
    Q46_RETURN_IF_ERROR(b.ExpectDims(x, expect));
    axis_total += x.dims(axis);
    chunk_bytes.push_back(x.dims(axis) * inner * static_cast<int64_t>(ElementSize(y)));
  }
  if (axis_total != y.dims(axis)) return b.Fail("input sizes along the axis do not add up to the output's");
  *op = std::make_unique<ConcatOp>(b, outer, std::move(chunk_bytes));
  return Status();
}

Status CreateReshapeOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectSameQuant(b.input(0), b.output(0)));
  if (NumElements(b.input(0)) != NumElements(b.output(0)))
    return b.Fail("cannot reshape " + DimsToString(DimsOf(b.input(0))) + " to " + DimsToString(DimsOf(b.output(0))));
  *op = std::make_unique<CopyOp>(b, NumElements(b.input(0)) * ElementSize(b.input(0)));
  return Status();
}

Status CreatePadOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectSameQuant(b.input(0), b.output(0)));
  const plan::Pad& p = b.node().pad();
  const plan::Tensor& x = b.input(0);
  const int rank = x.dims_size();
  if (p.pads_size() != 2 * rank) return b.Fail("needs " + std::to_string(2 * rank) + " pads");
  std::vector<int64_t> pads(p.pads().begin(), p.pads().end()), yd = DimsOf(x);
  for (int i = 0; i < rank; ++i) {
    if (pads[i] < 0 || pads[i + rank] < 0 || pads[i] > (1 << 16) || pads[i + rank] > (1 << 16))
      return b.Fail("pads must be between 0 and 65536");
    yd[i] += pads[i] + pads[i + rank];
  }
  Q46_RETURN_IF_ERROR(b.ExpectDims(b.output(0), yd));
  if (x.dtype() == plan::UINT8_CODES) {
    if (p.value() != 0.0f) return b.Fail("code tensors pad with their zero point only (value must be 0)");
    *op = std::make_unique<PadOp<uint8_t>>(b, std::move(pads), static_cast<uint8_t>(x.quant().zero_point()));
  } else {
    *op = std::make_unique<PadOp<float>>(b, std::move(pads), p.value());
  }
  return Status();
}

Status CreateTransposeOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  const plan::Tensor& x = b.input(0);
  std::vector<int64_t> perm(b.node().transpose().perm().begin(), b.node().transpose().perm().end());
  std::vector<int64_t> yd;
  std::vector<bool> used(x.dims_size(), false);
  if (static_cast<int>(perm.size()) != x.dims_size()) return b.Fail("perm does not match the rank");
  for (int64_t p : perm) {
    if (p < 0 || p >= x.dims_size() || used[p]) return b.Fail("perm is not a permutation");
    used[p] = true;
    yd.push_back(x.dims(static_cast<int>(p)));
  }
  Q46_RETURN_IF_ERROR(b.ExpectDims(b.output(0), yd));
  *op = std::make_unique<TransposeOp>(b, std::move(perm));
  return Status();
}

Status CreateSliceOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectSameQuant(b.input(0), b.output(0)));
  const plan::Slice& p = b.node().slice();
  const plan::Tensor &x = b.input(0), &y = b.output(0);
  const int rank = x.dims_size();
  if (rank < 1 || y.dims_size() != rank || p.starts_size() != rank || p.steps_size() != rank)
    return b.Fail("needs an input and output of the same rank >= 1 and a start and step per axis");
  for (int i = 0; i < rank; ++i) {
    const int64_t start = p.starts(i), step = p.steps(i), count = y.dims(i);
    // |step| <= size keeps every offset product in SliceRef below twice the element count; the last index read,
    // start + (count - 1) * step, is then checked without overflow.
    if (step == 0 || step < -x.dims(i) || step > x.dims(i) || count < 1 || count > x.dims(i) || start < 0 ||
        start >= x.dims(i) || (step > 0 ? (x.dims(i) - 1 - start) / step < count - 1 : start / -step < count - 1))
      return b.Fail("axis " + std::to_string(i) + ": start " + std::to_string(start) + ", step " +
                    std::to_string(step) + " and count " + std::to_string(count) + " leave the input of size " +
                    std::to_string(x.dims(i)));
  }
  std::vector<int64_t> starts(p.starts().begin(), p.starts().end()), steps(p.steps().begin(), p.steps().end());
  if (x.dtype() == plan::UINT8_CODES)
    *op = std::make_unique<SliceOp<uint8_t>>(b, std::move(starts), std::move(steps));
  else
    *op = std::make_unique<SliceOp<float>>(b, std::move(starts), std::move(steps));
  return Status();
}

}  // namespace q46::rt
