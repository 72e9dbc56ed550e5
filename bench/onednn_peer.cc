// oneDNN as a peer: the convolutions of a q46 plan rebuilt as oneDNN primitives, int8 (u8 activations, s8
// weights, s32 bias, u8 or f32 output with per-channel output scales) for the plan's quantized layers and f32 for
// its float layers (transposed ones as oneDNN deconvolutions), every tensor in the layout oneDNN prefers (format
// any), then timed as one chain: warm-up, then the median over repeats; then each convolution's median time
// inside the chain, with the implementation oneDNN chose, to set beside q46bench's per-layer table. Only the
// convolutions run (oneDNN has no graph here), so compare it with the sum of q46's convolution layers (q46bench
// --json). Float outputs get the layer's activation as a post-op, as q46 fuses it. It measures speed only:
// activation zero points are not applied, so its outputs are not q46's. oneDNN threads: --threads (OpenMP); its
// ISA: DNNL_MAX_CPU_ISA.
//   build/bin/onednn_peer model.q46 [--threads N] [--repeats R]   prints one JSON object
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/kernels/onednn/conv_f32_onednn.h"
#include "runtime/model.h"
#include "runtime/ops/op_builder.h"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Layer {
  std::string name, implementation;
  dnnl::primitive primitive;
  std::unordered_map<int, memory> args;
};

memory::dims Dims(const q46::plan::Tensor& t) {
  std::vector<int64_t> d = q46::rt::DimsOf(t);
  while (d.size() < 4) d.push_back(1);
  return {d[0], d[1], d[2], d[3]};
}

// A memory holding `value` in every element (u8, s32 or f32): f32 activations get a normal number, since a byte
// pattern such as 0x03030303 is a subnormal float, which can slow float arithmetic down.
memory Filled(const memory::desc& md, const dnnl::engine& engine, int value) {
  memory m(md, engine);
  const size_t bytes = md.get_size();
  if (md.data_type() == dt::f32) {
    std::vector<float> v(bytes / sizeof(float), static_cast<float>(value));
    std::memcpy(m.get_data_handle(), v.data(), v.size() * sizeof(float));
  } else if (md.data_type() == dt::s32) {
    std::vector<int32_t> v(bytes / sizeof(int32_t), value);
    std::memcpy(m.get_data_handle(), v.data(), v.size() * sizeof(int32_t));
  } else {
    std::memset(m.get_data_handle(), value, bytes);
  }
  return m;
}

// One convolution node (or transposed convolution) as a oneDNN primitive with its arguments (weights reordered
// once).
Layer MakeLayer(const q46::plan::Plan& plan, const q46::plan::Node& node, const dnnl::engine& engine,
                dnnl::stream& stream) {
  const bool quant = node.has_quant_conv(), transposed = !quant && node.float_conv().transposed();
  const q46::plan::Window& win = quant ? node.quant_conv().window() : node.float_conv().window();
  const int64_t groups = quant ? node.quant_conv().groups() : node.float_conv().groups();
  const q46::plan::Tensor& xt = plan.tensors(node.inputs(0));
  const q46::plan::Tensor& yt = plan.tensors(node.outputs(0));
  const memory::dims xd = Dims(xt), yd = Dims(yt);
  const int64_t kh = win.kernel(0), kw = win.kernel_size() > 1 ? win.kernel(1) : 1;
  const memory::dims wd = groups > 1 ? memory::dims{groups, yd[1] / groups, xd[1] / groups, kh, kw}
                                     : memory::dims{yd[1], xd[1], kh, kw};
  const auto at = [](const auto& field, int i, int64_t fallback) { return field.size() > i ? field.Get(i) : fallback; };
  const memory::dims strides{at(win.stride(), 0, 1), at(win.stride(), 1, 1)};
  const memory::dims dilates{at(win.dilation(), 0, 1) - 1, at(win.dilation(), 1, 1) - 1};
  const memory::dims pad_l{at(win.pads(), 0, 0), at(win.pads(), 1, 0)}, pad_r{at(win.pads(), 2, 0), at(win.pads(), 3, 0)};
  const dt src_t = quant ? dt::u8 : dt::f32, wei_t = quant ? dt::s8 : dt::f32;
  const dt dst_t = yt.dtype() == q46::plan::UINT8_CODES ? dt::u8 : dt::f32;
  const memory::desc x_any(xd, src_t, tag::any), w_any(wd, wei_t, tag::any), y_any(yd, dst_t, tag::any);
  const memory::desc b_md({yd[1]}, quant ? dt::s32 : dt::f32, tag::x);
  dnnl::primitive_attr attr;
  if (quant) attr.set_output_scales(2, std::vector<float>(static_cast<size_t>(yd[1]), 0.01f));
  // A float output gets the layer's activation as the runtime's oneDNN layers do (a code output's clamp is the
  // u8 conversion's saturation).
  q46::kernels::FloatActivation act;
  const q46::rt::OpBuilder builder(plan, node, "peer");
  if (!builder.ToActivation(quant ? node.quant_conv().activation() : node.float_conv().activation(), &act).ok())
    throw std::runtime_error("node '" + node.name() + "': invalid activation");
  if (dst_t == dt::f32) attr.set_post_ops(q46::kernels::ActivationPostOps(act));
  // Deconvolution weights are ONNX's [C_in, C_out / G, kh, kw] (iohw); oneDNN's logical dims are the same as a
  // convolution's. An output padding of a stride or more is the end padding reduced (as the runtime does it).
  dnnl::primitive primitive;
  memory::desc src_md, weights_md, dst_md;
  std::string impl;
  const auto adopt = [&](const auto& pd, dnnl::primitive made) {
    primitive = made;
    src_md = pd.src_desc(), weights_md = pd.weights_desc(), dst_md = pd.dst_desc();
    impl = pd.impl_info_str();
  };
  if (transposed) {
    const memory::dims out_pad{at(win.output_padding(), 0, 0), at(win.output_padding(), 1, 0)};
    const memory::dims end = out_pad[0] >= strides[0] || out_pad[1] >= strides[1]
                                 ? memory::dims{pad_r[0] - out_pad[0], pad_r[1] - out_pad[1]}
                                 : pad_r;
    const dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::deconvolution_direct, x_any, w_any, b_md, y_any,
                                                 strides, dilates, pad_l, end);
    const dnnl::deconvolution_forward::primitive_desc pd(desc, attr, engine);
    adopt(pd, dnnl::deconvolution_forward(pd));
  } else {
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::convolution_direct, x_any, w_any, b_md, y_any, strides,
                                               dilates, pad_l, pad_r);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    adopt(pd, dnnl::convolution_forward(pd));
  }

  // Weights: the plan's codes (or floats), reordered from OIHW (transposed: IOHW) into oneDNN's layout once.
  const std::string& bytes = quant ? node.quant_conv().weight_codes() : node.float_conv().weights();
  const tag user_tag = transposed ? (groups > 1 ? tag::giohw : tag::iohw) : (groups > 1 ? tag::goihw : tag::oihw);
  memory user(memory::desc(wd, wei_t, user_tag), engine, const_cast<char*>(bytes.data()));
  memory weights(weights_md, engine);
  dnnl::reorder(user, weights).execute(stream, user, weights);
  stream.wait();
  Layer layer{node.name(), impl, primitive, {}};
  layer.args = {{DNNL_ARG_SRC, Filled(src_md, engine, 3)},
                {DNNL_ARG_WEIGHTS, weights},
                {DNNL_ARG_BIAS, Filled(b_md, engine, 0)},
                {DNNL_ARG_DST, Filled(dst_md, engine, 0)}};
  return layer;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int threads = 1, repeats = 50;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--repeats" && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (!a.empty() && a[0] != '-' && path.empty()) path = a;
    else {
      std::fprintf(stderr, "onednn_peer: error: usage: onednn_peer model.q46 [--threads N] [--repeats R]\n");
      return 2;
    }
  }
  if (path.empty() || threads < 1 || repeats < 1) {
    std::fprintf(stderr, "onednn_peer: error: usage: onednn_peer model.q46 [--threads N] [--repeats R]\n");
    return 2;
  }
  std::unique_ptr<q46::rt::Model> model;
  q46::rt::LoadOptions options;
  options.max_isa = q46::kernels::qconv::Isa::kRef;  // only the plan is used, not q46's kernels
  options.fuse_into_convolutions = false;                 // its convolutions as compiled
  if (q46::rt::Status st = q46::rt::Model::LoadFile(path, &model, &options); !st.ok()) {
    std::fprintf(stderr, "onednn_peer: error: %s\n", st.message().c_str());
    return 1;
  }
  omp_set_num_threads(threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::vector<Layer> layers;
  try {
    for (const auto& node : model->plan().nodes())
      if (node.has_quant_conv() || node.has_float_conv())
        layers.push_back(MakeLayer(model->plan(), node, engine, stream));
  } catch (const dnnl::error& e) {
    std::fprintf(stderr, "onednn_peer: error: oneDNN: %s\n", e.what());
    return 1;
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "onednn_peer: error: %s\n", e.what());
    return 1;
  }
  const auto run = [&] {
    for (Layer& l : layers) l.primitive.execute(stream, l.args);
    stream.wait();
  };
  for (int i = 0; i < 5; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("{\"model\":\"%s\",\"threads\":%d,\"convolutions\":%zu,\"median_ms\":%.6f,\"p10_ms\":%.6f,\"p90_ms\":%.6f,"
              "\"layers\":[",
              path.c_str(), threads, layers.size(), ms[ms.size() / 2], ms[ms.size() / 10], ms[ms.size() * 9 / 10]);
  // Per layer: the chain run again, each primitive timed where it stands (execute is synchronous on a CPU engine).
  std::vector<std::vector<double>> per_layer(layers.size());
  for (int i = 0; i < repeats; ++i)
    for (size_t l = 0; l < layers.size(); ++l) {
      const auto start = std::chrono::steady_clock::now();
      layers[l].primitive.execute(stream, layers[l].args);
      per_layer[l].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  for (size_t l = 0; l < layers.size(); ++l) {
    std::vector<double>& t = per_layer[l];
    std::nth_element(t.begin(), t.begin() + static_cast<long>(t.size() / 2), t.end());
    std::printf("%s{\"name\":\"%s\",\"implementation\":\"%s\",\"median_ms\":%.6f}", l ? "," : "",
                layers[l].name.c_str(), layers[l].implementation.c_str(), t[t.size() / 2]);
  }
  std::printf("]}\n");
}
