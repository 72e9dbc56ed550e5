// Elementwise ops: broadcasting binary arithmetic, unary activations, and the float <-> code conversions.
#include <algorithm>

#include "runtime/arith.h"
#include "runtime/kernels/fast/fast_kernels.h"
#include "runtime/kernels/parallel_for.h"
#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

using kernels::Dims;
using kernels::FloatActivation;

// Elements per thread below which an elementwise op stays on one thread (its work is then a few microseconds).
constexpr int64_t kGrain = 1 << 16;

class BinaryOp final : public Op {
 public:
  BinaryOp(const OpBuilder& b, kernels::BinaryKind kind, FloatActivation act)
      : a_(b.input_index(0)), b_(b.input_index(1)), y_(b.output_index(0)), kind_(kind),
        ad_(DimsOf(b.input(0))), bd_(DimsOf(b.input(1))), yd_(DimsOf(b.output(0))), act_(act),
        flat_(ad_ == yd_ && bd_ == yd_), blocks_(kernels::FindBlockBroadcast(ad_, bd_, yd_)),
        n_(NumElements(b.output(0))) {}
  void Run(const RunState& st) const override {
    const auto* a = static_cast<const float*>(st.buffers[a_]);
    const auto* b = static_cast<const float*>(st.buffers[b_]);
    auto* y = static_cast<float*>(st.buffers[y_]);
    if (flat_) {
      kernels::ParallelRanges(n_, kGrain, st.threads, [&](int64_t begin, int64_t end) {
        kernels::BinaryFlat(kind_, a + begin, b + begin, end - begin, act_, y + begin);
      });
    } else if (blocks_) {
      const int64_t count = static_cast<int64_t>(blocks_->offsets.size());
      kernels::ParallelRanges(count, std::max<int64_t>(1, kGrain / blocks_->block), st.threads,
                              [&](int64_t begin, int64_t end) {
                                kernels::BinaryBlocks(kind_, *blocks_, a, b, begin, end, act_, y);
                              });
    } else {
      kernels::BinaryF32Ref(kind_, a, ad_, b, bd_, act_, y, yd_);
    }
  }
  std::string implementation() const override { return flat_ ? "flat" : blocks_ ? "blocks" : "ref"; }

 private:
  int a_, b_, y_;
  kernels::BinaryKind kind_;
  Dims ad_, bd_, yd_;
  FloatActivation act_;
  bool flat_;  // same shapes: no broadcasting
  std::optional<kernels::BlockBroadcast> blocks_;  // one operand constant over trailing dims
  int64_t n_;
};

class UnaryOp final : public Op {
 public:
  UnaryOp(const OpBuilder& b, FloatActivation act)
      : x_(b.input_index(0)), y_(b.output_index(0)), n_(NumElements(b.input(0))), act_(act) {}
  void Run(const RunState& st) const override {
    const auto* x = static_cast<const float*>(st.buffers[x_]);
    auto* y = static_cast<float*>(st.buffers[y_]);
    kernels::ParallelRanges(n_, kGrain, st.threads, [&](int64_t begin, int64_t end) {
      kernels::UnaryFlat(x + begin, end - begin, act_, y + begin);
    });
  }
  std::string implementation() const override { return "flat"; }

 private:
  int x_, y_;
  int64_t n_;
  FloatActivation act_;
};

class QuantizeOp final : public Op {
 public:
  explicit QuantizeOp(const OpBuilder& b)
      : x_(b.input_index(0)), y_(b.output_index(0)), n_(NumElements(b.input(0))), q_(b.output(0).quant()) {}
  void Run(const RunState& st) const override {
    const auto* x = static_cast<const float*>(st.buffers[x_]);
    auto* y = static_cast<uint8_t*>(st.buffers[y_]);
    const arith::CodeRange range = arith::ActivationCodes(q_.levels());
    kernels::ParallelRanges(n_, kGrain, st.threads, [&](int64_t begin, int64_t end) {
      kernels::QuantizeRow(x + begin, end - begin, q_.scale(), q_.zero_point(), range.lo, range.hi, y + begin);
    });
  }

 private:
  int x_, y_;
  int64_t n_;
  plan::ActivationQuant q_;
};

class DequantizeOp final : public Op {
 public:
  explicit DequantizeOp(const OpBuilder& b)
      : x_(b.input_index(0)), y_(b.output_index(0)), n_(NumElements(b.input(0))), q_(b.input(0).quant()) {}
  void Run(const RunState& st) const override {
    const auto* x = static_cast<const uint8_t*>(st.buffers[x_]);
    auto* y = static_cast<float*>(st.buffers[y_]);
    for (int64_t i = 0; i < n_; ++i) y[i] = arith::Dequantize(x[i], q_.scale(), q_.zero_point());
  }

 private:
  int x_, y_;
  int64_t n_;
  plan::ActivationQuant q_;
};

Status ExpectSameDims(const OpBuilder& b) {
  return b.ExpectDims(b.output(0), DimsOf(b.input(0)));
}

}  // namespace

Status CreateBinaryOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  const plan::Binary& p = b.node().binary();
  Q46_RETURN_IF_ERROR(b.ExpectArity(2, 2, 1));
  for (int i = 0; i < 2; ++i) Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(i), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  Dims yd;
  if (!BroadcastDims(DimsOf(b.input(0)), DimsOf(b.input(1)), &yd))
    return b.Fail("dims " + DimsToString(DimsOf(b.input(0))) + " and " + DimsToString(DimsOf(b.input(1))) +
                  " do not broadcast");
  Q46_RETURN_IF_ERROR(b.ExpectDims(b.output(0), yd));
  if (p.kind() < plan::Binary::ADD || p.kind() > plan::Binary::PRELU)
    return b.Fail("unknown binary kind " + std::to_string(p.kind()));
  FloatActivation act;
  Q46_RETURN_IF_ERROR(b.ToActivation(p.activation(), &act));
  *op = std::make_unique<BinaryOp>(b, static_cast<kernels::BinaryKind>(p.kind()), act);
  return Status();
}

Status CreateUnaryOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(ExpectSameDims(b));
  FloatActivation act;
  Q46_RETURN_IF_ERROR(b.ToActivation(b.node().unary().activation(), &act));
  *op = std::make_unique<UnaryOp>(b, act);
  return Status();
}

Status CreateQuantizeOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::UINT8_CODES));
  Q46_RETURN_IF_ERROR(ExpectSameDims(b));
  *op = std::make_unique<QuantizeOp>(b);
  return Status();
}

Status CreateDequantizeOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::UINT8_CODES));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(ExpectSameDims(b));
  *op = std::make_unique<DequantizeOp>(b);
  return Status();
}

}  // namespace q46::rt
