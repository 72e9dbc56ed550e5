// FuseIntoConvolutions (see the header). Each rewrite matches a pair, then rewrites it; nothing but node lists
// changes.
#include "runtime/fuse_into_convolutions.h"

#include <vector>

#include "runtime/ops/op_builder.h"

namespace q46::rt {
namespace {

// The input of Add node `add` that is not `conv_out`, if the Add adds two same-shape floats into a float of their
// shape with an activation the convolution can apply (a clamp's bounds in order): else -1.
int ResidualOf(const plan::Plan& plan, const plan::Node& add, int conv_out) {
  if (!add.has_binary() || add.binary().kind() != plan::Binary::ADD || add.inputs_size() != 2 ||
      add.outputs_size() != 1)
    return -1;
  const int other = add.inputs(0) == conv_out ? add.inputs(1) : add.inputs(0);  // add reads conv_out
  if (other == conv_out) return -1;
  const plan::Tensor &r = plan.tensors(other), &sum = plan.tensors(add.outputs(0));
  const std::vector<int64_t> y = DimsOf(plan.tensors(conv_out));
  if (r.dtype() != plan::FLOAT32 || sum.dtype() != plan::FLOAT32 || DimsOf(r) != y || DimsOf(sum) != y) return -1;
  const plan::Activation& act = add.binary().activation();
  if (act.kind() == plan::Activation::CLIP && !(act.lo() <= act.hi())) return -1;  // left for the Add to refuse
  return other;
}

// A quantized convolution with one output, float: what either fusion starts from.
bool FloatOutputConv(const plan::Plan& plan, const plan::Node& n) {
  return n.has_quant_conv() && n.outputs_size() == 1 && plan.tensors(n.outputs(0)).dtype() == plan::FLOAT32;
}

// Drops the nodes marked in `removed`.
void DropNodes(plan::Plan* plan, const std::vector<bool>& removed) {
  google::protobuf::RepeatedPtrField<plan::Node> kept;
  for (int i = 0; i < plan->nodes_size(); ++i)
    if (!removed[static_cast<size_t>(i)]) kept.Add(std::move(*plan->mutable_nodes(i)));
  plan->mutable_nodes()->Swap(&kept);
}

int FuseResidualAdds(plan::Plan* plan) {
  const int nt = plan->tensors_size(), nn = plan->nodes_size();
  std::vector<int> readers(nt, 0), reader(nt, -1);  // per tensor: how many node inputs read it, and the last
  for (int i = 0; i < nn; ++i)
    for (int t : plan->nodes(i).inputs()) ++readers[t], reader[t] = i;
  for (int t : plan->outputs()) readers[t] += 2;  // a graph output stays written as it is
  std::vector<bool> removed(nn, false);
  int fused = 0;
  for (int i = 0; i < nn; ++i) {
    const plan::Node& conv = plan->nodes(i);
    if (!FloatOutputConv(*plan, conv) || conv.inputs_size() != 1) continue;
    const int y = conv.outputs(0);
    if (readers[y] != 1 || conv.quant_conv().activation().kind() != plan::Activation::NONE) continue;
    plan::Node& add = *plan->mutable_nodes(reader[y]);
    const int residual = ResidualOf(*plan, add, y);
    if (residual < 0) continue;
    // The fused node takes the Add's place (its residual may be computed after the convolution).
    plan::Node node = conv;
    node.add_inputs(residual);
    node.set_outputs(0, add.outputs(0));
    *node.mutable_quant_conv()->mutable_activation() = add.binary().activation();
    add = std::move(node);
    removed[i] = true;
    ++fused;
  }
  DropNodes(plan, removed);
  return fused;
}

int FuseQuantizes(plan::Plan* plan) {
  const int nt = plan->tensors_size(), nn = plan->nodes_size();
  std::vector<int> quantize(nt, -1);  // per float tensor: the first Quantize node reading it
  for (int i = nn - 1; i >= 0; --i) {
    const plan::Node& n = plan->nodes(i);
    if (n.has_quantize() && n.inputs_size() == 1 && n.outputs_size() == 1) quantize[n.inputs(0)] = i;
  }
  std::vector<bool> removed(nn, false);
  int fused = 0;
  for (int i = 0; i < nn; ++i) {
    plan::Node& conv = *plan->mutable_nodes(i);
    if (!FloatOutputConv(*plan, conv)) continue;
    const int q = quantize[conv.outputs(0)];
    if (q < 0) continue;
    const int codes = plan->nodes(q).outputs(0);
    if (plan->tensors(codes).dtype() != plan::UINT8_CODES ||
        DimsOf(plan->tensors(codes)) != DimsOf(plan->tensors(conv.outputs(0))))
      continue;  // left for the Quantize to refuse
    conv.add_outputs(codes);
    removed[static_cast<size_t>(q)] = true;
    ++fused;
  }
  DropNodes(plan, removed);
  return fused;
}

}  // namespace

int FuseIntoConvolutions(plan::Plan* plan) { return FuseResidualAdds(plan) + FuseQuantizes(plan); }

}  // namespace q46::rt
