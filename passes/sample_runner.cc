// SampleRunner (see sample_runner.h).
#include "passes/sample_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace q46 {

absl::StatusOr<std::unique_ptr<SampleRunner>> SampleRunner::Create(const ir::Graph& g, const LowerOptions& options,
                                                                   const FloatTensor& samples) {
  if (g.inputs.size() != 1) return absl::UnimplementedError("calibration supports models with one input");
  const std::vector<int64_t>& in_dims = g.values[g.inputs[0]].dims;
  const std::vector<int64_t> sample_dims(in_dims.begin() + 1, in_dims.end());
  if (samples.dims.size() != in_dims.size() ||
      !std::equal(sample_dims.begin(), sample_dims.end(), samples.dims.begin() + 1))
    return absl::InvalidArgumentError(absl::StrCat("calibration samples are [", absl::StrJoin(samples.dims, ", "),
                                                   "] but the model input is [", absl::StrJoin(in_dims, ", "), "]"));
  absl::StatusOr<plan::Plan> plan = LowerToPlan(g, options);
  if (!plan.ok()) return plan.status();
  std::unique_ptr<SampleRunner> r(new SampleRunner(samples));
  if (rt::Status st = rt::Model::FromPlan(*std::move(plan), &r->model_); !st.ok())
    return absl::InternalError("plan for calibration: " + st.message());
  r->context_ = std::make_unique<rt::Context>(*r->model_);
  r->batch_ = in_dims[0];
  r->per_sample_ = FloatTensor::NumElements(sample_dims);
  r->input_.resize(static_cast<size_t>(r->batch_ * r->per_sample_));
  for (ir::ValueId v : g.outputs) r->output_sample_size_.push_back(FloatTensor::NumElements(g.values[v].dims) / r->batch_);
  return r;
}

bool SampleRunner::Next() {
  const int64_t total = samples_.dims[0];
  if (next_ >= total) return false;
  first_ = next_;
  count_ = std::min(batch_, total - first_);
  for (int64_t b = 0; b < batch_; ++b) {
    const int64_t src = first_ + b % count_;
    std::copy_n(samples_.data.begin() + src * per_sample_, per_sample_, input_.begin() + b * per_sample_);
  }
  // The input's size was checked against the model's in Create, so SetInput cannot fail.
  context_->SetInput(0, input_.data(), input_.size());
  context_->Run();
  next_ += count_;
  return true;
}

const float* SampleRunner::Output(size_t i) const {
  size_t unused;
  return context_->Output(i, &unused);
}

}  // namespace q46
