// AVX-512 VNNI microkernel (compiled with -mavx512f -mavx512bw -mavx512vnni): vpdpbusd into int32, exact for
// every precision; 4 x 6 int32 accumulators of 32 zmm registers. Its winograd tiles (winograd.h) never widen; its
// two-by-two position tiles are 2 x 4, their sums combined in registers (Winograd2dRegisterTile).
#include "runtime/kernels/qconv/qconv_methods.h"

namespace q46::kernels::qconv {

std::vector<const Microkernel*> MicrokernelsVnni() {
  static const Microkernel dpbusd = MakeMicrokernelWithWinograd<DpbusdZmm, 4, 6, 2, 4>(
      "qconv_u8s8_dpbusd_i32_avx512vnni", Isa::kVnni, &NeverFlush, "qconv_u8s8_dpbusd_i32_64x6_quadplanar_avx512vnni",
      "qconv_u8s8_dpbusd_i32_6x64_quadplanar_chlanes_avx512vnni",
      {"qconv_u8s8_dpbusd_i32_64x6_winograd2x3_avx512vnni", "qconv_u8s8_dpbusd_i32_6x64_winograd2x3_chlanes_avx512vnni",
       "qconv_u8s8_dpbusd_i32_32x4_winograd2x2x3x3_avx512vnni",
       "qconv_u8s8_dpbusd_i32_6x64_winograd2x2x3x3_chlanes_avx512vnni"});
  return {&dpbusd};
}

}  // namespace q46::kernels::qconv
