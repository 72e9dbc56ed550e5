// Reduce: mean, max, min or sum of a float tensor over some of its axes (the reference kernel; reductions in
// CNNs are global pools over a small final map).
#include <algorithm>

#include "runtime/ops/op_factories.h"

namespace q46::rt {
namespace {

class ReduceOp final : public Op {
 public:
  ReduceOp(const OpBuilder& b, kernels::ReduceKind kind, std::vector<int64_t> axes)
      : x_(b.input_index(0)), y_(b.output_index(0)), xd_(DimsOf(b.input(0))), kind_(kind), axes_(std::move(axes)) {}
  void Run(const RunState& st) const override {
    kernels::ReduceF32Ref(kind_, static_cast<const float*>(st.buffers[x_]), xd_, axes_,
                          static_cast<float*>(st.buffers[y_]));
  }

 private:
  int x_, y_;
  kernels::Dims xd_;
  kernels::ReduceKind kind_;
  std::vector<int64_t> axes_;
};

}  // namespace

Status CreateReduceOp(const OpBuilder& b, std::unique_ptr<Op>* op) {
  Q46_RETURN_IF_ERROR(b.ExpectArity(1, 1, 1));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.input(0), plan::FLOAT32));
  Q46_RETURN_IF_ERROR(b.ExpectDtype(b.output(0), plan::FLOAT32));
  const plan::Reduce& p = b.node().reduce();
  if (p.kind() < plan::Reduce::MEAN || p.kind() > plan::Reduce::SUM)
    return b.Fail("unknown reduce kind " + std::to_string(p.kind()));
  const std::vector<int64_t> xd = DimsOf(b.input(0));
  if (xd.size() > kernels::kMaxReduceRank)
    return b.Fail("rank " + std::to_string(xd.size()) + " is above " + std::to_string(kernels::kMaxReduceRank));
  std::vector<int64_t> axes(p.axes().begin(), p.axes().end());
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end() ||
      (!axes.empty() && (axes.front() < 0 || axes.back() >= static_cast<int64_t>(xd.size()))))
    return b.Fail("axes must be distinct and within the input's rank");
  std::vector<int64_t> kept, squeezed;  // the output's dims with the reduced axes kept as 1, or dropped
  for (size_t a = 0; a < xd.size(); ++a) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(a));
    kept.push_back(reduced ? 1 : xd[a]);
    if (!reduced) squeezed.push_back(xd[a]);
  }
  const std::vector<int64_t> yd = DimsOf(b.output(0));
  if (yd != kept && yd != squeezed)
    return b.Fail("output dims " + DimsToString(yd) + " are neither " + DimsToString(kept) + " nor " +
                  DimsToString(squeezed));
  *op = std::make_unique<ReduceOp>(b, static_cast<kernels::ReduceKind>(p.kind()), std::move(axes));
  return Status();
}

}  // namespace q46::rt
