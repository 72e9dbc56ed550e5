// AdaQuant, AdaRound and bias correction on a group's reconstruction objective (see rounding_search.h).
#include "passes/rounding_search.h"

#include <algorithm>
#include <cmath>

#include "passes/sgemm.h"

namespace q46 {
namespace {

// Loops with less work than this run on one thread (work: elements; in Error's loop, multiply-adds): forking for a
// depthwise layer's 10-element groups cost more than their work (20 s a MobileNetV2 layer).
constexpr int64_t kParallelMin = 1 << 14;

// Adam (Kingma and Ba) with a learning rate per row of a row-major out x cols parameter matrix.
class Adam {
 public:
  Adam(size_t size, int64_t cols) : m_(size, 0.0f), v_(size, 0.0f), cols_(cols) {}
  template <typename LearningRate>
  void Step(std::vector<float>* x, const std::vector<float>& grad, LearningRate lr) {
    ++t_;
    const double c1 = 1.0 - std::pow(kBeta1, t_), c2 = 1.0 - std::pow(kBeta2, t_);
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(x->size()) >= kParallelMin)
    for (size_t i = 0; i < x->size(); ++i) {
      m_[i] = static_cast<float>(kBeta1 * m_[i] + (1 - kBeta1) * grad[i]);
      v_[i] = static_cast<float>(kBeta2 * v_[i] + (1 - kBeta2) * grad[i] * grad[i]);
      const double step = lr(static_cast<int64_t>(i) / cols_, static_cast<int64_t>(i) % cols_) * (m_[i] / c1) /
                          (std::sqrt(v_[i] / c2) + kEpsilon);
      (*x)[i] -= static_cast<float>(step);
    }
  }

 private:
  static constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEpsilon = 1e-12;
  std::vector<float> m_, v_;
  int64_t cols_;
  int t_ = 0;
};

// [W b] (out x K') with each weight at the code nearest to the float one.
std::vector<float> NearestWeights(const GroupWeights& s) {
  std::vector<float> w(static_cast<size_t>(s.out * (s.k + 1)));
  for (int64_t c = 0; c < s.out; ++c) {
    for (int64_t j = 0; j < s.k; ++j)
      w[c * (s.k + 1) + j] =
          static_cast<float>(arith::Clamp(arith::RoundToInt(s.w[c * s.k + j] / s.scale[c]), s.codes)) * s.scale[c];
    w[c * (s.k + 1) + s.k] = s.bias[c];
  }
  return w;
}

// Codes and bias of a [Wq b] whose weights are on the code grid.
void ReadCodes(const GroupWeights& s, const std::vector<float>& w, RoundingResult* r) {
  r->codes.resize(static_cast<size_t>(s.out * s.k));
  r->bias.resize(static_cast<size_t>(s.out));
  for (int64_t c = 0; c < s.out; ++c) {
    for (int64_t j = 0; j < s.k; ++j)
      r->codes[c * s.k + j] = arith::Clamp(arith::RoundToInt(w[c * (s.k + 1) + j] / s.scale[c]), s.codes);
    r->bias[c] = w[c * (s.k + 1) + s.k];
  }
}

// AdaQuant: the variables are the float weights and bias plus corrections; the forward pass rounds them to the
// nearest code and the gradient passes straight through the rounding (zero where the code is clamped). The
// best hard-rounded point seen (by the error the gradient computes alongside) is kept.
std::vector<float> AdaQuant(const ReconstructionObjective& f, const GroupWeights& s, const RoundingOptions& o,
                            int* steps) {
  const int64_t kp = s.k + 1;
  const double alpha = o.learning_rate > 0 ? o.learning_rate : 1e-2;
  std::vector<float> x(static_cast<size_t>(s.out * kp)), rms(static_cast<size_t>(s.out));
  for (int64_t c = 0; c < s.out; ++c) {
    std::copy_n(s.w.begin() + c * s.k, s.k, x.begin() + c * kp);
    x[c * kp + s.k] = s.bias[c];
    rms[c] = static_cast<float>(std::sqrt(f.gram().t[c] / std::max(1.0, f.gram().rows)));
  }
  // Weights move in units of their quantization step, biases in units of their channel's output RMS.
  auto lr = [&](int64_t c, int64_t j) { return alpha * (j < s.k ? s.scale[c] : rms[c]); };
  std::vector<float> hard = NearestWeights(s), best = hard, grad;
  GradientMemory memory;  // a step changes the few codes that cross a rounding boundary, and the biases
  double best_error = f.Gradient(hard, &grad, &memory);
  Adam adam(x.size(), kp);
  for (int step = 1; step <= o.steps; ++step) {
    for (int64_t c = 0; c < s.out; ++c) {
      for (int64_t j = 0; j < s.k; ++j) {
        const int32_t code = arith::RoundToInt(x[c * kp + j] / s.scale[c]);
        hard[c * kp + j] = static_cast<float>(arith::Clamp(code, s.codes)) * s.scale[c];
      }
      hard[c * kp + s.k] = x[c * kp + s.k];
    }
    const double e = f.Gradient(hard, &grad, &memory);
    if (e < best_error) best_error = e, best = hard;
    for (int64_t c = 0; c < s.out; ++c)
      for (int64_t j = 0; j < s.k; ++j) {
        const int32_t code = arith::RoundToInt(x[c * kp + j] / s.scale[c]);
        if (code < s.codes.lo || code > s.codes.hi) grad[c * kp + j] = 0;
      }
    adam.Step(&x, grad, lr);
    *steps = step;
  }
  return best;
}

// AdaRound: each weight is floor(w / s) + h(V) with h a rectified sigmoid of a free variable V; the
// reconstruction error (relative to nearest rounding's) plus lambda * mean(1 - |2h - 1|^beta) is minimised with
// Adam, beta annealed from 20 to 2 after a 20% warm-up without the regulariser, so h ends at 0 or 1. The bias is
// kept at its optimum for the current weights at every step.
std::vector<float> AdaRound(const ReconstructionObjective& f, const GroupWeights& s, const RoundingOptions& o,
                            int* steps) {
  constexpr double kLambda = 0.01;
  constexpr float kZeta = 1.1f, kGamma = -0.1f;
  constexpr double kWarmup = 0.2, kBetaStart = 20, kBetaEnd = 2;
  const int64_t kp = s.k + 1, n = s.out * s.k;
  const double lr = o.learning_rate > 0 ? o.learning_rate : 1e-2;
  std::vector<float> base(static_cast<size_t>(n)), v(static_cast<size_t>(n)), raw(static_cast<size_t>(n)),
      dw_dv(static_cast<size_t>(n)), grad_v(static_cast<size_t>(n)), w(static_cast<size_t>(s.out * kp)), grad;
  for (int64_t c = 0; c < s.out; ++c)
    for (int64_t j = 0; j < s.k; ++j) {
      const double u = s.w[c * s.k + j] / s.scale[c], fl = std::floor(u);
      const double frac = std::clamp(u - fl, 0.01, 0.99);  // h(V) = frac at the start
      base[c * s.k + j] = static_cast<float>(fl);
      v[c * s.k + j] = static_cast<float>(-std::log((kZeta - kGamma) / (frac - kGamma) - 1));
    }
  // The relaxed (or, finally, hard) weights for the current V, with dW/dV where the relaxation is not clamped.
  auto set_weights = [&](bool hard) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t c = 0; c < s.out; ++c)
      for (int64_t j = 0; j < s.k; ++j) {
        const int64_t i = c * s.k + j;
        const float sig = 1.0f / (1.0f + std::exp(-v[i]));
        raw[i] = sig * (kZeta - kGamma) + kGamma;
        const float h = hard ? (v[i] >= 0 ? 1.0f : 0.0f) : std::clamp(raw[i], 0.0f, 1.0f);
        const float code = base[i] + h;
        w[c * kp + j] = std::clamp<float>(code, static_cast<float>(s.codes.lo), static_cast<float>(s.codes.hi)) * s.scale[c];
        const bool live = raw[i] > 0 && raw[i] < 1 && code > static_cast<float>(s.codes.lo) &&
                          code < static_cast<float>(s.codes.hi);
        dw_dv[i] = live ? s.scale[c] * sig * (1 - sig) * (kZeta - kGamma) : 0.0f;
      }
    f.SetOptimalBias(&w);
  };
  const double e0 = std::max(f.Error(NearestWeights(s)), 1e-30);
  Adam adam(v.size(), s.k);
  const int warmup = static_cast<int>(kWarmup * o.steps);
  for (int step = 1; step <= o.steps; ++step) {
    set_weights(false);
    f.Gradient(w, &grad);
    const bool regularise = step > warmup;
    const float beta = static_cast<float>(
        kBetaEnd + (kBetaStart - kBetaEnd) * (1 - static_cast<double>(step - warmup) / std::max(1, o.steps - warmup)));
    const float reg_weight = static_cast<float>(kLambda / static_cast<double>(n)), inv_e0 = static_cast<float>(1 / e0);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t c = 0; c < s.out; ++c)
      for (int64_t j = 0; j < s.k; ++j) {
        const int64_t i = c * s.k + j;
        float g = grad[c * kp + j] * inv_e0 * dw_dv[i];
        if (regularise && raw[i] > 0 && raw[i] < 1) {
          const float d = 2 * raw[i] - 1;  // d/dh of 1 - |2h - 1|^beta, times dh/dV
          const float dreg = -beta * std::pow(std::fabs(d), beta - 1) * (d > 0 ? 2.0f : -2.0f);
          g += reg_weight * dreg * dw_dv[i] / s.scale[c];
        }
        grad_v[i] = g;
      }
    adam.Step(&v, grad_v, [&](int64_t, int64_t) { return lr; });
    *steps = step;
  }
  set_weights(true);
  return w;
}

}  // namespace

ReconstructionObjective::ReconstructionObjective(const LayerGram& gram) : gram_(gram) {
  h_.assign(gram.h.begin(), gram.h.end());
  mt_.resize(static_cast<size_t>(gram.out * gram.k));
  for (int64_t i = 0; i < gram.k; ++i)
    for (int64_t c = 0; c < gram.out; ++c) mt_[c * gram.k + i] = static_cast<float>(gram.m[i * gram.out + c]);
}

double ReconstructionObjective::Error(const std::vector<float>& w) const {
  const int64_t kp = gram_.k, out = gram_.out;
  // Per channel, then summed in order: an OpenMP reduction would add the threads' parts in a thread-count order.
  std::vector<double> per_channel(static_cast<size_t>(out));
#pragma omp parallel for schedule(static) if (out * kp * kp >= kParallelMin)
  for (int64_t c = 0; c < out; ++c) {
    const float* wc = w.data() + c * kp;
    double quad = 0, lin = 0;
    for (int64_t i = 0; i < kp; ++i) {
      const double* hi = gram_.h.data() + i * kp;
      double row = 0;
      for (int64_t j = 0; j < kp; ++j) row += hi[j] * wc[j];
      quad += wc[i] * row;
      lin += wc[i] * gram_.m[i * out + c];
    }
    per_channel[c] = quad - 2 * lin + gram_.t[c];
  }
  double total = 0;
  for (double e : per_channel) total += e;
  return std::max(0.0, total) / (std::max(1.0, gram_.rows) * static_cast<double>(out));
}

void ReconstructionObjective::UpdateProduct(const std::vector<float>& w, GradientMemory* memory) const {
  const int64_t kp = gram_.k, out = gram_.out;
  // An update reads a row of H per changed entry, from memory, where sgemm reuses what it reads: taken as 16 times
  // the cost per multiply-add (an estimate, not fitted; rows of a ResNet-18 layer4 H: 18 KB each, 85 MB in all).
  constexpr int64_t kUpdateCost = 16;
  std::vector<int64_t> changed;
  bool whole = memory->product.size() != w.size() || ++memory->updates >= kWholeEvery;
  for (size_t i = 0; i < w.size() && !whole; ++i) {
    if (w[i] == memory->w[i]) continue;
    changed.push_back(static_cast<int64_t>(i));
    whole = static_cast<int64_t>(changed.size()) * kUpdateCost > out * kp;
  }
  memory->product.resize(w.size());
  if (whole) {
    Sgemm('N', 'N', out, kp, kp, w.data(), kp, h_.data(), kp, memory->product.data(), kp);
    memory->updates = 0;
  } else {
    // Each output channel's row takes its changed entries in order (deterministic on any thread count).
    std::vector<size_t> row_start(static_cast<size_t>(out + 1), changed.size());
    for (size_t n = changed.size(); n-- > 0;) row_start[static_cast<size_t>(changed[n] / kp)] = n;
    for (int64_t c = out - 1; c >= 0; --c) row_start[c] = std::min(row_start[c], row_start[c + 1]);
#pragma omp parallel for schedule(dynamic, 4) if (static_cast<int64_t>(changed.size()) * kp >= kParallelMin)
    for (int64_t c = 0; c < out; ++c) {
      float* p = memory->product.data() + c * kp;
      for (size_t n = row_start[c]; n < row_start[c + 1]; ++n) {
        const int64_t j = changed[n] - c * kp;
        const float delta = w[changed[n]] - memory->w[changed[n]];
        const float* h = h_.data() + j * kp;
        for (int64_t t = 0; t < kp; ++t) p[t] += delta * h[t];
      }
    }
  }
  memory->w = w;
}

double ReconstructionObjective::Gradient(const std::vector<float>& w, std::vector<float>* grad,
                                         GradientMemory* memory) const {
  const int64_t kp = gram_.k, out = gram_.out;
  GradientMemory first_call;  // without memory the product is computed whole
  if (memory == nullptr) memory = &first_call;
  UpdateProduct(w, memory);
  *grad = memory->product;  // P = W' H
  const double norm = std::max(1.0, gram_.rows) * static_cast<double>(out);
  const float scale = static_cast<float>(2.0 / norm);
  double error = 0;
  for (int64_t c = 0; c < out; ++c) {
    double e = gram_.t[c];
    for (int64_t j = 0; j < kp; ++j) {
      const size_t i = static_cast<size_t>(c * kp + j);
      e += static_cast<double>(w[i]) * ((*grad)[i] - 2.0 * mt_[i]);  // w P w^T - 2 w m
      (*grad)[i] = scale * ((*grad)[i] - mt_[i]);
    }
    error += e;
  }
  return std::max(0.0, error) / norm;
}

void ReconstructionObjective::SetOptimalBias(std::vector<float>* w) const {
  const int64_t kp = gram_.k, k = kp - 1, out = gram_.out;
  const double rows = gram_.h[k * kp + k];
  if (rows <= 0) return;
  for (int64_t c = 0; c < out; ++c) {
    double sum = gram_.m[k * out + c];  // sum of targets
    for (int64_t j = 0; j < k; ++j)
      sum -= static_cast<double>((*w)[c * kp + j]) *
             (gram_.deployed_sum.empty() ? gram_.h[j * kp + k] : gram_.deployed_sum[static_cast<size_t>(j)]);
    (*w)[c * kp + k] = static_cast<float>(sum / rows);
  }
}

RoundingResult SearchRounding(const ReconstructionObjective& f, const GroupWeights& s, const RoundingOptions& o) {
  RoundingResult r;
  std::vector<float> w = NearestWeights(s);
  r.error_nearest = f.Error(w);
  double energy = 0;
  for (double t : f.gram().t) energy += t;
  r.target_energy = energy / (std::max(1.0, f.gram().rows) * static_cast<double>(s.out));
  if (o.bias_correction) f.SetOptimalBias(&w);
  r.error = f.Error(w);
  if (o.method == "adaquant" || o.method == "adaround") {
    std::vector<float> searched = o.method == "adaquant" ? AdaQuant(f, s, o, &r.steps) : AdaRound(f, s, o, &r.steps);
    if (o.bias_correction) f.SetOptimalBias(&searched);
    // The search minimises E, but its last point can still lose to plain rounding on a tiny problem: keep the best.
    if (const double e = f.Error(searched); e < r.error) r.error = e, w = std::move(searched);
  }
  ReadCodes(s, w, &r);
  return r;
}

}  // namespace q46
