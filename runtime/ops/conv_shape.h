// The shapes of a convolution node (float or quantized), checked against its tensors: what both convolution ops'
// factories start from. No op logic here.
#pragma once

#include "runtime/kernels/ref/ref_kernels.h"
#include "runtime/ops/op_builder.h"

namespace q46::rt {

// A convolution's activation shapes (NCHW), window, groups and weight count.
struct ConvShape {
  kernels::Dims4 xs, ys;
  kernels::Window2d win;
  int64_t groups;
  int64_t weight_count;
};

// Reads the node's input and output shapes and the plan window into *s and checks that they agree (the output
// follows from the input and the window, the groups divide the channels), with a message naming the node.
Status CheckConvShape(const OpBuilder& b, const plan::Window& window, int64_t groups, bool transposed,
                      ConvShape* s);

}  // namespace q46::rt
