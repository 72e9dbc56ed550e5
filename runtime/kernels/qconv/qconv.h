// Fast integer convolution: the interface between the conv op and the SIMD microkernels.
//
// Layout ("quad-planar"): before a convolution runs, each image's input codes are repacked per group into
// planes of 4-channel quads, one plane per stride phase, padding materialised with the pad code (except where the
// planes are 1 x 1 and the channels fill whole quads: NCHW already is that layout, Geometry::input_as_is):
//   packed[group][quad][phase_y][phase_x][position][4 channels],  position = row * plane_width + column.
// Splitting rows and columns by stride phase makes every kernel tap a constant offset from the output
// position on a grid as wide as the plane, so a vector of consecutive output positions reads one contiguous
// run of quads for every tap, whatever the stride, dilation and padding. With positions on the vector lanes,
// output positions whose column is past the output width are computed and dropped (the price of the grid);
// with output channels on the lanes, each position broadcasts its own quad and none is wasted. Weights are
// packed once, at load, per block of output channels: [step][channels][4], step = (quad, ky, kx).
//
// Layout "kx-folded", for layers with few input channels (an RGB stem fills 3 of a quad's 4 lanes at each of
// its taps): the kernel's columns are folded into the channels. Virtual channel kx * cin_g + c at output
// column ox holds input channel c at column ox * sw + kx * dw - pad_l, so the planes are as wide as the output
// (no dropped columns, no column phases) and the steps walk the kernel's rows only: step = (quad, ky). The 21
// values of a 7-wide RGB kernel row fill 6 quads where the quad-planar layout spends 7. MakeGeometry folds
// where that saves work, the larger repack included.
//
// Layout "winograd", for stride-1 layers whose kernel is 3 columns wide (winograd.h has the arithmetic): each
// pair of neighbouring output columns is a tile position, position = row * plane_w + tile, and the input is
// repacked transformed, four planes per quad (one per transform i):
//   packed[group][quad][i][position][4 channels],  steps = (quad, ky),
// each plane as many rows as the padded input and one column per tile, so every kernel row is again a constant
// offset. A tile runs the steps once per transform and combines the four sums into its two output columns: 4
// multiplies for every 6 of the direct layouts. Its two-by-two form (Geometry::tile_rows 2), for 3x3 kernels
// unstrided and undilated: each 2x2 block of outputs is a tile position, position = tile row * plane_w + tile, and
// the input is repacked transformed from 4x4 patches, sixteen planes per quad, one row per tile row:
//   packed[group][quad][t][position][4 channels],  steps = quad;
// a tile combines the sixteen sums into its four outputs: 16 multiplies for every 36. In both forms each plane
// starts a cache line and one quad's planes end a line before the next quad's (Geometry::quad_bytes).
//
// A microkernel computes a tile of int32 sums, positions by output channels, with either positions or output
// channels on the vector lanes (TileSet), then its output stage: bias, requantize to codes or dequantize to
// floats, written into the NCHW output. This header knows no intrinsics: the microkernels live in per-ISA
// translation units (qconv_avx2.cc, qconv_avx512.cc, qconv_vnni.cc; qconv_neon.cc on aarch64).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "runtime/kernels/qconv/winograd.h"
#include "runtime/kernels/ref/ref_kernels.h"

namespace q46::kernels::qconv {

// Instruction-set levels. On x86 each includes the ones before it (avx2 < avx512 < vnni); on ARM there is neon.
// The reference kernel runs everywhere.
enum class Isa { kRef = 0, kAvx2 = 1, kAvx512 = 2, kVnni = 3, kNeon = 4 };
const char* IsaName(Isa isa);
bool ParseIsa(const std::string& name, Isa* isa);  // "ref", "avx2", "avx512", "vnni", "neon"
Isa DetectIsa();                                     // the best level this CPU (and OS) supports
bool IsaWithin(Isa isa, Isa max);                    // may code for `isa` run where `max` is the limit?

// The packed geometry of one convolution (see above).
struct Geometry {
  Dims4 xs, ys;
  Window2d win;   // the layer's
  Window2d grid;  // the one the steps walk: win, or, kx-folded, its rows only (kw, sw, dw 1, no column pads)
  bool kx_folded = false;
  bool winograd = false;
  bool input_as_is = false;  // the packed input is the NCHW input itself (AsIsGeometry)
  int tile_rows = 1;  // winograd: output rows per tile position (1: F(2, 3) along rows; 2: F(2x2, 3x3))
  int64_t groups = 1, cin_g = 0, cout_g = 0;
  int64_t quads = 0;         // ceil(cin_g / 4), kx-folded ceil(win.kw * cin_g / 4)
  int64_t plane_h = 0, plane_w = 0;  // each of the grid.sh * grid.sw stride-phase planes (winograd: transforms;
                                     // two by two, plane_h is the tile rows)
  int64_t positions = 0;     // computed output positions per image and group: (OH - 1) * plane_w + OW
                             // (winograd: tile positions, ceil(OH / tile_rows) * plane_w)
  int64_t plane_len = 0;     // positions per plane including read slack past the last tile (winograd: rounded up
                             // to whole cache lines)
  int64_t quad_bytes = 0;    // bytes from one quad's planes to the next's
  int64_t group_bytes = 0;   // bytes of one group's packed input
  std::vector<int64_t> step_offsets;  // per step (quad, ky, kx): bytes from the group's base
  std::vector<bool> phase_used;       // per stride-phase plane: read by some tap (a 1x1 stride-2 layer reads one)
  int64_t steps() const { return static_cast<int64_t>(step_offsets.size()); }
  int64_t packed_input_bytes() const { return group_bytes * groups; }
  // What lane e of a quad holds: input channel *ic (within the group) read at kernel column *kx (0 unless
  // kx-folded); false for a lane past the channels (pad codes, zero weights).
  bool QuadLane(int64_t quad, int64_t e, int64_t* ic, int64_t* kx) const {
    const int64_t v = quad * 4 + e;
    if (!kx_folded) return *ic = v, *kx = 0, v < cin_g;
    if (v >= cin_g * win.kw) return false;
    *ic = v % cin_g, *kx = v / cin_g;
    return true;
  }
  // Unstrided and unfolded, the repack takes each quad's channel planes whole: as one run where nothing pads
  // them above or beside; padded, rows of 16 quads or more interleaved in place, narrower ones as one run then
  // moved apart (RepackInput).
  bool repacks_whole_planes() const { return !kx_folded && !winograd && win.sh == 1 && win.sw == 1; }
  // Taking whole planes, RepackInput writes them as one run where nothing pads them above or beside, and
  // interleaves padded rows of kInPlaceRowQuads quads or more in place.
  bool planes_back_to_back() const { return win.pad_t == 0 && win.pad_l == 0 && plane_w == xs.w; }
  static constexpr int64_t kInPlaceRowQuads = 16;
  // Whether RepackInput writes a band's rows alone: row by row where it does not take whole planes, and padded rows
  // interleaved in place; the others (one run, or staged) are written whole whatever the band.
  bool repacks_bands() const {
    return !repacks_whole_planes() || (!planes_back_to_back() && xs.w >= kInPlaceRowQuads);
  }
  // Bytes between a quad's transformed planes, and how many it has (winograd).
  int64_t transform_bytes() const { return plane_len * 4; }
  int transforms() const { return WinogradTransforms(tile_rows); }
  // Scratch a run needs: the packed input and pad codes for missing channels, a row or a whole plane (not for a
  // winograd geometry: see PackedConv::scratch_bytes).
  int64_t scratch_bytes() const { return packed_input_bytes() + (repacks_whole_planes() ? xs.h * xs.w : xs.w); }
};
constexpr int kMaxLanes = 16;  // widest vector of positions any microkernel reads
// kAuto folds the kernel's columns where the estimated work (steps times grid positions times output channels,
// plus the repack's bytes) drops by a tenth; the others force a layout (tests, benchmarks).
enum class KxFold { kAuto, kNever, kAlways };
Geometry MakeGeometry(Dims4 xs, Dims4 ys, const Window2d& win, int64_t groups, KxFold fold = KxFold::kAuto);
// The winograd layout of the same convolution, where it applies: kernel 3 columns wide, stride 1, dilation 1
// along rows; the two-by-two form (tile_rows 2) also 3 rows high, unstrided and undilated down them.
bool WinogradApplies(const Window2d& win, int tile_rows);
Geometry MakeWinogradGeometry(Dims4 xs, Dims4 ys, const Window2d& win, int64_t groups, int tile_rows);
// The quad-planar geometry whose padded rows the winograd repack transforms, with the slack its reads need.
Geometry WinogradStagingGeometry(const Geometry& winograd);

// Rows [begin, end) of every plane of a layout (winograd: of its transformed planes); a range that ends at the
// planes' last row also takes what lies past it (slack the tiles and transforms read).
struct PlaneRows {
  int64_t begin, end;
};
// Repacks image `n` of NCHW codes x into g's layout (quad-planar or kx-folded) at `packed`
// (Geometry::scratch_bytes() long): at least the rows of `band` in every plane (those alone where
// Geometry::repacks_bands(); else whole planes), all of them by default.
void RepackInput(const Geometry& g, const uint8_t* x, int64_t n, uint8_t pad_code, uint8_t* packed,
                 PlaneRows band = {0, std::numeric_limits<int64_t>::max()});
// The same into a winograd geometry g, transforming codes <= max_code, by way of the padded rows in `staging`'s
// layout (WinogradStagingGeometry(g)) after g's; `packed` is g.packed_input_bytes() + staging.scratch_bytes() long.
// Writes at least `band`'s transformed rows.
void RepackWinogradInput(const Geometry& g, const Geometry& staging, const uint8_t* x, int64_t n, uint8_t pad_code,
                         uint8_t max_code, uint8_t* packed, const WinogradInput& input = {},
                         PlaneRows band = {0, std::numeric_limits<int64_t>::max()});

// Where a tile's outputs go and the output stage that makes them. The tile's channel c writes output position
// p (row * out_w + column) to out + c * channel_stride + p. Codes: requantize with scale[c], clamp the scaled
// value to [lo_f, hi_f] (= [lo, hi] - zero_point), round, add the zero point. Floats: dequantize with
// scale[c], add the residual's element at the same place (if any), clip to [lo_f, hi_f], and where `quantized` is set
// also write those floats quantized there (QuantizeRow's arithmetic, with code_scale, code_zero_point and the
// codes' range less the zero point, [code_lo_f, code_hi_f]); residual and quantized: position-lane tiles only.
// bias and scale may be read up to kMaxLanes * 4 channels past `channels`.
struct TileOutput {
  void* out;               // the tile's first channel's NCHW plane: uint8 codes or floats
  const float* residual;   // floats: the same in a residual tensor of the output's shape, or null
  int64_t channel_stride;  // elements between consecutive channels' planes
  int channels;            // channels to write: the tile's width (channel lanes: fewer in the last one)
  bool codes;
  const int32_t* bias;            // per channel, from the tile's first
  const int32_t* winograd_bias;   // winograd tiles: output o's bias (o = 2 row + column within the tile position)
  int64_t winograd_bias_stride;   // is winograd_bias + (o - 1) * winograd_bias_stride for o >= 1 (`bias` for 0)
  const float* scale;
  int32_t zero_point;
  float lo_f, hi_f;
  int64_t plane_w, out_w, positions;  // position-lane and winograd tiles: the grid and its last position
  int64_t out_h;                      // winograd tiles
  int tile_rows;                      // winograd tiles: Geometry::tile_rows
  uint8_t* quantized = nullptr;       // floats: the same in a code tensor of the output's shape, or null
  float code_scale = 1;
  int32_t code_zero_point = 0;
  float code_lo_f = 0, code_hi_f = 0;
};

// One tile's work: its positions by its output channels, all steps, then the output stage.
//   Position lanes: mr x lanes consecutive grid positions from `first` (x = group base + 4 * first) by nr
//     channels; grid position q is output row q / plane_w, column q % plane_w, dropped past out_w.
//   Channel lanes: nr output positions from `first` (x = group base; position_bytes[i] = 4 * grid position of
//     output position first + i) by mr x lanes channels.
//   Winograd tiles: the same over tile positions (a grid position each; position_bytes[i] = 4 * (first + i)).
struct TileArgs {
  const uint8_t* x;
  const int64_t* offsets;         // Geometry::step_offsets
  int64_t steps;
  const void* weights;            // this tile's packed weights, [steps][channels][4] of the weight type
  int64_t flush_steps;            // steps an accumulator may take before it is widened into `partial` (>= 1)
  int32_t* partial;               // [nr][mr * lanes] int32 sums: kept between flushes, then read by the output stage
                                  // (winograd: one such per output of a tile position)
  int64_t transform_bytes;        // winograd: bytes between transformed planes (weights: one block's steps apart)
  const int32_t* chunk_ends;      // winograd: per transform (steps apart), where its chunks end (the last at steps);
                                  // they replace flush_steps
  int64_t first;
  int64_t repeat;                 // position lanes, not winograd: tiles one after another from `first` (else 1)
  const int64_t* position_bytes;  // channel lanes only
  uint8_t center;                 // Microkernel::center
  TileOutput out;
};
using TileFn = void (*)(const TileArgs&);
constexpr int kMaxNr = 6;
// TileArgs::partial's int32s: 4 vectors of kMaxLanes by kMaxNr, for each of a two-by-two winograd tile's four
// outputs (WinogradTileOf asserts it).
constexpr int kPartialSums = kMaxNr * 4 * kMaxLanes * kWinogradMaxOutputs;

// Tiles ask for their weights kWeightPrefetchSteps steps ahead (qconv_methods.h's PrefetchWeights), at most
// kMaxStepWeightBytes a step (four vectors of kMaxLanes channels' quads); PackedConv's weights end with
// kWeightPrefetchSteps * kMaxStepWeightBytes zeros, so the addresses asked for past the last step stay inside them.
constexpr int64_t kWeightPrefetchSteps = 32;
constexpr int64_t kMaxStepWeightBytes = 4 * kMaxLanes * 4;

// Microkernel::flush_steps of a method that accumulates in int32: it never widens.
constexpr int64_t kNoFlush = std::numeric_limits<int64_t>::max();

enum class WeightType { kS8, kS16 };
enum class Lanes { kPositions, kChannels };

// The tiles of one method in one layout: lanes of positions (one weight broadcast per channel, the input
// loaded as vectors; best on wide images) or lanes of output channels (one input broadcast per position, the
// weights loaded as vectors; no grid columns wasted, best on small images and 1-position layers).
struct TileSet {
  const char* name;  // method, tile (positions x channels), layout, ISA
  Lanes lanes_of;
  int winograd_rows;  // 0: a direct layout's; else the winograd layout's, its Geometry::tile_rows
  int lanes, mr, max_nr;
  TileFn full[kMaxNr];  // mr x nr tiles, index nr - 1
  TileFn tail[kMaxNr];  // 1 x nr tiles
  bool combines_in_registers;  // winograd position lanes: a transform's sums combined in registers, not memory
};

struct Microkernel {
  const char* name;  // method and ISA
  Isa isa;
  WeightType weight_type;
  // How many steps int16 accumulators may take before widening, for activation codes <= max_code and
  // |weight codes| <= max_weight; 0 if this method cannot compute that precision exactly; kNoFlush where it
  // accumulates in int32 and never widens.
  int64_t (*flush_steps)(int32_t max_code, int32_t max_weight);
  // The code the method subtracts from every activation before multiplying (0: none); its product with each
  // output channel's weight sum is added back through the bias.
  int32_t (*center)(int32_t max_code);
  TileSet positions;
  TileSet channels;  // name nullptr where the method has no channel-lane tiles
  TileSet winograd;           // the winograd layout's position lanes; name nullptr where the method has none
  TileSet winograd_channels;  // and its channel lanes
  TileSet winograd2d;           // the same, two by two
  TileSet winograd2d_channels;
  WinogradInput winograd_input;  // the winograd layouts' input transforms
  std::vector<const TileSet*> tile_sets() const {
    return {&positions, &channels, &winograd, &winograd_channels, &winograd2d, &winograd2d_channels};
  }
};

// Every microkernel this build has that this CPU can execute, fastest first; the caller filters by ISA level
// and precision and falls back to the reference kernel.
std::vector<const Microkernel*> Microkernels();

// A convolution bound to one microkernel with its weights packed: built once at load, run many times.
struct OutputStage {
  bool codes_out = true;
  std::vector<float> scale;    // per output channel: requantization multiplier, or accumulator scale
  std::vector<int32_t> bias;   // per output channel, zero-point term folded in
  int32_t zero_point = 0;      // codes out
  int32_t lo = 0, hi = 255;    // codes out: the clamp on codes
  FloatActivation activation;  // float out (with a residual: applied after adding it)
  bool residual = false;       // float out: Run adds a residual tensor of the output's shape (a fused Add)
  // Float out: Run also writes the floats quantized into a code tensor (a fused Quantize) of this quantization.
  bool codes_too = false;
  float code_scale = 1;
  int32_t code_zero_point = 0, code_lo = 0, code_hi = 255;
};

class PackedConv {
 public:
  PackedConv() = default;
  // Moves keep the bound tile arguments valid (they point into the vectors' buffers); copies would not.
  PackedConv(PackedConv&&) = default;
  PackedConv& operator=(PackedConv&&) = default;
  PackedConv(const PackedConv&) = delete;
  PackedConv& operator=(const PackedConv&) = delete;
  // `weights` are OIHW codes within +-max_weight; activations are codes <= max_code. Uses `tiles` (one of the
  // kernel's tile sets; the winograd tiles on g's winograd geometry), or by default the one that wastes the least
  // work on this shape. Returns false (and why) if `kernel` cannot run this precision, or the winograd tiles this
  // layer.
  static bool Create(const Microkernel& kernel, const Geometry& g, const int8_t* weights, int32_t max_code,
                     int32_t max_weight, OutputStage stage, PackedConv* out, std::string* why,
                     const TileSet* tiles = nullptr);
  // The tile set's name; "kxfolded" in place of "quadplanar" where the geometry folds the kernel's columns.
  const std::string& name() const { return name_; }
  // Create's estimate of this layout's time on its layer, in vector multiply-add steps (its tiles' steps, output
  // stage and input repack): the figure it compares to pick a layout (bench/tile_choice.py sets it beside measured
  // times).
  int64_t estimated_work() const { return work_; }
  // Scratch a run on `threads` threads needs: a copy of the packed input per thread it uses (Run).
  size_t scratch_bytes(int threads = 1) const;
  // y (NCHW codes or floats) = conv(x), using `scratch` (scratch_bytes(threads), any alignment) and up to
  // `threads`. Each thread repacks into a copy of its own what its share of the tiles reads (layers whose tiles walk
  // positions outermost and whose repack writes bands: the rows of its positions, RowsRead; others: the whole input),
  // then computes its tiles, and those it takes from others' shares as it finishes (repacking their rows first where
  // its copy holds only its own): a tile reads only what its own thread wrote. (Where the threads shared one copy,
  // each repacking a part of the channels, a tile read half its input from the other core's cache: on a machine
  // whose two cores share no cache, ResNet-18's 3x3 layers ran no faster on two threads than on one.)
  // With OutputStage::residual, y = activation(conv(x) + residual) (residual NCHW floats, y's shape); with
  // OutputStage::codes_too, y also quantized into `codes` (NCHW, y's shape). Position tiles' output stage adds the
  // residual of their outputs (asked for when the tile starts) before the clamp and writes the codes; channel-lane
  // layers, and activations other than a clamp, do either or both in a pass over the image after the tiles.
  void Run(const uint8_t* x, uint8_t pad_code, void* y, uint8_t* scratch, int threads,
           const float* residual = nullptr, uint8_t* codes = nullptr) const;

 private:
  // Run aligns the packed input to a cache line (the winograd layouts' planes start on lines).
  static constexpr size_t kScratchAlignment = 64;
  // One thread's copy of the packed input (winograd: and its padded rows), whole cache lines.
  size_t copy_bytes() const {
    const int64_t bytes = g_.winograd ? g_.packed_input_bytes() + staging_.scratch_bytes() : g_.scratch_bytes();
    return (static_cast<size_t>(bytes) + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment;
  }
  // A run of output channels computed by one tile, with its packed weights.
  struct Block {
    int64_t first_channel, width, weight_offset;
    int64_t chunk_offset;  // winograd: its chunk ends in a group's (chunk_ends_)
  };
  // A run of positions: `first` and `count` in the layout's units (grid positions or output positions); with
  // position lanes, one vector or a whole number of full tiles (TileArgs::repeat).
  struct Span {
    int64_t first, count;
  };
  // A layer's weights transformed for one winograd form (winograd.h's u, from TransformWeights; none where the
  // kernel is not the form's shape), shared by its two tile forms, and their largest magnitude.
  struct WinogradValues {
    std::vector<int16_t> u;
    int32_t max_u = 0;
  };
  static WinogradValues TransformWeights(const Geometry& g, const int8_t* weights, int tile_rows);
  static bool CreateWinograd(const Microkernel& kernel, const TileSet& tiles, const Geometry& g,
                             const WinogradValues& values, int32_t max_code, OutputStage stage, PackedConv* out,
                             std::string* why);
  // With g_ set: the blocks, spans and packed weights of `tiles`, from `transforms` weights per kernel position
  // of the grid (winograd: per kernel row, or two by two per kernel),
  // values[((((c * cin_g + ic) * grid.kh + ky) * values_kw + kx) * transforms + i] (c over all output channels),
  // then the output stage.
  void Pack(const Microkernel& kernel, const TileSet& tiles, const int16_t* values, int64_t values_kw,
            int64_t transforms, OutputStage stage);
  // With the layout packed and its output stage set: bound_.
  void BindTiles();
  // Tile (block, span) of `group` and `image`; residual, codes: the whole tensors, or null.
  void RunTile(const uint8_t* packed, int64_t image, int64_t group, int64_t block, int64_t span, void* y,
               const float* residual, uint8_t* codes) const;
  // Calls fn(at, count) for each run of `count` consecutive outputs, `at` elements from a group's first output
  // plane, that the tiles of block `block` and spans [span_begin, span_end) write.
  template <class Fn>
  void ForEachOutputRun(int64_t block, int64_t span_begin, int64_t span_end, Fn&& fn) const;
  // The threads Run uses when given `threads`: at most one per item and per million MACs or quarter megabyte of
  // weights, at least one.
  int RunThreads(int threads) const;
  // The rows of the planes (winograd: the transformed ones) that the tiles of Run's items [begin, end) read (all of
  // them unless the items walk positions outermost within one group).
  PlaneRows RowsRead(int64_t begin, int64_t end, bool weights_outer) const;
  const TileSet* tiles_ = nullptr;
  std::string name_;
  Geometry g_;
  Geometry staging_;  // winograd: the padded rows' (RepackWinogradInput)
  int64_t flush_steps_ = 1, group_weight_bytes_ = 0;
  uint8_t center_ = 0;
  uint8_t winograd_max_code_ = 0;       // winograd: the input transform's offset
  WinogradInput winograd_input_;        // winograd: the kernel's input transforms
  std::vector<Block> blocks_;        // per group, the same
  std::vector<Span> spans_;
  std::vector<unsigned char> weights_;  // [group][block][steps][width][4] of the weight type
  OutputStage stage_;                   // bias and scale padded by kMaxLanes * 4 channels (winograd: see winograd.h)
  std::vector<int32_t> winograd_bias_;  // winograd: outputs 1.. of a tile position's bias, each padded alike
  std::vector<int32_t> chunk_ends_;     // winograd: [group][block][transform][steps], TileArgs::chunk_ends
  int64_t group_chunk_ends_ = 0;        // winograd: entries per group
  int64_t work_ = 0;                    // estimated_work()
  // Per group and block (group * blocks + block), the tile arguments no span or run changes, so that a tile
  // copies them instead of working them out; their output pointer is null, the block's first output being
  // out_offset bytes from its image's.
  struct BoundBlock {
    TileArgs args;
    int64_t out_offset;
  };
  std::vector<BoundBlock> bound_;
  int64_t image_output_bytes_ = 0;  // one image's outputs: out_offset's stride over images
  float lo_f_ = 0, hi_f_ = 0;           // TileOutput's clamp
  bool finish_in_tiles_ = false;        // the tiles add the residual and write the quantized copy (see Pack)
};

}  // namespace q46::kernels::qconv
