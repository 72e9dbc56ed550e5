// The ISA-independent half of the fast integer convolution: CPU detection, the quad-planar geometry and input
// repacking, weight packing, and the driver that walks tiles, calls a microkernel and writes its outputs.
// The microkernels' intrinsics are in the per-ISA files; here only the input repack's baseline SSE2 (x86-64
// always has it; elsewhere it takes its scalar path). No arithmetic beyond integer indexing, but for the winograd
// layout's (winograd.h).
#include "runtime/kernels/qconv/qconv.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "runtime/kernels/align.h"
#include "runtime/kernels/fast/fast_kernels.h"
#include "runtime/kernels/fast/sse2_bytes.h"
#include "runtime/kernels/parallel_for.h"
#include "runtime/kernels/qconv/winograd.h"

namespace q46::kernels::qconv {

#if defined(__x86_64__)
std::vector<const Microkernel*> MicrokernelsVnni();
std::vector<const Microkernel*> MicrokernelsAvx512();
std::vector<const Microkernel*> MicrokernelsAvx2();
#elif defined(__aarch64__)
std::vector<const Microkernel*> MicrokernelsNeon();
#endif

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kRef: return "ref";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kVnni: return "vnni";
    case Isa::kNeon: return "neon";
  }
  return "?";
}

bool ParseIsa(const std::string& name, Isa* isa) {
  for (Isa i : {Isa::kRef, Isa::kAvx2, Isa::kAvx512, Isa::kVnni, Isa::kNeon})
    if (name == IsaName(i)) return *isa = i, true;
  return false;
}

Isa DetectIsa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2")) return Isa::kRef;
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return Isa::kAvx2;
  if (!__builtin_cpu_supports("avx512vnni")) return Isa::kAvx512;
  return Isa::kVnni;
#elif defined(__aarch64__)
  return Isa::kNeon;  // Advanced SIMD is part of ARMv8-A
#else
  return Isa::kRef;
#endif
}

bool IsaWithin(Isa isa, Isa max) {
  const auto x86 = [](Isa i) { return i == Isa::kAvx2 || i == Isa::kAvx512 || i == Isa::kVnni; };
  if (isa == Isa::kRef || isa == max) return true;
  return x86(isa) && x86(max) && isa < max;
}

std::vector<const Microkernel*> Microkernels() {
  std::vector<const Microkernel*> all;
#if defined(__x86_64__)
  // Each list is built by code compiled for its ISA (its records' initialisers use its registers), so only the
  // lists this CPU can execute are even asked for.
  const Isa cpu = DetectIsa();
  const std::pair<Isa, std::vector<const Microkernel*> (*)()> lists[] = {
      {Isa::kVnni, &MicrokernelsVnni}, {Isa::kAvx512, &MicrokernelsAvx512}, {Isa::kAvx2, &MicrokernelsAvx2}};
  for (const auto& [isa, list] : lists)
    if (IsaWithin(isa, cpu)) {
      const std::vector<const Microkernel*> kernels = list();
      all.insert(all.end(), kernels.begin(), kernels.end());
    }
#elif defined(__aarch64__)
  all = MicrokernelsNeon();
#endif
  return all;
}

namespace {
int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// min_slack: positions each plane keeps past its rows, at least.
Geometry MakeGeometryAs(Dims4 xs, Dims4 ys, const Window2d& win, int64_t groups, bool kx_folded,
                        int64_t min_slack = 0) {
  Geometry g;
  g.xs = xs, g.ys = ys, g.win = win, g.groups = groups, g.kx_folded = kx_folded;
  g.cin_g = xs.c / groups, g.cout_g = ys.c / groups;
  Window2d& grid = g.grid;
  grid = win;
  int64_t width = xs.w;  // the planes' source columns
  if (kx_folded) grid.kw = grid.sw = grid.dw = 1, grid.pad_l = grid.pad_r = 0, width = ys.w;
  g.quads = CeilDiv(g.cin_g * (kx_folded ? win.kw : 1), 4);
  g.plane_h = CeilDiv(grid.pad_t + xs.h + grid.pad_b, grid.sh);
  g.plane_w = CeilDiv(grid.pad_l + width + grid.pad_r, grid.sw);
  g.positions = (ys.h - 1) * g.plane_w + ys.w;
  const int64_t last_tap = (grid.dh * (grid.kh - 1)) / grid.sh * g.plane_w + (grid.dw * (grid.kw - 1)) / grid.sw;
  g.plane_len = std::max(g.plane_h * g.plane_w + min_slack, CeilDiv(g.positions, kMaxLanes) * kMaxLanes + last_tap);
  const int64_t plane_bytes = g.plane_len * 4, quad_bytes = grid.sh * grid.sw * plane_bytes;
  g.quad_bytes = quad_bytes;
  g.group_bytes = g.quads * quad_bytes;
  g.phase_used.assign(static_cast<size_t>(grid.sh * grid.sw), false);
  for (int64_t q = 0; q < g.quads; ++q)
    for (int64_t ky = 0; ky < grid.kh; ++ky)
      for (int64_t kx = 0; kx < grid.kw; ++kx) {
        const int64_t dy = ky * grid.dh, dx = kx * grid.dw;
        const int64_t plane = (dy % grid.sh) * grid.sw + dx % grid.sw;
        g.phase_used[static_cast<size_t>(plane)] = true;
        g.step_offsets.push_back(q * quad_bytes + plane * plane_bytes + (dy / grid.sh * g.plane_w + dx / grid.sw) * 4);
      }
  return g;
}

// A 1x1 layer on 1 x 1 planes (a matrix product: fully connected layers, flattened or not) that channel-lane tiles
// run needs no repack: its quads are its input channels in fours, as NCHW has them, and no vector of positions
// reads past them. Only unpadded, ungrouped ones whose channels fill whole quads (the tiles read every lane).
bool InputAsIsApplies(const Geometry& g) {
  const Window2d& w = g.win;
  return g.xs.h == 1 && g.xs.w == 1 && w.kh == 1 && w.kw == 1 && w.pad_t == 0 && w.pad_l == 0 && w.pad_b == 0 &&
         w.pad_r == 0 && g.groups == 1 && g.cin_g % 4 == 0 && !g.kx_folded && !g.winograd;
}
Geometry AsIsGeometry(Geometry g) {
  g.input_as_is = true;
  g.plane_len = 1, g.quad_bytes = 4, g.group_bytes = g.quads * 4;
  for (int64_t q = 0; q < g.quads; ++q) g.step_offsets[static_cast<size_t>(q)] = q * 4;
  return g;
}

// Multiply-adds a run computes, padding and dropped columns included, plus the repack: a repacked byte costs
// about 16 multiply-adds' time (ResNet-18's 3x3 layers repack 3.4 bytes a cycle and multiply 64 a cycle).
int64_t EstimatedWork(const Geometry& g) {
  return g.steps() * 4 * g.positions * g.cout_g * g.groups + 16 * g.packed_input_bytes();
}

}  // namespace

bool WinogradApplies(const Window2d& win, int tile_rows) {
  const bool along_rows = win.kw == 3 && win.sw == 1 && win.dw == 1 && win.sh == 1;
  return tile_rows == 1 ? along_rows : along_rows && win.kh == 3 && win.dh == 1;
}

Geometry MakeWinogradGeometry(Dims4 xs, Dims4 ys, const Window2d& win, int64_t groups, int tile_rows) {
  Geometry g;
  g.xs = xs, g.ys = ys, g.win = win, g.groups = groups, g.winograd = true, g.tile_rows = tile_rows;
  g.cin_g = xs.c / groups, g.cout_g = ys.c / groups;
  g.grid = win;  // the steps walk the kernel's rows, or (two by two) the quads alone
  g.grid.kw = 1, g.grid.pad_l = g.grid.pad_r = 0;
  if (tile_rows == 2) g.grid.kh = 1, g.grid.pad_t = g.grid.pad_b = 0;
  g.quads = CeilDiv(g.cin_g, 4);
  g.plane_h = tile_rows == 1 ? win.pad_t + xs.h + win.pad_b : CeilDiv(ys.h, 2);
  g.plane_w = CeilDiv(ys.w, 2);
  g.positions = CeilDiv(ys.h, tile_rows) * g.plane_w;
  const int64_t last_tap = g.grid.dh * (g.grid.kh - 1) * g.plane_w;
  // (+ 3: the input transform's last row, WinogradInputRow's or WinogradInputRows', may write that far past it.)
  g.plane_len = std::max(g.plane_h * g.plane_w + 3, CeilDiv(g.positions, kMaxLanes) * kMaxLanes + last_tap);
  // Each plane starts a cache line (PackedConv::Run aligns the scratch): two by two, a position tile's 16 positions
  // of a quad are then one line, not two (along rows, so are its steps of the kernel's first row). A quad's planes
  // take a whole, even number of lines, and one more line apart from the next quad's makes the steps of a tile, a
  // quad apart, fall in different cache sets. On ResNet-18's layers two by two, planes off the lines ran 4-10% slower
  // with position lanes; and quads 4 KiB apart (its 14x14 layer) shared a set and ran 13% slower.
  g.plane_len = CeilDiv(g.plane_len, 16) * 16;
  g.quad_bytes = g.transforms() * g.transform_bytes() + 64;
  g.group_bytes = g.quads * g.quad_bytes;
  g.phase_used.assign(1, true);
  for (int64_t q = 0; q < g.quads; ++q)
    for (int64_t ky = 0; ky < g.grid.kh; ++ky)
      g.step_offsets.push_back(q * g.quad_bytes + ky * g.grid.dh * g.plane_w * 4);
  return g;
}

Geometry WinogradStagingGeometry(const Geometry& wg) {
  // Two by two, the last tile row of an odd output height reads a padded row past the plane.
  const int64_t row_past = wg.tile_rows == 2 ? wg.win.pad_l + wg.xs.w + wg.win.pad_r : 0;
  return MakeGeometryAs(wg.xs, wg.ys, wg.win, wg.groups, false, row_past + kWinogradRowSlack + 2);
}

Geometry MakeGeometry(Dims4 xs, Dims4 ys, const Window2d& win, int64_t groups, KxFold fold) {
  if (fold != KxFold::kAuto) return MakeGeometryAs(xs, ys, win, groups, fold == KxFold::kAlways);
  Geometry quad_planar = MakeGeometryAs(xs, ys, win, groups, false);
  // Nothing to fold, or no lane to fill: with whole quads folding only drops the grid's wasted columns, which
  // channel-lane tiles do not have, and triples the repack (ResNet-18's 14x14 and 7x7 layers lost 5-10%).
  if (win.kw == 1 || quad_planar.cin_g % 4 == 0) return quad_planar;
  Geometry folded = MakeGeometryAs(xs, ys, win, groups, true);
  return EstimatedWork(folded) * 10 < EstimatedWork(quad_planar) * 9 ? folded : quad_planar;
}

namespace {

#if defined(__SSE2__)
// 16 (or 8, in the low half) bytes of a row at columns at, at + 1, ... times kStride (1 or 2).
// (The column's offset first + at * kStride is added to the row in one step: first alone may be negative.)
template <int kStride>
__m128i Columns16(const uint8_t* row, int64_t first, int64_t at) {
  if constexpr (kStride == 1) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + (first + at)));
  return EvenBytes32(row + (first + 2 * at));
}
template <int kStride>
__m128i Columns8(const uint8_t* row, int64_t first, int64_t at) {
  if constexpr (kStride == 1) return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + (first + at)));
  return EvenBytes16(row + (first + 2 * at));
}

// Quads [begin, end) of a plane row whose bytes all lie inside the input rows (rows[e] + first[e] + column *
// kStride), in runs of 16 (four unpack levels turn 4 x 16 bytes into 16 quads) or, under 16, 8; a last run that
// would pass `end` is moved back to end there, rewriting some quads with the same values. Returns the first
// quad not written: `end`, or `begin` when there are fewer than 8.
template <int kStride>
int64_t InterleaveInside(const uint8_t* const rows[4], const int64_t first[4], int64_t begin, int64_t end,
                         uint8_t* out) {
  const auto run16 = [&](int64_t at) {
    const auto load = [&](int e) { return Columns16<kStride>(rows[e], first[e], at); };
    const __m128i a = load(0), b = load(1), d = load(2), e = load(3);
    const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
    const __m128i de_lo = _mm_unpacklo_epi8(d, e), de_hi = _mm_unpackhi_epi8(d, e);
    auto* dst = reinterpret_cast<__m128i*>(out + at * 4);
    _mm_storeu_si128(dst + 0, _mm_unpacklo_epi16(ab_lo, de_lo));
    _mm_storeu_si128(dst + 1, _mm_unpackhi_epi16(ab_lo, de_lo));
    _mm_storeu_si128(dst + 2, _mm_unpacklo_epi16(ab_hi, de_hi));
    _mm_storeu_si128(dst + 3, _mm_unpackhi_epi16(ab_hi, de_hi));
  };
  const auto run8 = [&](int64_t at) {
    const auto load = [&](int e) { return Columns8<kStride>(rows[e], first[e], at); };
    const __m128i ab = _mm_unpacklo_epi8(load(0), load(1)), de = _mm_unpacklo_epi8(load(2), load(3));
    auto* dst = reinterpret_cast<__m128i*>(out + at * 4);
    _mm_storeu_si128(dst + 0, _mm_unpacklo_epi16(ab, de));
    _mm_storeu_si128(dst + 1, _mm_unpackhi_epi16(ab, de));
  };
  const int64_t run = end - begin >= 16 ? 16 : end - begin >= 8 ? 8 : 0;
  if (run == 0) return begin;
  int64_t c = begin;
  for (; c + run <= end; c += run) run == 16 ? run16(c) : run8(c);
  if (c < end) run == 16 ? run16(end - run) : run8(end - run);
  return end;
}
#endif

// The columns [begin, end) of a plane row where every lane reads inside its input row: column c of lane e reads
// bytes [c * stride + first[e], (c + 1) * stride + first[e]) (the vector path's stride-2 loads take both). The
// same for every row of a plane, so worked out once per plane (two divisions per row were a seventh of a small
// layer's repack).
struct InsideColumns {
  int64_t begin = 0, end = 0;
};
InsideColumns InsideColumnsOf(int64_t width, const int64_t first[4], int64_t stride, int64_t count) {
  const int64_t lo = *std::min_element(first, first + 4), hi = *std::max_element(first, first + 4);
  // Division by the stride, rounding towards zero; the common strides without a divide instruction (two of them
  // per quad were a fifth of a small layer's repack).
  const auto over_stride = [stride](int64_t v) { return stride == 1 ? v : stride == 2 ? v / 2 : v / stride; };
  const int64_t begin = std::min(count, std::max<int64_t>(0, over_stride(stride - 1 - lo)));
  return {begin, std::max(begin, std::min(count, over_stride(width - hi)))};
}

// A plane row (or, for unstrided layers, a whole plane as one run): lane e of quad c = rows[e]'s byte at column
// c * stride + first[e], or the pad code outside [0, width). Strides past 2 take the scalar loops only (the
// inside columns, which the vector path's reads bound, are then conservative).
void InterleaveRow(const uint8_t* const rows[4], int64_t width, const int64_t first[4], int64_t stride,
                   int64_t count, InsideColumns inside, uint8_t pad_code, uint8_t* out) {
  const auto checked = [&](int64_t c, int64_t end) {
    for (; c < end; ++c)
      for (int e = 0; e < 4; ++e) {
        const int64_t ix = c * stride + first[e];
        out[c * 4 + e] = ix >= 0 && ix < width ? rows[e][ix] : pad_code;
      }
  };
  checked(0, inside.begin);
  int64_t c = inside.begin;
#if defined(__SSE2__)
  if (stride == 1) c = InterleaveInside<1>(rows, first, c, inside.end, out);
  if (stride == 2) c = InterleaveInside<2>(rows, first, c, inside.end, out);
#endif
  for (; c < inside.end; ++c) {  // rows too short for the vector path: a quad at a time
    const auto at = [&](int e) { return static_cast<uint32_t>(rows[e][c * stride + first[e]]) << (8 * e); };
    const uint32_t quad = at(0) | at(1) | at(2) | at(3);
    std::memcpy(out + c * 4, &quad, 4);
  }
  checked(inside.end, count);
}

}  // namespace

void RepackInput(const Geometry& g, const uint8_t* x, int64_t n, uint8_t pad_code, uint8_t* packed, PlaneRows band) {
  const Dims4& xs = g.xs;
  const int64_t plane_bytes = g.plane_len * 4, used = g.plane_h * g.plane_w * 4, hw = xs.h * xs.w;
  const bool whole = g.repacks_whole_planes();
  uint8_t* pad_row = packed + g.packed_input_bytes();  // pad codes, for missing channels and rows
  if (!whole || g.cin_g % 4 != 0) std::memset(pad_row, pad_code, static_cast<size_t>(whole ? hw : xs.w));
  const Window2d& grid = g.grid;
  for (int64_t item = 0; item < g.groups * g.quads; ++item) {
    const int64_t grp = item / g.quads, q = item % g.quads;
    // Each lane's channel, and its first column before the phase (kx-folded: its kernel column's offset).
    // Pad lanes read the pad row at lane 0's columns (lane 0 is always a channel's).
    const uint8_t* channel[4] = {};
    int64_t first[4] = {};
    for (int64_t e = 0; e < 4; ++e) {
      int64_t ic = 0, kx = 0;
      if (g.QuadLane(q, e, &ic, &kx))
        channel[e] = x + (n * xs.c + grp * g.cin_g + ic) * hw, first[e] = kx * g.win.dw - g.win.pad_l;
      else
        first[e] = first[0];
    }
    uint8_t* quad = packed + grp * g.group_bytes + q * g.quad_bytes;
    if (whole) {
      const int64_t zero[4] = {}, w = xs.w, pad_l = g.win.pad_l, row_bytes = g.plane_w * 4;
      const uint8_t* planes[4];
      for (int e = 0; e < 4; ++e) planes[e] = channel[e] ? channel[e] : pad_row;
      const int64_t top = g.win.pad_t * row_bytes + pad_l * 4;  // the plane's bytes before its first input byte
      if (g.planes_back_to_back()) {  // the whole planes as one run
        InterleaveRow(planes, hw, zero, 1, hw, InsideColumnsOf(hw, zero, 1, hw), pad_code, quad);
        std::memset(quad + hw * 4, pad_code, static_cast<size_t>(plane_bytes - hw * 4));
        continue;
      }
      // Padded: each row of the range put in its place, then the padding up to the next row written a word at a
      // time (a memset call per row, with a memmove, had cost three times the interleaving). Rows of 16 quads or
      // more (16-quad vectors, the last moved back) are interleaved in place. Narrower rows would take short
      // vectors or none (row by row, ResNet-18's 14-wide planes went 1.2x slower, its 7-wide 2.7x): the whole
      // planes go first as one vector run at the plane's end, `staged`, and each row is moved from there, front to
      // back (a row's destination, and the padding after it, end before the next row's source starts, as
      // plane_len >= plane_h * plane_w). The range's bytes: from its first row to its last's end, or the plane's.
      const int64_t first_byte = std::min(band.begin, g.plane_h) * row_bytes;
      const int64_t end_byte = band.end >= g.plane_h ? plane_bytes : band.end * row_bytes;
      const int64_t iy0 = std::clamp<int64_t>(band.begin - g.win.pad_t, 0, xs.h);
      const int64_t iy1 = std::clamp<int64_t>(band.end - g.win.pad_t, iy0, xs.h);  // its input rows
      if (iy0 == iy1) {
        std::memset(quad + first_byte, pad_code, static_cast<size_t>(end_byte - first_byte));
        continue;
      }
      // (Staged first: the padding before the range's first row may lie where rows before it were staged.)
      uint8_t* const staged = w >= Geometry::kInPlaceRowQuads ? nullptr : quad + plane_bytes - hw * 4;
      if (staged) InterleaveRow(planes, hw, zero, 1, hw, InsideColumnsOf(hw, zero, 1, hw), pad_code, staged);
      std::memset(quad + first_byte, pad_code, static_cast<size_t>(top + iy0 * row_bytes - first_byte));
      const uint32_t pad_word = pad_code * 0x01010101u;
      const int64_t gap = g.plane_w - w;  // pad quads after a row's last, to the next one's first
      for (int64_t iy = iy0; iy < iy1; ++iy) {
        uint8_t* const out = quad + top + iy * row_bytes;
        if (staged) {
          std::memmove(out, staged + iy * w * 4, static_cast<size_t>(w * 4));
        } else {
          const uint8_t* const rows[4] = {planes[0] + iy * w, planes[1] + iy * w, planes[2] + iy * w,
                                          planes[3] + iy * w};
          InterleaveRow(rows, w, zero, 1, w, InsideColumns{0, w}, pad_code, out);
        }
        for (int64_t i = 0; i < gap && iy + 1 < iy1; ++i) std::memcpy(out + (w + i) * 4, &pad_word, 4);
      }
      const int64_t rows_end = top + (iy1 - 1) * row_bytes + w * 4;
      std::memset(quad + rows_end, pad_code, static_cast<size_t>(end_byte - rows_end));
      continue;
    }
    // Row by row, the band's (and past the last row, when the band reaches it, the slack).
    const int64_t r0 = std::min(band.begin, g.plane_h), r1 = std::clamp(band.end, r0, g.plane_h);
    for (int64_t ph = 0; ph < grid.sh; ++ph)
      for (int64_t pw = 0; pw < grid.sw; ++pw) {
        if (!g.phase_used[static_cast<size_t>(ph * grid.sw + pw)]) continue;
        uint8_t* plane = quad + (ph * grid.sw + pw) * plane_bytes;
        if (band.end >= g.plane_h) std::memset(plane + used, pad_code, static_cast<size_t>(plane_bytes - used));
        int64_t phase_first[4];
        for (int e = 0; e < 4; ++e) phase_first[e] = first[e] + pw;
        const InsideColumns inside = InsideColumnsOf(xs.w, phase_first, g.win.sw, g.plane_w);
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t iy = r * grid.sh + ph - grid.pad_t;
          const uint8_t* rows[4];
          for (int e = 0; e < 4; ++e) rows[e] = channel[e] && iy >= 0 && iy < xs.h ? channel[e] + iy * xs.w : pad_row;
          InterleaveRow(rows, xs.w, phase_first, g.win.sw, g.plane_w, inside, pad_code, plane + r * g.plane_w * 4);
        }
      }
  }
}

void RepackWinogradInput(const Geometry& g, const Geometry& staging, const uint8_t* x, int64_t n, uint8_t pad_code,
                         uint8_t max_code, uint8_t* packed, const WinogradInput& input, PlaneRows band) {
  // The padded rows in quads first, as the quad-planar layout has them, whole planes at a time (after `packed`);
  // then each row transformed (two by two: each tile row, from four padded rows). The transforms read up to
  // kWinogradRowSlack quads past a row's 2 * tiles + 2 (at most one past the padded row, for an odd output width):
  // the next row's, or the plane's slack; two by two, a tile row of an odd output height also reads a whole padded
  // row past the plane, which WinogradStagingGeometry's slack holds. For a band, the padded rows its transforms
  // read: its own (two by two: from twice its first to twice its end and two more), and one more for the slack.
  const int64_t first = std::min(band.begin, g.plane_h), end = std::clamp(band.end, first, g.plane_h);
  uint8_t* rows = packed + g.packed_input_bytes();
  const int64_t rows_past = g.tile_rows == 1 ? 1 : 3;
  RepackInput(staging, x, n, pad_code, rows,
              {g.tile_rows * first, end == g.plane_h ? staging.plane_h : g.tile_rows * end + rows_past});
  const int64_t plane_bytes = g.transform_bytes(), used = g.plane_h * g.plane_w * 4, row_bytes = staging.plane_w * 4;
  const int transforms = g.transforms();
  for (int64_t item = 0; item < g.groups * g.quads; ++item) {
    const int64_t grp = item / g.quads, q = item % g.quads;
    const uint8_t* in = rows + grp * staging.group_bytes + q * staging.quad_bytes;
    uint8_t* quad = packed + grp * g.group_bytes + q * g.quad_bytes;
    // Rows in order: each overwrites what the one before wrote past its end.
    for (int64_t r = first; r < end; ++r) {
      uint8_t* const out = quad + r * g.plane_w * 4;
      if (g.tile_rows == 1) {
        input.row(in + r * row_bytes, g.plane_w, max_code, out, plane_bytes);
      } else {
        const uint8_t* const patch[4] = {in + 2 * r * row_bytes, in + (2 * r + 1) * row_bytes,
                                         in + (2 * r + 2) * row_bytes, in + (2 * r + 3) * row_bytes};
        input.rows(patch, g.plane_w, max_code, out, plane_bytes);
      }
    }
    if (end < g.plane_h) continue;
    for (int i = 0; i < transforms; ++i)  // read past the last tile, by lanes whose outputs are dropped
      std::memset(quad + i * plane_bytes + used, 0, static_cast<size_t>(plane_bytes - used));
  }
}

namespace {

// The multiply-adds a layout's vector instructions do per step, padding included, plus its output stage:
// - position lanes: per vector of positions and channel, about as much as 7 steps' multiply-adds (bias, scale,
//   clamp, round, pack, store and the row arithmetic; fitted to qconv_bench's shapes, codes out, on a Zen 3 with
//   AVX2, where without it a 16x16 32-channel layer took the position tiles, 18% slower; it changes no VNNI choice
//   among those shapes; AVX-512BW, NEON and float outputs were not measured);
// - channel lanes: its stores, one element at a time, one channel plane apart: two vector instructions each while
//   a plane is under 4 KiB, sixteen past that (each store then lands on its own cache line, and on the same 4 KiB
//   alias as its neighbours: the U-Net's 32x32 float layers ran at half speed).
// - every tile: about 40 steps' work of its own (its call and arguments, the output stage's setup, zeroing and
//   widening its accumulators), felt only where layers take few steps: CNN-10's 8-channel 32x32 layer ran 1.3x
//   faster in winograd's tiles, half as many as the direct ones, than in those the estimate without it preferred;
// - winograd position tiles: a vector that crosses an output row or its end, about 20 steps' work per channel: on
//   the CIFAR CNNs' 12x12 outputs they lost 10-15%. (Fitted when WriteWinogradTile wrote such a vector one value at
//   a time; it now writes one masked store per row, cheaper, and the figure was not fitted again.)
// Fitted with bench/tile_choice.py on a Zen 3 with AVX2 (codes out), on every convolution of the CIFAR CNNs,
// ResNet-18/34 and the U-Net. All layouts are bit-exact; this only picks the faster.
constexpr int64_t kOutputVectorCost = 7;
constexpr int64_t kTileCost = 40;
constexpr int64_t kScatteredVectorCost = 20;
// Vectors of positions that position-lane tiles of t compute on g, in halves: full tiles, then single vectors,
// each of those counted as one and a half where full tiles have more rows (its weight broadcasts serve one vector
// instead of mr). Fitted on a Zen 3 with AVX2: winograd's tiles on ResNet-18's 7x7 layer (16 + 8 + 8 tile
// positions) and on a 4x4 output ran at 0.9x and 0.6x the channel lanes; counted as one, they were preferred.
int64_t PositionHalfVectors(const TileSet& t, const Geometry& g) {
  const int64_t full_len = int64_t{t.mr} * t.lanes, full_tiles = g.positions / full_len;
  return 2 * full_tiles * t.mr + (t.mr > 1 ? 3 : 2) * CeilDiv(g.positions - full_tiles * full_len, t.lanes);
}
// The tiles of t that cover `positions` (in t's units) by `channels`, as Pack lays them: along the lanes, full
// tiles of mr vectors and then single vectors; across, blocks of up to max_nr.
int64_t Tiles(const TileSet& t, int64_t positions, int64_t channels) {
  const auto along = [&](int64_t n) {
    const int64_t full_len = int64_t{t.mr} * t.lanes;
    return n / full_len + CeilDiv(n % full_len, t.lanes);
  };
  return t.lanes_of == Lanes::kChannels ? CeilDiv(positions, t.max_nr) * along(channels)
                                        : along(positions) * CeilDiv(channels, t.max_nr);
}
int64_t PositionLaneWork(const TileSet& t, const Geometry& g) {
  return (g.steps() + kOutputVectorCost) * PositionHalfVectors(t, g) * g.cout_g / 2 +
         kTileCost * Tiles(t, g.positions, g.cout_g);
}
int64_t ChannelStoreWork(const Geometry& g, int64_t output_bytes) {
  const int64_t outputs = g.ys.h * g.ys.w, store_cost = outputs * output_bytes < 4096 ? 2 : 16;
  return store_cost * outputs * g.cout_g;
}
int64_t ChannelLaneWork(const TileSet& t, const Geometry& g, int64_t output_bytes) {
  const int64_t outputs = g.ys.h * g.ys.w;
  return g.steps() * CeilDiv(g.cout_g, t.lanes) * outputs + ChannelStoreWork(g, output_bytes) +
         kTileCost * Tiles(t, outputs, g.cout_g);
}
// The vectors of winograd position tiles that cross an output row or its end (WinogradStores' masked runs).
int64_t WinogradScatteredVectors(const TileSet& t, const Geometry& wg) {
  int64_t scattered = 0;
  for (int64_t q = 0; q < wg.positions; q += t.lanes) {
    scattered += !WinogradVectorInRow(q % wg.plane_w, t.lanes, wg.ys.w);
  }
  return scattered;
}
// Bias and scale are padded past the channels: channel-lane tiles read whole vectors.
constexpr int64_t kChannelPadding = kMaxLanes * 4;
// Between the biases of a winograd tile's outputs: the channels padded alike.
int64_t WinogradBiasStride(const Geometry& g) { return g.ys.c + kChannelPadding; }
// The input repack: a byte written at 16 multiply-adds (EstimatedWork), half a vector step (padded rows; winograd's
// transformed planes count half that, CreateWinograd).
int64_t RepackWork(const Geometry& g) { return g.input_as_is ? 0 : g.packed_input_bytes() / 2; }
// A direct layout's whole work: every group's, and its repack's.
int64_t DirectWork(const TileSet& t, const Geometry& g, int64_t output_bytes) {
  const int64_t per_group =
      t.lanes_of == Lanes::kChannels ? ChannelLaneWork(t, g, output_bytes) : PositionLaneWork(t, g);
  return per_group * g.groups + RepackWork(g);
}

}  // namespace

bool PackedConv::Create(const Microkernel& kernel, const Geometry& g, const int8_t* weights, int32_t max_code,
                        int32_t max_weight, OutputStage stage, PackedConv* out, std::string* why,
                        const TileSet* tiles) {
  if (tiles != nullptr && tiles->winograd_rows > 0)
    return CreateWinograd(kernel, *tiles, g, TransformWeights(g, weights, tiles->winograd_rows), max_code,
                          std::move(stage), out, why);
  const int64_t flush = kernel.flush_steps(max_code, max_weight);
  const int64_t output_bytes = stage.codes_out ? 1 : sizeof(float);
  if (tiles == nullptr) {
    const int64_t positions = DirectWork(kernel.positions, g, output_bytes);
    const int64_t channels = kernel.channels.name != nullptr ? DirectWork(kernel.channels, g, output_bytes) : positions;
    tiles = channels < positions ? &kernel.channels : &kernel.positions;
    // The winograd layout where it applies and does less work.
    int64_t best = flush == 0 ? INT64_MAX : std::min(positions, channels);
    PackedConv winograd;
    const std::vector<const TileSet*> sets = kernel.tile_sets();
    for (const int rows : {1, 2}) {
      const auto of_form = [rows](const TileSet* t) { return t->name != nullptr && t->winograd_rows == rows; };
      if (std::none_of(sets.begin(), sets.end(), of_form)) continue;
      const WinogradValues values = TransformWeights(g, weights, rows);  // once for both tile forms
      for (const TileSet* t : sets) {
        PackedConv candidate;
        std::string no;
        if (!of_form(t) || !CreateWinograd(kernel, *t, g, values, max_code, stage, &candidate, &no)) continue;
        if (candidate.work_ < best) best = candidate.work_, winograd = std::move(candidate);
      }
    }
    if (winograd.tiles_ != nullptr) return *out = std::move(winograd), true;
  }
  if (flush == 0) {
    *why = std::string(kernel.name) + " cannot accumulate codes up to " + std::to_string(max_code) +
           " times weights up to " + std::to_string(max_weight) + " exactly";
    return false;
  }
  PackedConv& p = *out;
  p.g_ = tiles->lanes_of == Lanes::kChannels && InputAsIsApplies(g) ? AsIsGeometry(g) : g;
  p.flush_steps_ = flush;
  // A centering method multiplies (x - center) by w: add center * sum(w) back to each channel's bias.
  const int64_t per_channel = g.cin_g * g.win.kh * g.win.kw;
  p.center_ = static_cast<uint8_t>(kernel.center(max_code));
  if (p.center_ != 0)
    for (int64_t c = 0; c < g.ys.c; ++c) {
      int32_t sum = 0;
      for (int64_t i = 0; i < per_channel; ++i) sum += weights[c * per_channel + i];
      stage.bias[static_cast<size_t>(c)] += p.center_ * sum;
    }
  const std::vector<int16_t> values(weights, weights + g.ys.c * per_channel);
  p.Pack(kernel, *tiles, values.data(), g.win.kw, 1, std::move(stage));
  p.work_ = DirectWork(*tiles, p.g_, output_bytes);
  if (const size_t at = p.name_.find("_quadplanar"); g.kx_folded && at != std::string::npos)
    p.name_.replace(at, std::strlen("_quadplanar"), "_kxfolded");
  p.BindTiles();
  return true;
}

PackedConv::WinogradValues PackedConv::TransformWeights(const Geometry& g, const int8_t* weights, int tile_rows) {
  // u[unit * transforms + i], a unit being one kernel row (along rows) or one kernel (two by two) of output
  // channel c and input channel ic: unit (c * cin_g + ic) * kh + ky, or c * cin_g + ic.
  WinogradValues v;
  if (!WinogradApplies(g.win, tile_rows)) return v;  // none: the kernel is not the form's shape
  const int transforms = WinogradTransforms(tile_rows);
  const int64_t per_kernel = tile_rows == 1 ? g.win.kh : 1, unit_weights = WinogradUnitWeights(tile_rows);
  const int64_t units = g.ys.c * g.cin_g * per_kernel;
  v.u.resize(static_cast<size_t>(units * transforms));
  for (int64_t r = 0; r < units; ++r) {
    int32_t unit[kWinogradMaxTransforms];
    WinogradWeights(tile_rows, weights + r * unit_weights, unit);
    for (int i = 0; i < transforms; ++i)
      v.u[static_cast<size_t>(r * transforms + i)] = static_cast<int16_t>(unit[i]),
      v.max_u = std::max(v.max_u, std::abs(unit[i]));
  }
  return v;
}

bool PackedConv::CreateWinograd(const Microkernel& kernel, const TileSet& t, const Geometry& g,
                                const WinogradValues& values, int32_t max_code, OutputStage stage, PackedConv* out,
                                std::string* why) {
  const std::string name = t.name != nullptr ? t.name : kernel.name;
  if (t.name == nullptr || kernel.center(max_code) != 0 || kernel.weight_type != WeightType::kS8)
    return *why = name + " has no winograd tiles (they take uncentered byte codes and weights)", false;
  const int tile_rows = t.winograd_rows;
  if (!WinogradApplies(g.win, tile_rows))
    return *why = name + (tile_rows == 1 ? " takes only stride-1 kernels 3 columns wide"
                                         : " takes only unstrided, undilated 3x3 kernels"),
           false;
  const int transforms = WinogradTransforms(tile_rows);
  const std::vector<int16_t>& u = values.u;
  const int64_t per_channel = static_cast<int64_t>(u.size()) / g.ys.c;
  const int32_t max_u = values.max_u;
  const int32_t max_v = WinogradMaxV(tile_rows, max_code);
  // The transformed operands must be bytes, and the method exact on them (int16 methods widen where the weights
  // say, WinogradChunks; int32 ones never).
  const int64_t method_steps = kernel.flush_steps(max_v, max_u);
  if (!WinogradFitsBytes(max_v, max_u) || method_steps == 0)
    return *why = name + " cannot accumulate transformed codes up to " + std::to_string(max_v) +
                  " times transformed weights up to " + std::to_string(max_u) + " exactly",
           false;
  // The output stage (winograd.h): biases times the scale plus the offsets' correction, scales divided by it.
  PackedConv& p = *out;
  const int outputs = WinogradOutputs(tile_rows), scale_by = WinogradScale(tile_rows);
  const int64_t bias_stride = WinogradBiasStride(g);
  p.winograd_bias_.assign(static_cast<size_t>((outputs - 1) * bias_stride), 0);
  for (int64_t c = 0; c < g.ys.c; ++c) {
    int64_t sums[kWinogradMaxTransforms] = {}, magnitude = 0;
    const int16_t* const channel = u.data() + c * per_channel;
    for (const int16_t* unit = channel; unit < channel + per_channel; unit += transforms)
      for (int i = 0; i < transforms; ++i) sums[i] += unit[i], magnitude += std::abs(unit[i]);
    const int64_t layer_bias = stage.bias[static_cast<size_t>(c)];
    for (int o = 0; o < outputs; ++o) {
      int64_t bias = scale_by * layer_bias;
      for (int i = 0; i < transforms; ++i)
        bias -= int64_t{WinogradCombine(tile_rows, o, i)} * WinogradOffset(tile_rows, i) * max_code * sums[i];
      // Every partial sum of a tile is within max_v * magnitude, and the biased one within that plus |bias|.
      if (int64_t{max_v} * magnitude + std::abs(bias) > std::numeric_limits<int32_t>::max())
        return *why = name + ": output channel " + std::to_string(c) + " can overflow its int32 sums", false;
      (o == 0 ? stage.bias[static_cast<size_t>(c)] : p.winograd_bias_[static_cast<size_t>((o - 1) * bias_stride + c)]) =
          static_cast<int32_t>(bias);
    }
  }
  for (float& scale : stage.scale) {
    if (!(scale >= scale_by * std::numeric_limits<float>::min()))
      return *why = name + ": an output scale too small to divide by " + std::to_string(scale_by) + " exactly", false;
    scale /= static_cast<float>(scale_by);
  }
  p.g_ = MakeWinogradGeometry(g.xs, g.ys, g.win, g.groups, tile_rows);
  p.staging_ = WinogradStagingGeometry(p.g_);
  p.winograd_max_code_ = static_cast<uint8_t>(max_code);
  p.winograd_input_ = kernel.winograd_input;
  const int64_t output_bytes = stage.codes_out ? 1 : sizeof(float);
  p.Pack(kernel, t, u.data(), 1, transforms, std::move(stage));

  // Where each block's tiles widen, per transform (a method that sums in int32: once, at its end), and the work that
  // makes (in PositionLaneWork's and ChannelLaneWork's units): the steps, a widening at about two steps' work, and
  // two by two a cost of each transform's own (its sums added into four outputs, its AccumulateChunk calls; a tile
  // runs 16 of them), about 5 steps' work with positions on the lanes and 15 with channels (a tile of 6 positions
  // where one of positions has 16). Fitted on a Zen 3 with AVX2 to the layers where two by two lost or won most
  // against the rows form: CIFAR CNN-10's 16-channel 32x32 and 64-channel 8x8 ones (4 and 16 steps a transform; 1.4x
  // slower), the U-Net's 128-channel 64x64 one on uniformly spread weight codes (32 steps, 3 widenings a transform;
  // 1.18x faster) and ResNet-18's 64-channel 56x56 one on its trained weights (16 steps, one widening; 1.18x faster).
  // Tiles that combine their sums in registers (TileSet::combines_in_registers) count neither: a chunk or a
  // transform ends in register additions there (bench/tile_choice.py on a Zen 4 with VNNI: CNN-10 and ResNet-18
  // within 0.2% of their fastest forms).
  constexpr int64_t kChunkCost = 2;
  const int64_t chunk_cost = t.combines_in_registers ? 0 : kChunkCost;
  const int64_t transform_cost = tile_rows == 1 || t.combines_in_registers ? 0
                                 : t.lanes_of == Lanes::kChannels        ? 15
                                                                         : 5;
  const Geometry& wg = p.g_;
  const int64_t steps = wg.steps(), blocks = static_cast<int64_t>(p.blocks_.size());
  p.group_chunk_ends_ = blocks * transforms * steps;
  p.chunk_ends_.assign(static_cast<size_t>(wg.groups * p.group_chunk_ends_), 0);
  int64_t work = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    Block& block = p.blocks_[static_cast<size_t>(b)];
    block.chunk_offset = b * transforms * steps;
    for (int64_t grp = 0; grp < wg.groups; ++grp)
      for (int64_t i = 0; i < transforms; ++i) {
        const auto* w = reinterpret_cast<const int8_t*>(p.weights_.data() + grp * p.group_weight_bytes_ +
                                                         block.weight_offset) + i * steps * block.width * 4;
        int32_t* ends = &p.chunk_ends_[static_cast<size_t>(grp * p.group_chunk_ends_ + block.chunk_offset + i * steps)];
        const int64_t vectors = t.lanes_of == Lanes::kChannels ? CeilDiv(block.width, t.lanes) : block.width;
        int64_t chunks = 1;
        if (method_steps == kNoFlush)
          ends[0] = static_cast<int32_t>(steps);  // int32 sums: one chunk
        else
          chunks = WinogradChunks(w, steps, block.width, max_v, ends);
        work += (steps + chunk_cost * chunks + transform_cost) * vectors;
      }
  }
  if (t.lanes_of == Lanes::kChannels)
    p.work_ = work / wg.groups * wg.positions + ChannelStoreWork(wg, output_bytes);
  else
    p.work_ = (work / wg.groups + outputs * kOutputVectorCost * wg.cout_g) * PositionHalfVectors(t, wg) / 2 +
              kScatteredVectorCost * tile_rows * WinogradScatteredVectors(t, wg) * wg.cout_g;
  p.work_ += kTileCost * Tiles(t, wg.positions, wg.cout_g);
  // Every group's, and the repack's: the padded rows written (RepackWork), then the transformed planes at half that
  // per byte (the transforms store whole vectors of the kernel's width, the padded rows' interleave 16 bytes at a
  // time: on a Zen 5, CNN-10's 8-channel 32x32 layer transformed its 18 KiB in 0.40 us after 0.47 us for the 9 KiB of
  // padded rows; counted alike, the direct layout was picked there, 1.15x slower in q46bench).
  p.work_ = p.work_ * wg.groups + RepackWork(p.staging_) + RepackWork(wg) / 2;
  p.BindTiles();
  return true;
}

void PackedConv::Pack(const Microkernel& kernel, const TileSet& t, const int16_t* values, int64_t values_kw,
                      int64_t transforms, OutputStage stage) {
  const Geometry& g = g_;
  const bool channel_lanes = t.lanes_of == Lanes::kChannels;
  tiles_ = &t;
  name_ = t.name;

  // Channel blocks (one tile's output channels) and position spans (one tile's positions).
  const int64_t steps = g.steps(), grid_taps = g.grid.kh * g.grid.kw;
  const int64_t full_len = int64_t{t.mr} * t.lanes;
  const int64_t elem = kernel.weight_type == WeightType::kS8 ? 1 : 2;
  const auto add_block = [&](int64_t first, int64_t width) {
    blocks_.push_back({first, width, group_weight_bytes_, 0});
    group_weight_bytes_ += transforms * steps * width * 4 * elem;
  };
  if (channel_lanes) {
    const int64_t full = g.cout_g / full_len;
    for (int64_t b = 0; b < full; ++b) add_block(b * full_len, full_len);
    for (int64_t c = full * full_len; c < g.cout_g; c += t.lanes) add_block(c, t.lanes);
    const int64_t outputs = g.winograd ? g.positions : g.ys.h * g.ys.w;  // winograd: tile positions
    for (int64_t q = 0; q < outputs; q += t.max_nr) spans_.push_back({q, std::min<int64_t>(t.max_nr, outputs - q)});
  } else {
    // As few tiles as max_nr allows, their widths differing by at most one (32 channels: 6, 6, 5, 5, 5, 5).
    const int64_t blocks = CeilDiv(g.cout_g, t.max_nr), narrow = g.cout_g / blocks, wide = g.cout_g % blocks;
    for (int64_t b = 0, first = 0; b < blocks; ++b) {
      const int64_t width = narrow + (b < wide ? 1 : 0);
      add_block(first, width);
      first += width;
    }
    // Full tiles in runs, one call each (TileArgs::repeat): a call's own work, paid once per run, was a third of
    // a tile's on CIFAR CNNs' 1x1 layers on 3 input channels. Runs of few-step tiles only (longer ones gain
    // nothing and would read more input than L1 holds before the next block reads it again), at least 4 a block
    // (for the threads to share), and none on winograd's layout.
    constexpr int64_t kStepsPerRun = 256, kMaxTilesPerRun = 16;
    const int64_t full_tiles = g.positions / full_len;
    const int64_t per_run = g.winograd ? 1 : std::clamp<int64_t>(std::min(kStepsPerRun / steps, full_tiles / 4), 1,
                                                                 kMaxTilesPerRun);
    for (int64_t i = 0; i < full_tiles; i += per_run)
      spans_.push_back({i * full_len, std::min(per_run, full_tiles - i) * full_len});
    for (int64_t q = full_tiles * full_len; q < g.positions; q += t.lanes) spans_.push_back({q, t.lanes});
  }

  // Per block [transform][step][channel][4 lanes]; step s is (quad, grid tap), and the lane adds its kernel
  // column where the geometry folds them. Each step's lanes worked out once, and each kernel position's transforms
  // read together (they lie side by side in values): a model's load was a fifth packing.
  weights_.assign(static_cast<size_t>(g.groups * group_weight_bytes_ + kWeightPrefetchSteps * kMaxStepWeightBytes), 0);
  const int64_t channel_values = g.cin_g * g.grid.kh * values_kw * transforms;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t grid_tap = s % grid_taps, ky = grid_tap / g.grid.kw, column = grid_tap % g.grid.kw;
    int64_t lane_value[4];  // lane e's offset into values from its output channel's, or -1: a pad lane
    for (int64_t e = 0; e < 4; ++e) {
      int64_t ic = 0, kx = 0;
      lane_value[e] = g.QuadLane(s / grid_taps, e, &ic, &kx)
                          ? ((ic * g.grid.kh + ky) * values_kw + column + kx) * transforms
                          : -1;
    }
    for (int64_t grp = 0; grp < g.groups; ++grp)
      for (const Block& b : blocks_) {
        // Transform i of lane e of channel n at out + (i * transform_stride + n * 4 + e) * elem.
        unsigned char* const out = &weights_[static_cast<size_t>(grp * group_weight_bytes_ + b.weight_offset +
                                                                 s * b.width * 4 * elem)];
        const int64_t transform_stride = steps * b.width * 4, channels = std::min(b.width, g.cout_g - b.first_channel);
        for (int64_t n = 0; n < channels; ++n) {
          const int16_t* channel = values + (grp * g.cout_g + b.first_channel + n) * channel_values;
          for (int64_t e = 0; e < 4; ++e) {
            if (lane_value[e] < 0) continue;
            const int16_t* v = channel + lane_value[e];
            for (int64_t i = 0; i < transforms; ++i) {
              unsigned char* at = out + (i * transform_stride + n * 4 + e) * elem;
              if (elem == 1)
                *at = static_cast<unsigned char>(static_cast<int8_t>(v[i]));
              else
                std::memcpy(at, &v[i], sizeof(int16_t));
            }
          }
        }
      }
  }
  // Channel-lane tiles write each output vector across channel planes; a residual or quantized copy added there cost
  // more than the separate ops (ResNet-18's layer3 and 4: a residual read and a code written per lane, each its own
  // line), so Run adds them in a pass over the image after the tiles, whose clamp then waits for it. So it does
  // where the residual's activation is not a clamp: the tiles' clamp (maxps) would turn a NaN sum into -inf, where
  // the Add keeps it.
  finish_in_tiles_ = !stage.codes_out && t.lanes_of == Lanes::kPositions &&
                     (!stage.residual || stage.activation.kind == FloatActivation::kClip);
  const bool clip = stage.activation.kind == FloatActivation::kClip && (finish_in_tiles_ || !stage.residual);
  lo_f_ = stage.codes_out ? static_cast<float>(stage.lo - stage.zero_point) : clip ? stage.activation.lo : -INFINITY;
  hi_f_ = stage.codes_out ? static_cast<float>(stage.hi - stage.zero_point) : clip ? stage.activation.hi : INFINITY;
  stage_ = std::move(stage);
  stage_.bias.resize(stage_.bias.size() + kChannelPadding, 0);
  stage_.scale.resize(stage_.scale.size() + kChannelPadding, 1.0f);
}

void PackedConv::BindTiles() {
  const int64_t plane = g_.ys.h * g_.ys.w;
  const int64_t elem = stage_.codes_out ? 1 : sizeof(float);
  image_output_bytes_ = g_.ys.c * plane * elem;
  bound_.clear();
  const int64_t bias_stride = WinogradBiasStride(g_);
  for (int64_t group = 0; group < g_.groups; ++group)
    for (const Block& block : blocks_) {
      const int64_t c0 = group * g_.cout_g + block.first_channel;
      const int32_t* chunk_ends = chunk_ends_.data() + (group * group_chunk_ends_ + block.chunk_offset);  // + 0 if none
      TileOutput out{nullptr, nullptr, plane, static_cast<int>(std::min(block.width, g_.cout_g - block.first_channel)),
                     stage_.codes_out, stage_.bias.data() + c0,
                     g_.winograd ? winograd_bias_.data() + c0 : nullptr, bias_stride,
                     stage_.scale.data() + c0, stage_.zero_point, lo_f_, hi_f_, g_.plane_w, g_.ys.w,
                     g_.positions, g_.ys.h, g_.tile_rows};
      out.code_scale = stage_.code_scale, out.code_zero_point = stage_.code_zero_point;  // RunTile sets out.quantized
      out.code_lo_f = static_cast<float>(stage_.code_lo - stage_.code_zero_point);
      out.code_hi_f = static_cast<float>(stage_.code_hi - stage_.code_zero_point);
      const TileArgs args{nullptr, g_.step_offsets.data(), g_.steps(),
                          weights_.data() + group * group_weight_bytes_ + block.weight_offset, flush_steps_, nullptr,
                          g_.transform_bytes(), chunk_ends, 0, 1, nullptr, center_, out};
      bound_.push_back({args, c0 * plane * elem});
    }
}

void PackedConv::RunTile(const uint8_t* packed, int64_t image, int64_t group, int64_t block, int64_t span_index,
                         void* y, const float* residual, uint8_t* codes) const {
  const Span& span = spans_[static_cast<size_t>(span_index)];
  const TileSet& t = *tiles_;
  const bool channel_lanes = t.lanes_of == Lanes::kChannels;
  const int64_t width = blocks_[static_cast<size_t>(block)].width;
  const BoundBlock& bound = bound_[static_cast<size_t>(group * static_cast<int64_t>(blocks_.size()) + block)];
  alignas(64) int32_t partial[kPartialSums];
  int64_t position_bytes[kMaxNr];
  TileArgs args = bound.args;
  args.x = packed + group * g_.group_bytes;
  args.partial = partial;
  args.first = span.first;
  args.position_bytes = position_bytes;
  args.out.out = static_cast<unsigned char*>(y) + image * image_output_bytes_ + bound.out_offset;
  // Floats out: the tile's first output's element, also in the residual and the codes (null for channel lanes).
  const int64_t first_output = (image * image_output_bytes_ + bound.out_offset) / static_cast<int64_t>(sizeof(float));
  if (codes) args.out.quantized = codes + first_output;
  if (residual) {
    // The output stage adds the residual of the tile's outputs: asked for now, it arrives while the steps run.
    args.out.residual = residual + first_output;
    const float* const group_planes = residual + (image * g_.ys.c + group * g_.cout_g) * g_.ys.h * g_.ys.w;
    ForEachOutputRun(block, span_index, span_index + 1, [&](int64_t at, int64_t count) {
      for (int64_t k = 0; k < count; k += kCacheLine / sizeof(float)) __builtin_prefetch(group_planes + at + k);
      __builtin_prefetch(group_planes + at + count - 1);
    });
  }
  if (channel_lanes && g_.winograd) {  // tile positions are the planes' positions
    for (int64_t i = 0; i < span.count; ++i) position_bytes[i] = 4 * (span.first + i);
  } else if (channel_lanes) {
    for (int64_t i = 0, row = span.first / g_.ys.w, col = span.first - row * g_.ys.w; i < span.count; ++i, ++col) {
      if (col == g_.ys.w) col = 0, ++row;
      position_bytes[i] = 4 * (row * g_.plane_w + col);
    }
  }
  const int64_t full_len = int64_t{t.mr} * t.lanes;
  if (channel_lanes) {
    (width == full_len ? t.full : t.tail)[span.count - 1](args);
  } else {
    args.x += span.first * 4;
    args.repeat = std::max<int64_t>(1, span.count / full_len);
    (span.count >= full_len ? t.full : t.tail)[width - 1](args);
  }
}

PlaneRows PackedConv::RowsRead(int64_t begin, int64_t end, bool weights_outer) const {
  const int64_t spans = static_cast<int64_t>(spans_.size()), per_group = spans * static_cast<int64_t>(blocks_.size());
  const int64_t inner = weights_outer ? spans : static_cast<int64_t>(blocks_.size());
  // Positions-outer items of one group take a run of spans; others, all of them.
  if (weights_outer || end <= begin || begin / per_group != (end - 1) / per_group) return {0, g_.plane_h};
  const Span& first = spans_[static_cast<size_t>(begin % per_group / inner)];
  const Span& last = spans_[static_cast<size_t>((end - 1) % per_group / inner)];
  // The spans' rows (of tile or grid positions; direct channel lanes count output positions, a row of outputs to a
  // plane row), and the kernel's rows below them (strided, fewer in each phase: more than enough).
  const int64_t row_len = tiles_->lanes_of == Lanes::kChannels && !g_.winograd ? g_.ys.w : g_.plane_w;
  const int64_t rows_below = g_.grid.dh * (g_.grid.kh - 1);
  return {first.first / row_len, CeilDiv(last.first + last.count, row_len) + rows_below};
}

int PackedConv::RunThreads(int threads) const {
  // A thread only pays for its fork and join with about a million MACs of work (~10 us here), or a quarter of a
  // megabyte of weights to stream: a layer of few positions waits on its weights, not its multiply-adds (ResNet-18's
  // fc, 512 KiB of weights and as many MACs, took 30 us on one thread of a Zen 4).
  constexpr int64_t kMacsPerThread = 1 << 20, kWeightBytesPerThread = 1 << 18;
  const int64_t macs = g_.ys.h * g_.ys.w * g_.ys.c * g_.cin_g * g_.win.kh * g_.win.kw;
  const int64_t work = std::max(macs / kMacsPerThread, g_.groups * group_weight_bytes_ / kWeightBytesPerThread);
  const int64_t items = g_.groups * static_cast<int64_t>(blocks_.size() * spans_.size());
  return static_cast<int>(std::clamp<int64_t>(std::min(work, items), 1, std::max(threads, 1)));
}

size_t PackedConv::scratch_bytes(int threads) const {
  return g_.input_as_is ? 0 : kScratchAlignment - 1 + copy_bytes() * static_cast<size_t>(RunThreads(threads));
}

template <class Fn>
void PackedConv::ForEachOutputRun(int64_t block, int64_t span_begin, int64_t span_end, Fn&& fn) const {
  // The channels and the run of positions (in the layout's units; spans are consecutive).
  const Block& b = blocks_[static_cast<size_t>(block)];
  const int64_t c_begin = b.first_channel, c_end = std::min(b.first_channel + b.width, g_.cout_g);
  const Span& last = spans_[static_cast<size_t>(span_end - 1)];
  const int64_t p_begin = spans_[static_cast<size_t>(span_begin)].first, p_end = last.first + last.count;
  // A unit of positions covers `rows` output rows and `cols` columns, `per_row` units to a row of them: winograd
  // tile positions, grid positions (position lanes), or output positions (channel lanes).
  const bool output_positions = tiles_->lanes_of == Lanes::kChannels && !g_.winograd;
  const int64_t per_row = output_positions ? g_.ys.w : g_.plane_w;
  const int64_t rows = g_.winograd ? g_.tile_rows : 1, cols = g_.winograd ? 2 : 1;
  const int64_t plane = g_.ys.h * g_.ys.w;
  for (int64_t u = p_begin / per_row * per_row; u < p_end; u += per_row) {  // the units' rows
    const int64_t col_begin = std::max<int64_t>(p_begin - u, 0) * cols;
    const int64_t col_end = std::min(std::min(p_end - u, per_row) * cols, g_.ys.w);
    if (col_begin >= col_end) continue;
    for (int64_t row = u / per_row * rows; row < std::min(u / per_row * rows + rows, g_.ys.h); ++row)
      for (int64_t c = c_begin; c < c_end; ++c) fn(c * plane + row * g_.ys.w + col_begin, col_end - col_begin);
  }
}

void PackedConv::Run(const uint8_t* x, uint8_t pad_code, void* y, uint8_t* scratch, int threads,
                     const float* residual, uint8_t* codes) const {
  scratch = AlignUp(scratch, kScratchAlignment);
  threads = RunThreads(threads);  // each one a share of the items (ParallelRangesBalanced) and a copy of the input
  const int64_t blocks = static_cast<int64_t>(blocks_.size()), spans = static_cast<int64_t>(spans_.size());
  const int64_t per_group = blocks * spans, items = g_.groups * per_group;
  if (items == 0) return;
  // Keep the larger operand streaming once: with more weights than input, walk positions inside channel
  // blocks (the input stays in cache), else the reverse.
  const bool weights_outer = group_weight_bytes_ > g_.group_bytes;
  const int64_t inner = weights_outer ? spans : blocks, outers = weights_outer ? blocks : spans;
  const size_t copy = copy_bytes();
  for (int64_t image = 0; image < g_.xs.n; ++image) {
    // Each thread's packed input: its own copy (see the header), or the NCHW input as it is.
    const auto own_copy = [&](int part) { return scratch + static_cast<size_t>(part) * copy; };
    // What the tiles leave to a pass over the image after them (below): an activation other than a clamp (and the
    // quantized copy after it), or, from channel-lane tiles, the residual and the quantized copy.
    const FloatActivation& act = stage_.activation;
    const bool whole_activation =
        !stage_.codes_out && act.kind != FloatActivation::kNone && act.kind != FloatActivation::kClip;
    const bool after_tiles = whole_activation || (!finish_in_tiles_ && (residual || codes));
    const auto packed = [&](int part) { return g_.input_as_is ? x + image * g_.xs.c : own_copy(part); };
    // Into a thread's copy: the rows that items [begin, end) read, where the repack writes bands; else everything.
    const bool bands = g_.winograd || g_.repacks_bands();
    const auto repack = [&](int part, int64_t begin, int64_t end) {
      if (g_.input_as_is) return;
      uint8_t* const own = own_copy(part);
      if (g_.winograd)
        RepackWinogradInput(g_, staging_, x, image, pad_code, winograd_max_code_, own, winograd_input_,
                            RowsRead(begin, end, weights_outer));
      else
        RepackInput(g_, x, image, pad_code, own, bands ? RowsRead(begin, end, weights_outer) : PlaneRows{0, g_.plane_h});
    };
    // Each thread walks slices of contiguous items (ParallelRangesBalanced), dividing only for a slice's first: a
    // tile of a small layer costs little more than the divisions did. A thread whose copy holds only its own
    // share's rows repacks those of a slice it takes from another's (the slice's input is then in its own cache).
    ParallelRangesBalanced(items, 1, threads, repack, [&](int part, int64_t begin, int64_t end) {
      const int64_t own_begin = items * part / threads, own_end = items * (part + 1) / threads;  // its share
      if (bands && (begin < own_begin || end > own_end)) {
        const PlaneRows own = RowsRead(own_begin, own_end, weights_outer);
        if (own.begin > 0 || own.end < g_.plane_h) repack(part, begin, end);
      }
      int64_t group = begin / per_group, outer = begin % per_group / inner, in = begin % per_group % inner;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = weights_outer ? outer : in, s = weights_outer ? in : outer;
        RunTile(packed(part), image, group, b, s, y, finish_in_tiles_ ? residual : nullptr,
                after_tiles ? nullptr : codes);
        if (++in < inner) continue;
        in = 0;
        if (++outer < outers) continue;
        outer = 0, ++group;
      }
    });
    // The pass: the residual and the activation as the Add computes them (or the activation alone, as the Unary
    // op), then the quantized copy as the Quantize op writes it, over a share of the image's channels per thread.
    if (!after_tiles) continue;
    const int64_t plane = g_.ys.h * g_.ys.w, image_first = image * g_.ys.c * plane;
    float* const values = static_cast<float*>(y) + image_first;
    ParallelRangesBalanced(g_.ys.c, 1, threads, [&](int64_t begin, int64_t end) {
      const int64_t first = begin * plane, count = (end - begin) * plane;
      if (residual && !finish_in_tiles_)
        BinaryFlat(BinaryKind::kAdd, values + first, residual + image_first + first, count, act, values + first);
      else if (whole_activation)
        UnaryFlat(values + first, count, act, values + first);
      if (codes)
        QuantizeRow(values + first, count, stage_.code_scale, stage_.code_zero_point, stage_.code_lo, stage_.code_hi,
                    codes + image_first + first);
    });
  }
}

}  // namespace q46::kernels::qconv
