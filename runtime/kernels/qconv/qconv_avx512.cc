// AVX-512BW microkernels (compiled with -mavx512f -mavx512bw): the AVX2 methods on zmm, tiles sized for 32
// registers: 4 x 6 int16 accumulators, or 2 x 5 pairs of int32. No winograd tiles yet: the int16 two-by-two ones of
// this size spilled accumulators in their loop (kernel_registers).
#include "runtime/kernels/qconv/qconv_methods.h"

namespace q46::kernels::qconv {

std::vector<const Microkernel*> MicrokernelsAvx512() {
  static const Microkernel maddubs = MakeMicrokernel<MaddubsI16<simd::Zmm>, 4, 6>(
      "qconv_u8s8_maddubs_i16_avx512bw", Isa::kAvx512, &MaddubsFlushSteps,
      "qconv_u8s8_maddubs_i16_64x6_quadplanar_avx512bw", "qconv_u8s8_maddubs_i16_6x64_quadplanar_chlanes_avx512bw");
  static const Microkernel maddwd = MakeMicrokernel<MaddwdI32<simd::Zmm>, 2, 5>(
      "qconv_u8s8_maddwd_i32_avx512bw", Isa::kAvx512, &NeverFlush, "qconv_u8s8_maddwd_i32_32x5_quadplanar_avx512bw",
      nullptr);
  return {&maddubs, &maddwd};
}

}  // namespace q46::kernels::qconv
