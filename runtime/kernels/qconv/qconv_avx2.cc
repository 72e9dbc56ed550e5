// AVX2 microkernels (compiled with -mavx2): 4.6-bit and 4-bit through int16 accumulation, exact 8-bit through
// vpmaddwd. The tiles are sized for 16 ymm registers: 2 x 6 int16 accumulators (with two input vectors, a
// broadcast and a product: all 16; they ran ResNet-18's 3x3 layers 7-15% faster than 2 x 5 on a Zen 3), or 1 x 5
// pairs of int32. The int16 method also has winograd tiles (winograd.h), along rows and two by two.
#include "runtime/kernels/qconv/qconv_methods.h"

namespace q46::kernels::qconv {

std::vector<const Microkernel*> MicrokernelsAvx2() {
  static const Microkernel maddubs = MakeMicrokernelWithWinograd<MaddubsI16<simd::Ymm>, 2, 6>(
      "qconv_u8s8_maddubs_i16_avx2", Isa::kAvx2, &MaddubsFlushSteps, "qconv_u8s8_maddubs_i16_16x6_quadplanar_avx2",
      "qconv_u8s8_maddubs_i16_6x16_quadplanar_chlanes_avx2",
      {"qconv_u8s8_maddubs_i16_16x6_winograd2x3_avx2", "qconv_u8s8_maddubs_i16_6x16_winograd2x3_chlanes_avx2",
       "qconv_u8s8_maddubs_i16_16x6_winograd2x2x3x3_avx2", "qconv_u8s8_maddubs_i16_6x16_winograd2x2x3x3_chlanes_avx2"});
  static const Microkernel maddwd = MakeMicrokernel<MaddwdI32<simd::Ymm>, 1, 5>(
      "qconv_u8s8_maddwd_i32_avx2", Isa::kAvx2, &NeverFlush, "qconv_u8s8_maddwd_i32_8x5_quadplanar_avx2", nullptr);
  return {&maddubs, &maddwd};
}

}  // namespace q46::kernels::qconv
