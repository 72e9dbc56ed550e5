// Graph queries and edits used by the importer and the passes.
#include "compiler/ir.h"

#include <algorithm>

namespace q46::ir {

std::vector<int> Graph::Consumers(ValueId v) const {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& n = nodes[i];
    if (!n.dead && std::find(n.inputs.begin(), n.inputs.end(), v) != n.inputs.end()) out.push_back(i);
  }
  return out;
}

int Graph::Producer(ValueId v) const {
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& n = nodes[i];
    if (!n.dead && std::find(n.outputs.begin(), n.outputs.end(), v) != n.outputs.end()) return i;
  }
  return -1;
}

bool Graph::IsGraphOutput(ValueId v) const { return std::find(outputs.begin(), outputs.end(), v) != outputs.end(); }

void Graph::ReplaceUses(ValueId from, ValueId to) {
  for (Node& n : nodes)
    if (!n.dead) std::replace(n.inputs.begin(), n.inputs.end(), from, to);
  if (IsGraphOutput(from)) values[to].name = values[from].name;  // graph outputs keep the model's names
  std::replace(outputs.begin(), outputs.end(), from, to);
}

void Graph::Compact() {
  nodes.erase(std::remove_if(nodes.begin(), nodes.end(), [](const Node& n) { return n.dead; }), nodes.end());
}

Graph Graph::SliceTo(const std::vector<ValueId>& wanted) const {
  Graph slice = *this;
  slice.outputs = wanted;
  std::vector<bool> needed(values.size(), false);
  for (ValueId v : wanted) needed[v] = true;
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    Node& n = slice.nodes[i];
    n.dead = n.dead || std::none_of(n.outputs.begin(), n.outputs.end(), [&](ValueId v) { return needed[v]; });
    if (!n.dead)
      for (ValueId v : n.inputs) needed[v] = true;
  }
  slice.Compact();
  return slice;
}

}  // namespace q46::ir
