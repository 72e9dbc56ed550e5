// FuseResidualAdds (see the header). Matches a pair, then rewrites it; touches nothing but node lists.
#include "runtime/fuse_residual_adds.h"

#include <algorithm>
#include <vector>

namespace q46::rt {
namespace {

bool SameDims(const plan::Tensor& a, const plan::Tensor& b) {
  return a.dims_size() == b.dims_size() && std::equal(a.dims().begin(), a.dims().end(), b.dims().begin());
}

// The input of Add node `add` that is not `conv_out`, if the Add adds two same-shape floats into a float of their
// shape with an activation the convolution can apply (a clamp's bounds in order): else -1.
int ResidualOf(const plan::Plan& plan, const plan::Node& add, int conv_out) {
  if (!add.has_binary() || add.binary().kind() != plan::Binary::ADD || add.inputs_size() != 2 ||
      add.outputs_size() != 1)
    return -1;
  const int other = add.inputs(0) == conv_out ? add.inputs(1) : add.inputs(0);
  if (other == conv_out || (add.inputs(0) != conv_out && add.inputs(1) != conv_out)) return -1;
  const plan::Tensor &y = plan.tensors(conv_out), &r = plan.tensors(other), &sum = plan.tensors(add.outputs(0));
  if (r.dtype() != plan::FLOAT32 || sum.dtype() != plan::FLOAT32 || !SameDims(r, y) || !SameDims(sum, y)) return -1;
  const plan::Activation& act = add.binary().activation();
  if (act.kind() == plan::Activation::CLIP && !(act.lo() <= act.hi())) return -1;  // left for the Add to refuse
  return other;
}

}  // namespace

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
    if (!conv.has_quant_conv() || conv.inputs_size() != 1 || conv.outputs_size() != 1) continue;
    const int y = conv.outputs(0);
    if (plan->tensors(y).dtype() != plan::FLOAT32 || readers[y] != 1 ||
        conv.quant_conv().activation().kind() != plan::Activation::NONE)
      continue;
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
  if (fused == 0) return 0;
  google::protobuf::RepeatedPtrField<plan::Node> kept;
  for (int i = 0; i < nn; ++i)
    if (!removed[i]) kept.Add(std::move(*plan->mutable_nodes(i)));
  plan->mutable_nodes()->Swap(&kept);
  return fused;
}

}  // namespace q46::rt
