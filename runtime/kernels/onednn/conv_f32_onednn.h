// Float convolution and transposed convolution on oneDNN, for the runtime's float layers: one primitive per
// layer, weights reordered once at creation. Activations are plain NCHW at the interface so it composes with the
// other kernels.
// Semantics are those of ConvF32Ref / ConvTransposeF32Ref (runtime/kernels/ref/ref_kernels.h), which test it.
#pragma once

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {

// The process's one CPU engine.
dnnl::engine& CpuEngine();

// A oneDNN convolution or deconvolution (transposed) primitive with weights reordered once into oneDNN's
// preferred layout at creation; the caller's activations are plain NCHW (format_tag::nchw), reordered to and from
// the primitive's preferred layout around each run when it differs.
class OnednnConvF32 {
 public:
  // Weights and bias as in ConvF32Ref (transposed: ConvTransposeF32Ref); both are copied, bias may be null.
  // Returns nullptr with *why set when oneDNN cannot take this case (the caller falls back to the ref kernel).
  // Never throws.
  static std::unique_ptr<OnednnConvF32> Create(Dims4 xs, const float* w, const float* bias, const Window2d& win,
                                               int64_t groups, bool transposed, FloatActivation act, Dims4 ys,
                                               std::string* why);

  // y = the layer applied to x (shapes as given to Create); returns when y is written. Safe to call
  // concurrently from several threads, each with its own stream.
  void Run(const float* x, float* y, dnnl::stream& stream) const;

  // oneDNN's name for the implementation it chose (e.g. "jit:avx2", "gemm:jit", "ref:any"), for logs.
  const std::string& Implementation() const { return impl_; }

 private:
  OnednnConvF32() = default;

  dnnl::primitive primitive_;
  dnnl::memory::desc x_md_, y_md_;          // plain NCHW, as the caller's buffers
  dnnl::memory::desc x_run_md_, y_run_md_;  // the layouts the primitive runs on
  dnnl::reorder x_reorder_, y_reorder_;     // empty when the primitive runs on plain NCHW
  dnnl::memory::desc scratchpad_md_;  // user-mode scratchpad; each calling thread supplies its own
  dnnl::memory weights_;              // in the primitive's preferred layout
  dnnl::memory bias_;                 // empty when the layer has no bias
  std::string impl_;
};

}  // namespace q46::kernels
