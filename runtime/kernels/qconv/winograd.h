// The arithmetic of the integer Winograd layouts for stride-1 convolutions whose kernel is 3 columns wide: F(2, 3)
// along rows (tile_rows 1: a tile position is two neighbouring outputs of one row) and, for 3x3 kernels,
// F(2x2, 3x3) (tile_rows 2: two by two outputs). The input and weight transforms, the bound that makes int16
// accumulation of transformed codes exact, and how the transformed products combine into outputs. The driver
// (qconv.cc) lays the transformed planes out; the tiles (qconv_methods.h, WinogradTile) multiply and combine. No
// intrinsics beyond SSE2.
//
// Along rows: two neighbouring outputs of one kernel row, y0 = w0 d0 + w1 d1 + w2 d2 and y1 = w0 d1 + w1 d2 + w2 d3,
// are
//   2 y0 = m0 + m1 + m2,   2 y1 = m1 - m2 - m3,   m_i = u_i v_i,
//   u = (2 w0, w0 + w1 + w2, w0 - w1 + w2, 2 w2) = H w,   v = (d0 - d2, d1 + d2, d2 - d1, d1 - d3) = B d
// (Lavin and Gray's F(2, 3) with G doubled, H = 2 G, so that u is integral): 4 products for 2 outputs where direct
// convolution takes 6, exact in integers. Summed over input channels and kernel rows, each transform i is a
// reduction of its own (m_i), combined only at the end.
// Two by two: the same along rows and then along columns, u = H w H^T (16 values from a 3x3 kernel) and
// v = B d B^T (from a 4x4 patch of the input); transform t = 4 a + i is row-transform i combined down the rows by
// a, output o = 2 r + c (row r, column c of the tile) takes kWinogradCombine[r][a] * kWinogradCombine[c][i] of m_t,
// and the sums are 4 y: 16 products for 4 outputs where direct convolution takes 36.
//
// Codes are unsigned bytes: along rows, v_0, v_2 and v_3 get max_code added, so every v lies in [0, 2 max_code]
// when the codes lie in [0, max_code]; adding and subtracting bytes modulo 256 then gives exact values. Down the
// rows, the row transforms' differences get 2 max_code added and their sums keep the two rows' offsets: every v
// lies in [0, 4 max_code], its offset 2 max_code but for t = 5 (sum of sums: 0). WinogradOffset says which.
// The offset's contribution, o_t times output channel c's sum of u_t (U_t[c]), is taken back through output o's
// bias:
//   corr_o[c] = -sum_t WinogradCombine(o, t) * WinogradOffset(t) * max_code * U_t[c].
// The tile's int32 sums are then k (sum + bias) for bias' = k bias + corr_o (k = WinogradScale: 2 or 4), and the
// output stage multiplies by scale / k: float(k a) * (s / k) == float(a) * s exactly (scaling by a power of two
// commutes with rounding), so the codes are bit-exact with the direct convolution's.
//
// Bound: 0 <= v <= max_v (WinogradMaxV: 2 or 4 max_code) and |u| <= max_u; v must be a byte and u a signed one
// (WinogradFitsBytes). A method that sums in int32 (vpdpbusd) is then exact. One that sums in int16 takes the
// same bound as on codes (Microkernel::flush_steps on max_v and max_u): one vpmaddubsw lane (two products) is at
// most B = 2 * max_v * max_u <= 32767 (no saturation), and k steps sum to at most k * B: exact in int16 for
// floor(32767 / B) steps. At (23, 23): max_code 22; along rows max_u <= 3 * 11 = 33, B <= 2904: 11 steps; two by
// two max_u <= 9 * 11 = 99, B <= 17424: 1 step. That bound decides whether a layer can take a layout at all;
// where int16 tiles widen is decided from the layer's own weights (WinogradChunks), which makes the chunks several
// times longer on typical weights (ResNet-18's two by two: 16-20 steps).
#pragma once

#include <cstdint>

namespace q46::kernels::qconv {

// Transforms per quad, outputs per tile position, and how much larger a tile's sums are than the direct ones.
constexpr int WinogradTransforms(int tile_rows) { return tile_rows == 1 ? 4 : 16; }
constexpr int WinogradOutputs(int tile_rows) { return 2 * tile_rows; }
constexpr int WinogradScale(int tile_rows) { return 2 * tile_rows; }
constexpr int kWinogradMaxTransforms = 16, kWinogradMaxOutputs = 4;
constexpr int kWinogradRowSlack = 6;  // quads, see WinogradInputRow
// Along rows: output j (0: even column, 1: odd column) = sum_i kWinogradCombine[j][i] * m_i, halved.
constexpr int kWinogradCombine[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
constexpr int WinogradCombine(int tile_rows, int o, int t) {
  return tile_rows == 1 ? kWinogradCombine[o][t] : kWinogradCombine[o / 2][t / 4] * kWinogradCombine[o % 2][t % 4];
}
// v_t is offset by WinogradOffset(t) * max_code.
constexpr int WinogradOffset(int tile_rows, int t) {
  constexpr int kAlongRows[4] = {1, 0, 1, 1};
  return tile_rows == 1 ? kAlongRows[t] : t == 5 ? 0 : 2;
}
// The weights one set of transformed weights comes from: a kernel row's 3 along rows, a 3x3 kernel's 9 two by two;
// every |u| is at most that many times the largest |w|.
constexpr int WinogradUnitWeights(int tile_rows) { return tile_rows == 1 ? 3 : 9; }
// The largest transformed code, for codes <= max_code.
constexpr int32_t WinogradMaxV(int tile_rows, int32_t max_code) { return 2 * tile_rows * max_code; }
// The first transform that output o takes (its sums start there), with sign +1.
constexpr int WinogradFirstTransform(int tile_rows, int o) {
  int t = 0;
  while (WinogradCombine(tile_rows, o, t) == 0) ++t;
  return t;
}
static_assert(WinogradCombine(1, 0, WinogradFirstTransform(1, 0)) == 1 &&
                  WinogradCombine(1, 1, WinogradFirstTransform(1, 1)) == 1 &&
                  WinogradCombine(2, 0, WinogradFirstTransform(2, 0)) == 1 &&
                  WinogradCombine(2, 1, WinogradFirstTransform(2, 1)) == 1 &&
                  WinogradCombine(2, 2, WinogradFirstTransform(2, 2)) == 1 &&
                  WinogradCombine(2, 3, WinogradFirstTransform(2, 3)) == 1,
              "each output's first contribution is added");

// u from one kernel row's three weights (tile_rows 1) or a 3x3 kernel's nine, row by row (tile_rows 2).
void WinogradWeights(int tile_rows, const int8_t* w, int32_t* u);

// Whether a vector of `lanes` tile positions from column `tile` of its row writes whole within an output row
// out_w wide (2 lanes outputs from column 2 tile; then also tile + lanes <= ceil(out_w / 2), the row's tiles):
// the winograd position tiles store those interleaved in one go, the others as one masked store per output row.
inline bool WinogradVectorInRow(int64_t tile, int64_t lanes, int64_t out_w) { return 2 * (tile + lanes) <= out_w; }

// Whether transformed codes <= max_v are bytes and transformed weights within +-max_u signed bytes.
constexpr bool WinogradFitsBytes(int32_t max_v, int32_t max_u) { return max_v <= 255 && max_u <= 127; }

// Where int16 accumulation must widen, from the weights themselves rather than their bound: each step multiplies
// transformed codes in [0, max_v] by weights u, two products per int16 lane (a quad's lanes 0, 1 and 2, 3).
// The codes are never negative, so at step s int16 lane p of channel n gains at most max_v times the sum of
// the positive ones of u[s][n][2p], u[s][n][2p + 1], and loses at most max_v times the sum of the negative
// ones; every partial sum of a chunk lies between its lane's total losses and total gains, and the chunk is
// exact while those stay within [-32768, 32767] (no step alone passes them where the bound above allows a
// step). Bounding by |u| instead would count each lane's gains and losses both ways: on weights of both signs,
// chunks half as long. u is one block's [steps][channels][4]; writes the chunks' ends (the last == steps, at most
// `steps` of them) greedily, and returns their number.
int64_t WinogradChunks(const int8_t* u, int64_t steps, int64_t channels, int32_t max_v, int32_t* ends);

// One row of transformed codes along rows (winograd_vectors.h's Transform4), from tile `first`: quads holds
// 2 * tiles + 2 quads (4 channels each) of a padded input row; tile t reads its quads 2t .. 2t + 3 and writes quad
// t of transform i (v_i, offset) at out + i * transform_bytes + 4 t. Codes must be <= max_code. Works in fours of
// tiles: reads up to kWinogradRowSlack quads past the row's 2 * tiles + 2 (they must be readable) and may write up
// to 3 quads of garbage past each transform's `tiles`.
void WinogradInputRowFrom(const uint8_t* quads, int64_t first, int64_t tiles, uint8_t max_code, uint8_t* out,
                          int64_t transform_bytes);
// One row of two-by-two tiles: the same from four padded input rows (rows[k], each as `quads` above, each read as
// far past its 2 * tiles + 2 quads): tile t's transform 4a + i (a down the rows, i along them; offset
// WinogradOffset) at out + (4a + i) * transform_bytes + 4t, writing as far past each.
void WinogradInputRowsFrom(const uint8_t* const rows[4], int64_t first, int64_t tiles, uint8_t max_code,
                           uint8_t* out, int64_t transform_bytes);
// The same from tile 0. (Defined in winograd.cc, not inline: the per-ISA translation units take their addresses,
// and an inline copy compiled there could stand in for the baseline one.)
void WinogradInputRow(const uint8_t* quads, int64_t tiles, uint8_t max_code, uint8_t* out, int64_t transform_bytes);
void WinogradInputRows(const uint8_t* const rows[4], int64_t tiles, uint8_t max_code, uint8_t* out,
                       int64_t transform_bytes);
// A microkernel's input transforms, with WinogradInputRow's and WinogradInputRows' contracts: those (SSE2) by
// default; the x86 microkernels' do the whole vectors of their own width first (winograd_vectors.h).
struct WinogradInput {
  void (*row)(const uint8_t* quads, int64_t tiles, uint8_t max_code, uint8_t* out,
              int64_t transform_bytes) = &WinogradInputRow;
  void (*rows)(const uint8_t* const rows[4], int64_t tiles, uint8_t max_code, uint8_t* out,
               int64_t transform_bytes) = &WinogradInputRows;
};

}  // namespace q46::kernels::qconv
