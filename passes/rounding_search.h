// Choosing a quantized layer's weight codes and bias to reproduce the float layer on calibration data: the
// search behind --calib-method. Works on one group of a layer at a time, from its LayerGram, with the weight
// scales and code range already fixed; every rounding goes through runtime/arith.h.
//   none      nearest rounding (the starting point of the others)
//   adaquant  AdaQuant: Adam on additive weight and bias corrections, rounding to nearest in the forward pass,
//             straight-through gradient (Hubara et al., 2020)
//   adaround  AdaRound: learned up/down rounding, a rectified-sigmoid relaxation annealed to hard decisions by a
//             regulariser, the bias solved exactly at every step (Nagel et al., 2020)
// With bias correction the bias is finally set to its least-squares optimum for the chosen codes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "passes/layer_gram.h"
#include "runtime/arith.h"

namespace q46 {

// What Gradient keeps between calls at points that differ in few entries (AdaQuant's rounded weights: a few
// codes flip per step and the bias column moves): the last point and its product W' H. One memory serves one
// objective: handed to another of the same size, it would give that one the first's product.
struct GradientMemory {
  std::vector<float> w, product;
  int updates = 0;  // since the product was last computed whole
};

// The mean squared error per output element of a group's pre-activation output, as a function of its weights
// and bias W' = [Wq bq] (out x K'): E = (tr(W' H W'^T) - 2 tr(W' M) + sum t) / (R * out).
class ReconstructionObjective {
 public:
  explicit ReconstructionObjective(const LayerGram& gram);
  const LayerGram& gram() const { return gram_; }
  // E, accumulated in double.
  double Error(const std::vector<float>& w) const;
  // dE/dW' (out x K'), in float through sgemm; returns E computed alongside in float (cheap, but less exact
  // than Error where E is tiny beside the target's energy). With `memory`, W' H is updated from the last call's
  // by the rows of H the changed entries read, where that is cheaper than the whole product, and recomputed whole
  // every kWholeEvery calls so that float rounding cannot build up.
  double Gradient(const std::vector<float>& w, std::vector<float>* grad, GradientMemory* memory = nullptr) const;
  static constexpr int kWholeEvery = 32;
  // Sets each channel's bias (the last column of w) to the value minimising E for its weights; with a QDrop
  // gram, the error on the deployed (fully quantized) input, so the whole mean shift is corrected.
  void SetOptimalBias(std::vector<float>* w) const;

 private:
  // memory->product = w H, whole or updated.
  void UpdateProduct(const std::vector<float>& w, GradientMemory* memory) const;

  const LayerGram& gram_;
  std::vector<float> h_;   // H, K' x K'
  std::vector<float> mt_;  // M^T, out x K'
};

// One group's starting point: float weights and bias, fixed weight scales, the code range.
struct GroupWeights {
  int64_t out = 0, k = 0;     // channels, weights per channel (K)
  std::vector<float> w;       // out x K float weights
  std::vector<float> bias;    // out
  std::vector<float> scale;   // out weight scales
  arith::CodeRange codes{};
};

struct RoundingOptions {
  std::string method = "adaquant";  // none | adaquant | adaround
  int steps = 500;                  // optimisation steps
  double learning_rate = 0;         // 0: the method's default
  bool bias_correction = true;
};

struct RoundingResult {
  std::vector<int32_t> codes;  // out x K
  std::vector<float> bias;     // out (float; the caller quantizes it)
  double error_nearest = 0;    // E with nearest rounding and the float bias
  double error = 0;            // E of the result
  double target_energy = 0;    // mean squared target, for relative figures
  int steps = 0;               // steps taken
};

RoundingResult SearchRounding(const ReconstructionObjective& objective, const GroupWeights& start,
                              const RoundingOptions& options);

}  // namespace q46
