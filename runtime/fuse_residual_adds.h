// Load-time fusion of residual additions: a quantized convolution with a float output whose only reader is an Add
// of a same-shape float tensor becomes one QuantConv node with that tensor as a second input, so the thread that
// computes a tile of outputs adds the residual while they are in its cache (ResNet's blocks: the Add read the
// convolution's output back from memory, on two threads half of it from the other core's cache). The result is
// bit-identical: the convolution's floats, then the Add's own kernel and activation. Only the plan's node list
// changes; nothing here checks what the op factories check.
#pragma once

#include "plan.pb.h"

namespace q46::rt {

// Rewrites every such pair in `plan` (structurally valid) into the fused node, placed where the Add was, named as
// the convolution; returns how many it fused.
int FuseResidualAdds(plan::Plan* plan);

}  // namespace q46::rt
