// Buffer planning: one arena per context; tensors whose lifetimes do not overlap share bytes.
// Greedy by size (largest first), each tensor at the lowest 64-byte-aligned offset that is free for its lifetime.
#include <algorithm>
#include <numeric>

#include "runtime/model.h"

namespace q46::rt {
namespace {

constexpr size_t kAlign = 64;

size_t TensorBytes(const plan::Tensor& t) {
  size_t n = t.dtype() == plan::UINT8_CODES ? 1 : sizeof(float);
  for (int64_t d : t.dims()) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace

std::vector<TensorPlacement> PlanMemory(const plan::Plan& plan, size_t* arena_bytes) {
  const int nt = plan.tensors_size(), nn = plan.nodes_size();
  std::vector<TensorPlacement> placement(nt);
  // Lifetime [first, last] in node steps; graph inputs start before node 0, outputs live past the end.
  std::vector<int> first(nt, nn + 1), last(nt, -2);
  for (int idx : plan.inputs()) first[idx] = last[idx] = -1;
  for (int i = 0; i < nn; ++i) {
    for (int idx : plan.nodes(i).inputs()) last[idx] = std::max(last[idx], i);
    for (int idx : plan.nodes(i).outputs()) first[idx] = std::min(first[idx], i), last[idx] = std::max(last[idx], i);
  }
  for (int idx : plan.outputs()) last[idx] = nn;

  std::vector<int> order;
  for (int i = 0; i < nt; ++i) {
    placement[i].bytes = TensorBytes(plan.tensors(i));
    if (plan.tensors(i).data().empty() && last[i] >= first[i]) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return placement[a].bytes > placement[b].bytes; });
  std::vector<int> placed;
  size_t total = 0;
  for (int t : order) {
    // Intervals taken by live-overlapping tensors, sorted by offset; take the first gap that fits.
    std::vector<std::pair<size_t, size_t>> taken;
    for (int o : placed)
      if (first[o] <= last[t] && first[t] <= last[o])
        taken.push_back({placement[o].offset, placement[o].offset + placement[o].bytes});
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (offset + placement[t].bytes <= begin) break;
      offset = std::max(offset, (end + kAlign - 1) / kAlign * kAlign);
    }
    placement[t].offset = offset;
    total = std::max(total, offset + placement[t].bytes);
    placed.push_back(t);
  }
  *arena_bytes = total;
  return placement;
}

}  // namespace q46::rt
