// IR helpers several passes share: matching a convolution's sole use, rescaling its output channels.
#pragma once

#include <vector>

#include "compiler/ir.h"

namespace q46 {

// The index of the convolution producing x when x has no other use and is not a graph output, else -1.
int SoleProducerConv(const ir::Graph& g, ir::ValueId x);

// The node that is the only reader of v (and v is not a graph output), else -1.
int SoleConsumer(const ir::Graph& g, ir::ValueId v);

// conv output channel c becomes out[c] * s[c] + t[c]: weights scaled, bias created or updated.
void ScaleConvOutputChannels(ir::Graph& g, ir::Node& conv, const std::vector<float>& s, const std::vector<float>& t);

}  // namespace q46
