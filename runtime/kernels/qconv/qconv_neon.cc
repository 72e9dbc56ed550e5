// ARM NEON microkernel (ARMv8.0, no SDOT): centered codes multiplied in 8 bits and added in pairs into int16,
// for every pair with h_x * h_w <= 127 (4.6-bit, 4-bit); 4 x 5 int16 accumulators of 32 q registers, plus the
// input vectors, one weight register, the center and a product (4 x 6 spills). 8-bit layers fall back to the
// reference kernel. Compiled with clang (test/cross/neon_qemu_test.sh): GCC 12 spills even the 4 x 4 tiles.
#include "runtime/kernels/qconv/qconv_methods.h"

namespace q46::kernels::qconv {

std::vector<const Microkernel*> MicrokernelsNeon() {
  static const Microkernel mulpadal = MakeMicrokernel<MulPadalNeon, 4, 5>(
      "qconv_s8s8_mulpadal_i16_neon", Isa::kNeon, &NeonFlushSteps, "qconv_s8s8_mulpadal_i16_16x5_quadplanar_neon",
      "qconv_s8s8_mulpadal_i16_5x16_quadplanar_chlanes_neon");
  return {&mulpadal};
}

}  // namespace q46::kernels::qconv
