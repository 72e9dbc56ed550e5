// The statistics of one quantized layer's reconstruction problem, gathered from calibration samples.
//
// A row r is one output position of one sample. q_r is its receptive field in the quantized network (the input
// fake-quantized by the layer's own input quantization) and f_r the same field in the float network, each with
// a constant 1 appended for the bias (K' = K + 1 entries, K = in_channels / groups * kh * kw). The target is the
// float layer's pre-activation output y_r = [W b] f_r. For any candidate [Wq bq] of a group, over R rows,
//   sum_r ||[Wq bq] q_r - y_r||^2 = tr(Wq' H Wq'^T) - 2 tr(Wq' M) + sum_c t_c,
// with H = sum q q^T, M = sum q y^T and t_c = sum y_c^2. So the rounding search costs out * K'^2 per step
// whatever the number of rows. With a drop probability p (QDrop, Wei et al., 2022) each element of q_r keeps
// its unquantized value u with probability p, independently; the statistics are then the expectation over those
// drops: q_r becomes (1-p) Q(u) + p u and H gains the diagonal p (1-p) sum (Q(u) - u)^2. Rows are an even
// random sample of positions (seeded per sample index) so the accumulation stays cheap on large layers.
// Receptive fields are built here (im2col); products use passes/sgemm.h (oneDNN's, summed the same way on any
// thread count).
// Knows nothing about passes or plans: it reads activations handed to it.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir.h"
#include "runtime/arith.h"

namespace q46 {

struct LayerGram {
  int64_t k = 0;          // K' = K + 1
  int64_t out = 0;        // output channels of the group
  double rows = 0;        // R
  std::vector<double> h;  // K' x K'
  std::vector<double> m;  // K' x out
  std::vector<double> t;  // out
  // With a drop: sum over rows of the fully quantized field Q(u) (K), what the deployed layer sees, for the
  // bias correction; empty without a drop (then H's last column holds it).
  std::vector<double> deployed_sum;
};

// A convolution's geometry: input [C, H, W] per sample (a rank-2 input is [C, 1, 1]), window, groups, output.
struct ConvGeometry {
  int64_t in_c = 0, in_h = 1, in_w = 1;
  int64_t out_c = 0, out_h = 1, out_w = 1;
  int64_t groups = 1;
  ir::Window2d window;
  int64_t FieldSize() const { return in_c / groups * window.kh * window.kw; }
  // One fitting step's work over the layer, out x K'^2 (the Gram form's cost): how fits are budgeted.
  double FitStepWork() const {
    const double kp = static_cast<double>(FieldSize() + 1);
    return static_cast<double>(out_c) * kp * kp;
  }
  // Reads the geometry of convolution node n in g.
  static ConvGeometry Of(const ir::Graph& g, const ir::Node& n);
};

class GramBuilder {
 public:
  // weights: OIHW float weights of the float layer; bias: its bias (empty = none); in_scale / in_zero_point /
  // nx: the layer's input quantization (for q rows); drop: the QDrop probability (0: q rows fully quantized);
  // rows_per_sample: positions sampled from each sample.
  GramBuilder(const ConvGeometry& geometry, const std::vector<float>& weights, const std::vector<float>& bias,
              float in_scale, int32_t in_zero_point, int32_t nx, double drop, int64_t rows_per_sample,
              uint64_t seed);

  // One sample's layer input in the quantized and in the float network (C*H*W floats each).
  void AddSample(int64_t sample_index, const float* xq, const float* xf);
  // The statistics, one per group.
  std::vector<LayerGram> Finish();
  // Floats held by the row buffers of all groups together: 8 M at most, or 2 K' groups when even one row per
  // group is more (the buffers then hold one row each).
  int64_t RowBufferFloats() const { return 2 * capacity_ * (geo_.FieldSize() + 1) * geo_.groups; }

 private:
  // What a drop adds up per group: the diagonal keep (1-keep) (Q(u) - u)^2 for H, and Q(u) for deployed_sum.
  struct DropSums {
    std::vector<double> noise, deployed;  // K' each
  };
  // Fills `row` with the receptive field of x at (oy, ox), each element u replaced by (1-keep) Q(u) + keep u;
  // adds to `sums` when given.
  void FillRow(const float* x, double keep, int64_t group, int64_t oy, int64_t ox, float* row,
               DropSums* sums) const;
  void Flush();

  ConvGeometry geo_;
  std::vector<std::vector<float>> group_weights_;  // per group: out x K' ([W b])
  float in_scale_;
  int32_t in_zero_point_, nx_;
  double drop_;
  int64_t rows_per_sample_;
  uint64_t seed_;
  int64_t buffered_ = 0, capacity_ = 0;
  std::vector<std::vector<float>> q_rows_, f_rows_;  // per group: capacity_ x K'
  std::vector<DropSums> drop_sums_;                  // per group
  std::vector<LayerGram> grams_;
  std::vector<int64_t> positions_;
};

}  // namespace q46
