// Load-time fusion into quantized convolutions with a float output, so that the thread computing a tile of outputs
// finishes them while they are in its cache (on two threads the separate ops read half of the convolution's
// output from the other core's cache):
//   - an Add of a same-shape float tensor that is the output's only reader becomes the convolution's second input,
//     a residual, added in its output stage before the Add's activation (ResNet's blocks);
//   - a Quantize of the output becomes the convolution's second output, a quantized copy of its floats.
// The results are bit-identical: the convolution's floats, then the Add's arithmetic and activation, then
// QuantizeRow's. Only the plan's node list changes; nothing here checks what the op factories check.
#pragma once

#include "plan.pb.h"

namespace q46::rt {

// Rewrites every such pair in `plan` (structurally valid), fused Adds first (the fused node takes the Add's place,
// named as the convolution; a fused Quantize's node is dropped); returns how many ops it removed.
int FuseIntoConvolutions(plan::Plan* plan);

}  // namespace q46::rt
