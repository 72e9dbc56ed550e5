// The shapes of a convolution node (float or quantized), checked against its tensors: what both convolution ops'
// factories start from, and shape rewrites that leave a convolution's arithmetic as it is. No op logic here.
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

// A kernel that covers its whole unpadded input (a fully connected layer exported as a convolution, as the CIFAR
// CNNs' fc1) computes one position: the same as a 1x1 kernel over the input flattened into channels (C * H * W
// of them, 1 x 1), with the same weights in the same order (OIHW flattens as NCHW does). Other shapes unchanged.
ConvShape FlattenWholeInputKernel(const ConvShape& s);

}  // namespace q46::rt
