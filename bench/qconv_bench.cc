// Microbenchmark of the integer convolution kernels (runtime/kernels/qconv/) on the layer shapes of ResNet-18
// at 224x224 (the 7x7 stem, the 3x3 layers, a 1x1 stride-2 shortcut), CIFAR-10 layers and a grayscale 3x3, on one
// thread unless --threads says more: the whole packed convolution per microkernel and tile form (position lanes, channel lanes, and winograd
// on stride-1 3x3 layers) and the one PackedConv::Create picks on the layout MakeGeometry picks (`auto`, labelled
// with its name), and its parts (input repack alone, direct and winograd); layers with a partial quad of input
// channels in both layouts (quad-planar and kx-folded). Counters: MACs per second, and Create's estimate of each
// form's work.
// Run: build/bin/qconv_bench [--shape=NAME:C,H,W,OC,K,STRIDE,PAD ...] [--threads=N] [--benchmark_format=json].
// Each --shape replaces the built-in list by that layer (square kernel, the same padding on every side;
// bench/tile_choice.py passes a network's layers this way); --threads runs each whole convolution on N
// threads, as PackedConv::Run splits them, with the same input every iteration. Measures only; asserts nothing.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/kernels/align.h"
#include "runtime/kernels/qconv/qconv.h"

namespace q46::kernels::qconv {
namespace {

int g_threads = 1;  // --threads

struct Shape {
  std::string name;
  int64_t c, h, w, oc, k, stride, pad;
};
const Shape kShapes[] = {
    {"resnet18_conv1_7x7_s2", 3, 224, 224, 64, 7, 2, 3},   {"resnet18_layer1_3x3", 64, 56, 56, 64, 3, 1, 1},
    {"resnet18_layer2_3x3", 128, 28, 28, 128, 3, 1, 1},   {"resnet18_layer3_3x3", 256, 14, 14, 256, 3, 1, 1},
    {"resnet18_layer4_3x3", 512, 7, 7, 512, 3, 1, 1},     {"resnet18_layer2_3x3_s2", 64, 56, 56, 128, 3, 2, 1},
    {"resnet18_layer2_1x1_s2", 64, 56, 56, 128, 1, 2, 0}, {"cnn10_conv2_1_3x3", 32, 16, 16, 32, 3, 1, 1},
    {"cnn10_conv3_2_3x3", 64, 6, 6, 64, 3, 1, 0},         {"cnn10_fc1_2x2", 128, 2, 2, 256, 2, 1, 0},
    {"cnn10_conv1_1_3x3", 8, 32, 32, 16, 3, 1, 1},        {"cnn10_conv1_2_3x3", 16, 32, 32, 32, 3, 1, 1},       {"cnn10_conv2_2_3x3", 32, 16, 16, 64, 3, 1, 1},
    {"cnn6_conv1_5x5", 4, 32, 32, 8, 5, 1, 0},            {"cnn6_conv2_3x3", 8, 14, 14, 16, 3, 1, 0},
    {"gray_3x3", 1, 128, 128, 16, 3, 1, 1},
};

struct Problem {
  Geometry g;
  std::vector<uint8_t> x;
  std::vector<int8_t> w;
  OutputStage stage;
  int64_t macs;
};

Problem MakeProblem(const Shape& s, KxFold fold) {
  Problem p;
  Window2d win;
  win.kh = win.kw = s.k, win.sh = win.sw = s.stride, win.pad_t = win.pad_l = win.pad_b = win.pad_r = s.pad;
  const int64_t oh = (s.h + 2 * s.pad - s.k) / s.stride + 1, ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
  p.g = MakeGeometry({1, s.c, s.h, s.w}, {1, s.oc, oh, ow}, win, 1, fold);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> code(0, 22), weight(-11, 11);
  p.x.resize(static_cast<size_t>(s.c * s.h * s.w));
  for (auto& v : p.x) v = static_cast<uint8_t>(code(rng));
  p.w.resize(static_cast<size_t>(s.oc * s.c * s.k * s.k));
  for (auto& v : p.w) v = static_cast<int8_t>(weight(rng));
  p.stage.bias.assign(static_cast<size_t>(s.oc), 0);
  p.stage.scale.assign(static_cast<size_t>(s.oc), 0.01f);
  p.stage.hi = 22;
  p.macs = s.oc * oh * ow * s.c * s.k * s.k;
  return p;
}

void BM_Conv(benchmark::State& state, Shape shape, KxFold fold, const Microkernel* kernel, const TileSet* tiles) {
  Problem p = MakeProblem(shape, fold);
  PackedConv conv;
  std::string why;
  if (!PackedConv::Create(*kernel, p.g, p.w.data(), 22, 11, p.stage, &conv, &why, tiles))
    return state.SkipWithError(why.c_str());
  if (tiles == nullptr) state.SetLabel(conv.name());
  std::vector<uint8_t> scratch(conv.scratch_bytes(g_threads)), y(static_cast<size_t>(p.g.ys.size()));
  for (auto _ : state) conv.Run(p.x.data(), 0, y.data(), scratch.data(), g_threads);
  state.counters["MACs/s"] = benchmark::Counter(static_cast<double>(p.macs), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["estimated_work"] = static_cast<double>(conv.estimated_work());
}

void BM_Repack(benchmark::State& state, Shape shape, KxFold fold) {
  Problem p = MakeProblem(shape, fold);
  std::vector<uint8_t> scratch(static_cast<size_t>(p.g.scratch_bytes()));
  for (auto _ : state) RepackInput(p.g, p.x.data(), 0, 0, scratch.data());
  state.counters["bytes/s"] = benchmark::Counter(static_cast<double>(p.x.size()), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RepackWinograd(benchmark::State& state, Shape shape, int tile_rows, WinogradInput transforms) {
  Problem p = MakeProblem(shape, KxFold::kNever);
  const Geometry g = MakeWinogradGeometry(p.g.xs, p.g.ys, p.g.win, 1, tile_rows);
  const Geometry staging = WinogradStagingGeometry(g);
  // On a cache line, as PackedConv::Run puts it.
  std::vector<uint8_t> scratch(static_cast<size_t>(g.packed_input_bytes() + staging.scratch_bytes() + 63));
  uint8_t* const packed = AlignUp(scratch.data());
  for (auto _ : state) RepackWinogradInput(g, staging, p.x.data(), 0, 0, 22, packed, transforms);
  state.counters["bytes/s"] = benchmark::Counter(static_cast<double>(p.x.size()), benchmark::Counter::kIsIterationInvariantRate);
}

// A --shape=NAME:C,H,W,OC,K,STRIDE,PAD argument; false if malformed.
bool ParseShape(const char* arg, Shape* s) {
  const char* colon = std::strchr(arg, ':');
  if (colon == nullptr || colon == arg) return false;
  s->name.assign(arg, colon);
  int64_t* fields[] = {&s->c, &s->h, &s->w, &s->oc, &s->k, &s->stride, &s->pad};
  const char* p = colon + 1;
  for (size_t i = 0; i < std::size(fields); ++i) {
    char* end = nullptr;
    *fields[i] = std::strtoll(p, &end, 10);
    if (end == p || *end != (i + 1 < std::size(fields) ? ',' : '\0')) return false;
    p = end + 1;
  }
  return s->c > 0 && s->h > 0 && s->w > 0 && s->oc > 0 && s->k > 0 && s->stride > 0 && s->pad >= 0 &&
         s->h + 2 * s->pad >= s->k && s->w + 2 * s->pad >= s->k;
}

void Register(const std::vector<Shape>& shapes) {
  const Isa cpu = DetectIsa();
  for (const Shape& s : shapes)
    for (const KxFold fold : {KxFold::kNever, KxFold::kAlways}) {
      if (fold == KxFold::kAlways && (s.c % 4 == 0 || s.k == 1)) continue;
      const std::string layout = fold == KxFold::kAlways ? "/kxfolded" : "";
      for (const Microkernel* k : Microkernels())
        for (const TileSet* t : k->tile_sets())
          if (IsaWithin(k->isa, cpu) && t->name != nullptr &&
              (t->winograd_rows == 0 || (fold == KxFold::kNever && s.k == 3 && s.stride == 1)))
            benchmark::RegisterBenchmark((s.name + layout + "/" + t->name).c_str(), BM_Conv, s, fold, k, t);
      for (const Microkernel* k : Microkernels())  // what PackedConv::Create picks (the label names it)
        if (IsaWithin(k->isa, cpu) && fold == KxFold::kNever)
          benchmark::RegisterBenchmark((s.name + std::string("/auto/") + k->name).c_str(), BM_Conv, s, KxFold::kAuto, k, nullptr);
      benchmark::RegisterBenchmark((s.name + layout + "/repack").c_str(), BM_Repack, s, fold);
      if (fold != KxFold::kNever || s.k != 3 || s.stride != 1) continue;
      // The input transforms on SSE2 (winograd.cc), then on each kernel's vectors.
      for (const int rows : {1, 2}) {
        const std::string form = s.name + (rows == 1 ? "/repack_winograd" : "/repack_winograd2x2x3x3");
        benchmark::RegisterBenchmark(form.c_str(), BM_RepackWinograd, s, rows, WinogradInput{});
        for (const Microkernel* k : Microkernels())
          if (IsaWithin(k->isa, cpu) && k->winograd.name != nullptr)
            benchmark::RegisterBenchmark((form + "/" + k->name).c_str(), BM_RepackWinograd, s, rows, k->winograd_input);
      }
    }
}

}  // namespace
}  // namespace q46::kernels::qconv

int main(int argc, char** argv) {
  using q46::kernels::qconv::Shape;
  std::vector<Shape> shapes;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      char* end = nullptr;
      const long threads = std::strtol(argv[i] + 10, &end, 10);
      if (end == argv[i] + 10 || *end != '\0' || threads < 1 || threads > 256) {
        std::fprintf(stderr, "qconv_bench: bad %s (want --threads=N, 1 to 256)\n", argv[i]);
        return 2;
      }
      q46::kernels::qconv::g_threads = static_cast<int>(threads);
      continue;
    }
    if (std::strncmp(argv[i], "--shape=", 8) != 0) {
      argv[kept++] = argv[i];
      continue;
    }
    Shape s;
    if (!q46::kernels::qconv::ParseShape(argv[i] + 8, &s)) {
      std::fprintf(stderr, "qconv_bench: bad %s (want --shape=NAME:C,H,W,OC,K,STRIDE,PAD)\n", argv[i]);
      return 2;
    }
    shapes.push_back(s);
  }
  argc = kept;
  if (shapes.empty()) shapes.assign(std::begin(q46::kernels::qconv::kShapes), std::end(q46::kernels::qconv::kShapes));
  q46::kernels::qconv::Register(shapes);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
