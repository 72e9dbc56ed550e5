// Receptive-field sampling and Gram accumulation (see layer_gram.h).
#include "passes/layer_gram.h"

#include <algorithm>
#include <random>

#include "passes/sgemm.h"

namespace q46 {
namespace {

constexpr int64_t kChunkFloats = int64_t{1} << 22;  // rows are buffered up to this many floats, all groups together

}  // namespace

ConvGeometry ConvGeometry::Of(const ir::Graph& g, const ir::Node& n) {
  const auto& c = std::get<ir::ConvAttrs>(n.attrs);
  const std::vector<int64_t>& x = g.values[n.inputs[0]].dims;
  const std::vector<int64_t>& y = g.values[n.outputs[0]].dims;
  ConvGeometry geo;
  geo.in_c = x[1];
  geo.out_c = y[1];
  if (x.size() == 4) geo.in_h = x[2], geo.in_w = x[3], geo.out_h = y[2], geo.out_w = y[3];
  geo.groups = c.groups;
  geo.window = c.window;
  return geo;
}

GramBuilder::GramBuilder(const ConvGeometry& geometry, const std::vector<float>& weights,
                         const std::vector<float>& bias, float in_scale, int32_t in_zero_point, int32_t nx,
                         double drop, int64_t rows_per_sample, uint64_t seed)
    : geo_(geometry), in_scale_(in_scale), in_zero_point_(in_zero_point), nx_(nx), drop_(drop), seed_(seed) {
  const int64_t k = geo_.FieldSize(), kp = k + 1, out_g = geo_.out_c / geo_.groups;
  rows_per_sample_ = std::clamp<int64_t>(rows_per_sample, 1, geo_.out_h * geo_.out_w);
  // A flush multiplies the buffered rows of each group; the buffers of a depthwise layer's hundreds of groups
  // share the chunk (each its own chunk took 18 GB on a MobileNetV2 layer).
  capacity_ = std::max<int64_t>(1, kChunkFloats / (kp * geo_.groups));
  for (int64_t g = 0; g < geo_.groups; ++g) {
    std::vector<float> w(static_cast<size_t>(out_g * kp));
    for (int64_t o = 0; o < out_g; ++o) {
      std::copy_n(weights.begin() + (g * out_g + o) * k, k, w.begin() + o * kp);
      w[o * kp + k] = bias.empty() ? 0.0f : bias[g * out_g + o];
    }
    group_weights_.push_back(std::move(w));
    q_rows_.emplace_back(static_cast<size_t>(capacity_ * kp));
    f_rows_.emplace_back(static_cast<size_t>(capacity_ * kp));
    if (drop_ > 0)
      drop_sums_.push_back({std::vector<double>(static_cast<size_t>(kp)), std::vector<double>(static_cast<size_t>(kp))});
    LayerGram gram;
    gram.k = kp;
    gram.out = out_g;
    gram.h.assign(static_cast<size_t>(kp * kp), 0.0);
    gram.m.assign(static_cast<size_t>(kp * out_g), 0.0);
    gram.t.assign(static_cast<size_t>(out_g), 0.0);
    grams_.push_back(std::move(gram));
  }
  positions_.resize(static_cast<size_t>(geo_.out_h * geo_.out_w));
}

void GramBuilder::FillRow(const float* x, double keep, int64_t group, int64_t oy, int64_t ox, float* row,
                          DropSums* sums) const {
  const ir::Window2d& w = geo_.window;
  const int64_t cin_g = geo_.in_c / geo_.groups;
  const arith::CodeRange codes = arith::ActivationCodes(nx_);
  float* out = row;
  for (int64_t ic = 0; ic < cin_g; ++ic) {
    const float* plane = x + (group * cin_g + ic) * geo_.in_h * geo_.in_w;
    for (int64_t ky = 0; ky < w.kh; ++ky) {
      const int64_t iy = oy * w.sh - w.pad_t + ky * w.dh;
      for (int64_t kx = 0; kx < w.kw; ++kx) {
        const int64_t ix = ox * w.sw - w.pad_l + kx * w.dw;
        float v = 0;  // padding: real 0, centered code 0
        if (iy >= 0 && iy < geo_.in_h && ix >= 0 && ix < geo_.in_w) {
          const float u = plane[iy * geo_.in_w + ix];
          v = u;
          if (keep < 1) {
            const float q =
                arith::Dequantize(arith::Quantize(u, in_scale_, in_zero_point_, codes), in_scale_, in_zero_point_);
            v = static_cast<float>((1 - keep) * q + keep * u);
            if (sums) {
              sums->noise[out - row] += keep * (1 - keep) * (double{q} - u) * (double{q} - u);
              sums->deployed[out - row] += q;
            }
          }
        }
        *out++ = v;
      }
    }
  }
  *out = 1.0f;
}

void GramBuilder::AddSample(int64_t sample_index, const float* xq, const float* xf) {
  // The first rows_per_sample_ entries of a seeded shuffle: the same positions whatever the batching.
  std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(sample_index));
  for (size_t i = 0; i < positions_.size(); ++i) positions_[i] = static_cast<int64_t>(i);
  for (int64_t i = 0; i < rows_per_sample_; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, static_cast<int64_t>(positions_.size()) - 1);
    std::swap(positions_[i], positions_[pick(rng)]);
  }
  const int64_t kp = geo_.FieldSize() + 1;
  for (int64_t i = 0; i < rows_per_sample_; ++i) {
    if (buffered_ == capacity_) Flush();
    const int64_t oy = positions_[i] / geo_.out_w, ox = positions_[i] % geo_.out_w;
    for (int64_t g = 0; g < geo_.groups; ++g) {
      FillRow(xq, drop_, g, oy, ox, q_rows_[g].data() + buffered_ * kp, drop_ > 0 ? &drop_sums_[g] : nullptr);
      FillRow(xf, 1.0, g, oy, ox, f_rows_[g].data() + buffered_ * kp, nullptr);
    }
    ++buffered_;
  }
}

void GramBuilder::Flush() {
  if (buffered_ == 0) return;
  const int64_t kp = geo_.FieldSize() + 1, out = grams_[0].out, r = buffered_;
  std::vector<float> y(static_cast<size_t>(r * out)), h(static_cast<size_t>(kp * kp)), m(static_cast<size_t>(kp * out));
  for (int64_t g = 0; g < geo_.groups; ++g) {
    const float* q = q_rows_[g].data();
    Sgemm('N', 'T', r, out, kp, f_rows_[g].data(), kp, group_weights_[g].data(), kp, y.data(), out);  // Y = F W'^T
    Sgemm('T', 'N', kp, kp, r, q, kp, q, kp, h.data(), kp);                                            // Q^T Q
    Sgemm('T', 'N', kp, out, r, q, kp, y.data(), out, m.data(), out);                                  // Q^T Y
    LayerGram& gram = grams_[g];
    for (size_t i = 0; i < h.size(); ++i) gram.h[i] += h[i];
    for (size_t i = 0; i < m.size(); ++i) gram.m[i] += m[i];
    for (int64_t row = 0; row < r; ++row)
      for (int64_t c = 0; c < out; ++c) gram.t[c] += static_cast<double>(y[row * out + c]) * y[row * out + c];
    gram.rows += static_cast<double>(r);
  }
  buffered_ = 0;
}

std::vector<LayerGram> GramBuilder::Finish() {
  Flush();
  const int64_t kp = geo_.FieldSize() + 1;
  for (size_t g = 0; g < grams_.size() && drop_ > 0; ++g) {
    for (int64_t j = 0; j < kp; ++j) grams_[g].h[j * kp + j] += drop_sums_[g].noise[j];
    grams_[g].deployed_sum.assign(drop_sums_[g].deployed.begin(), drop_sums_[g].deployed.end() - 1);
  }
  return std::move(grams_);
}

}  // namespace q46
