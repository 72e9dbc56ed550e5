// The arithmetic of the integer Winograd layout (F(2, 3) along rows) for stride-1 convolutions whose kernel is 3
// columns wide: the input and weight transforms, the bound that makes int16 accumulation of transformed codes
// exact, and how the four transformed products combine into two outputs. The driver (qconv.cc) lays the transformed
// planes out; the tiles (qconv_methods.h, WinogradTile) multiply and combine. No intrinsics beyond SSE2.
//
// Two neighbouring outputs of one kernel row, y0 = w0 d0 + w1 d1 + w2 d2 and y1 = w0 d1 + w1 d2 + w2 d3, are
//   2 y0 = m0 + m1 + m2,   2 y1 = m1 - m2 - m3,   m_i = u_i v_i,
//   u = (2 w0, w0 + w1 + w2, w0 - w1 + w2, 2 w2),   v = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
// (Lavin and Gray's F(2, 3) with G doubled so that u is integral): 4 products for 2 outputs where direct
// convolution takes 6, exact in integers. Summed over input channels and kernel rows, each transform i is a
// reduction of its own (m_i), combined only at the end.
//
// Codes are unsigned bytes: v_0, v_2 and v_3 get max_code added (kOffsets), so every v lies in [0, 2 max_code]
// when the codes lie in [0, max_code]; adding and subtracting bytes modulo 256 then gives exact values. The
// offset's contribution, o_i times output channel c's sum of u_i (U_i[c]), is taken back through output j's bias:
//   corr_j[c] = -sum_i kCombine[j][i] * kOffsets[i] * max_code * U_i[c].
// The tile's int32 sums are then 2 (sum + bias) for bias' = 2 bias + corr_j, and the output stage multiplies by
// scale / 2: float(2 a) * (s / 2) == float(a) * s exactly (scaling by two commutes with rounding), so the codes
// are bit-exact with the direct convolution's.
//
// Bound (proof of WinogradFlushSteps): 0 <= v <= 2 max_code and |u| <= max_u, so one vpmaddubsw lane (two
// products) is at most B = 2 * 2 max_code * max_u <= 32767 (no saturation), and k steps sum to at most k * B:
// exact in int16 for floor(32767 / B) steps. At (23, 23): max_code 22, max_u <= 3 * 11 = 33, B <= 2904: 11 steps.
// That bound decides whether a layer can take this layout at all; where the tiles widen is decided from the
// layer's own weights (WinogradChunks), which makes the chunks several times longer on typical weights.
#pragma once

#include <cstdint>

namespace q46::kernels::qconv {

constexpr int kWinogradTransforms = 4;
constexpr int kWinogradRowSlack = 6;  // quads, see WinogradInputRow
// Output j (0: even column, 1: odd column) = sum_i kCombine[j][i] * m_i, halved.
constexpr int kWinogradCombine[2][kWinogradTransforms] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
// The first transform that output j takes (its sums start there), with sign +1.
constexpr int WinogradFirstTransform(int j) {
  int i = 0;
  while (kWinogradCombine[j][i] == 0) ++i;
  return i;
}
static_assert(kWinogradCombine[0][WinogradFirstTransform(0)] == 1 &&
                  kWinogradCombine[1][WinogradFirstTransform(1)] == 1,
              "each output's first contribution is added");
// v_i is offset by kWinogradOffsets[i] * max_code.
constexpr int kWinogradOffsets[kWinogradTransforms] = {1, 0, 1, 1};

// u from one kernel row's three weights.
inline void WinogradWeights(int32_t w0, int32_t w1, int32_t w2, int32_t u[kWinogradTransforms]) {
  u[0] = 2 * w0, u[1] = w0 + w1 + w2, u[2] = w0 - w1 + w2, u[3] = 2 * w2;
}

// Whether a vector of `lanes` tile positions from column `tile` of its row writes whole within an output row
// out_w wide (2 lanes outputs from column 2 tile; then also tile + lanes <= ceil(out_w / 2), the row's tiles):
// the winograd position tiles store those interleaved in one go and scatter the others one value at a time.
inline bool WinogradVectorInRow(int64_t tile, int64_t lanes, int64_t out_w) { return 2 * (tile + lanes) <= out_w; }

// Steps of int16 accumulation that stay exact (see above); 0 where transformed codes do not fit bytes
// (2 max_code > 255 or max_u > 127) or one pair could saturate.
int64_t WinogradFlushSteps(int32_t max_code, int32_t max_u);

// Where int16 accumulation must widen, from the weights themselves rather than their bound: each step multiplies
// transformed codes in [0, 2 max_code] by weights u, two products per int16 lane (a quad's lanes 0, 1 and 2, 3).
// The codes are never negative, so at step s int16 lane p of channel n gains at most 2 max_code times the sum of
// the positive ones of u[s][n][2p], u[s][n][2p + 1], and loses at most 2 max_code times the sum of the negative
// ones; every partial sum of a chunk lies between its lane's total losses and total gains, and the chunk is
// exact while those stay within [-32768, 32767] (no step alone passes them where WinogradFlushSteps > 0). Bounding
// by |u| instead would count each lane's gains and losses both ways: on weights of both signs, chunks half as
// long. u is one block's [steps][channels][4]; writes the chunks' ends (the last == steps, at most `steps` of them)
// greedily, and returns their number.
int64_t WinogradChunks(const int8_t* u, int64_t steps, int64_t channels, int32_t max_code, int32_t* ends);

// One row of transformed codes: quads holds 2 * tiles + 2 quads (4 channels each) of a padded input row; tile t
// reads its quads 2t .. 2t + 3 and writes quad t of each out[i] (v_i, offset). Codes must be <= max_code.
// Works in fours of tiles: reads up to kWinogradRowSlack quads past the row's 2 * tiles + 2 (they must be
// readable) and may write up to 3 quads of garbage past each out[i]'s `tiles`.
void WinogradInputRow(const uint8_t* quads, int64_t tiles, uint8_t max_code, uint8_t* const out[kWinogradTransforms]);

}  // namespace q46::kernels::qconv
