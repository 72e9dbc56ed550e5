// Float convolution and transposed convolution on oneDNN, for the runtime's float layers: one primitive per
// layer, weights reordered once at creation. Activations are plain NCHW at the interface so it composes with the
// other kernels.
// Semantics are those of ConvF32Ref / ConvTransposeF32Ref (runtime/kernels/ref/ref_kernels.h), which test it.
#pragma once

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels {

// The process's one CPU engine.
dnnl::engine& CpuEngine();

// A fused activation as oneDNN post-ops, where HasPostOps says oneDNN expresses it (none, clip, tanh, sigmoid);
// the other kinds give no post-op.
dnnl::post_ops ActivationPostOps(const FloatActivation& act);
bool HasPostOps(const FloatActivation& act);

// A oneDNN convolution or deconvolution (transposed) primitive with weights reordered once into oneDNN's
// preferred layout at creation; the caller's activations are plain NCHW (format_tag::nchw), reordered to and from
// the primitive's preferred layout around each run when it differs.
class OnednnConvF32 {
 public:
  // Weights and bias as in ConvF32Ref (transposed: ConvTransposeF32Ref); both are copied, bias may be null.
  // Returns nullptr with *why set when oneDNN cannot take this case (the caller falls back to the ref kernel).
  // Never throws. x_within / y_within, when given, are the NCHW tensors x and y are bands of (runs of whole rows
  // of each plane): the buffers a binding gets then have those tensors' plane and row strides.
  static std::unique_ptr<OnednnConvF32> Create(Dims4 xs, const float* w, const float* bias, const Window2d& win,
                                               int64_t groups, bool transposed, FloatActivation act, Dims4 ys,
                                               std::string* why, const Dims4* x_within = nullptr,
                                               const Dims4* y_within = nullptr);

  // Working memory a run needs besides x and y: the activations in the primitive's layout and oneDNN's
  // scratchpad (the caller's, so that runs never share one).
  size_t scratch_bytes() const;

  // The layer bound to one caller's buffers, which stay where they are for the binding's lifetime: x, y and
  // `scratch` (scratch_bytes(), any alignment). Everything a run needs is made here, so Run only executes the
  // prepared primitives. One binding serves one thread at a time; bindings of one layer may run concurrently.
  class Bound {
   public:
    // y = the layer applied to x (shapes as given to Create); returns when y is written.
    void Run(dnnl::stream& stream) const;

   private:
    friend class OnednnConvF32;
    struct Step {
      const dnnl::primitive* primitive;
      std::vector<dnnl_exec_arg_t> args;  // the C API's form, so that a run builds no argument container
    };
    std::vector<dnnl::memory> memories_;  // owns the handles in steps_' arguments
    std::vector<Step> steps_;
  };
  Bound Bind(const float* x, float* y, void* scratch) const;

  // oneDNN's name for the implementation it chose (e.g. "jit:avx2", "gemm:jit", "ref:any"), for logs.
  const std::string& Implementation() const { return impl_; }
  // Whether a primitive of this implementation created for any thread count computes the same bits: true for
  // oneDNN's direct JIT convolutions ("jit:", "jit_1x1:", ...), which split the work over outputs only; not for
  // brgemm- or gemm-based ones, which measurably differ on 8 threads (onednn_conv_test), nor the reference.
  bool ThreadCountInvariant() const;

 private:
  OnednnConvF32() = default;

  dnnl::primitive primitive_;
  dnnl::memory::desc x_md_, y_md_;          // plain NCHW (perhaps bands of larger tensors), as the caller's buffers
  dnnl::memory::desc x_run_md_, y_run_md_;  // the layouts the primitive runs on
  dnnl::reorder x_reorder_, y_reorder_;     // empty when the primitive runs on plain NCHW
  dnnl::memory::desc scratchpad_md_;  // user-mode scratchpad; each binding supplies its own
  dnnl::memory weights_;              // in the primitive's preferred layout
  dnnl::memory bias_;                 // empty when the layer has no bias
  std::string impl_;
};

}  // namespace q46::kernels
