#!/usr/bin/env bash
# q46c --precision auto on a shipped model and calibration slice: the damage and cost tables are measured once
# and then read from the cache (same plan, byte for byte); the emitted map, fed back with --precision-map, gives
# the same plan; the cost table has the network's chains; a size budget gives a plan that small. Usage: precision_auto_test.sh BIN_DIR
set -euo pipefail
bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
common=("$root/models/cifar10/cnn6.onnx" --calib "$root/models/cifar10/calib_512.bin" --calib-count 128
        --calib-method none)
auto=(--precision auto --sensitivity-samples 32 --precision-cache "$work/cache")

"$bin/q46c" "${common[@]}" "${auto[@]}" --emit-precision-map "$work/map.json" -o "$work/first.q46" >"$work/first.txt"
grep -q "sensitivity measured, cost measured" "$work/first.txt" || fail "first run: $(grep choose "$work/first.txt")"
grep -q "chosen precision map" "$work/first.txt" || fail "the chosen map is not printed"
"$bin/q46c" "${common[@]}" "${auto[@]}" -o "$work/second.q46" >"$work/second.txt"
grep -q "sensitivity cached, cost cached" "$work/second.txt" || fail "second run: $(grep choose "$work/second.txt")"
cmp -s "$work/first.q46" "$work/second.q46" || fail "the cached run chose differently"
"$bin/q46c" "${common[@]}" --precision-map "$work/map.json" -o "$work/from_map.q46" >/dev/null
cmp -s "$work/first.q46" "$work/from_map.q46" || fail "the emitted map does not reproduce the plan"
echo "ok   auto plan reproduced from the cache and from its emitted map"

# The cost table knows CNN6's chains (each conv reads the previous one's codes; fc1's tanh ends the chain), and
# border costs only where a chain has a border. The costs themselves are timings (a few tens of ns, measured to
# 10 ns here), so the test holds them to their structure only: a measured border may round to 0.
/usr/bin/python3 - "$work"/cache/*.cost-*.json <<'PY' || fail "cost table chains"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["chain_source"] == [-1, 0, 1, 2, 3, -1], c["chain_source"]
for l, s in enumerate(c["chain_source"]):
    assert all(e >= 0 for e in c["enter_seconds"][l] + c["leave_seconds"][l])
    assert c["enter_seconds"][l][0] == c["leave_seconds"][l][0] == 0, l  # float: no borders
    assert s >= 0 or not any(c["enter_seconds"][l]), (l, c["enter_seconds"][l])  # no chain in: no border
PY
echo "ok   cost table: chains and their border costs"

"$bin/q46c" "${common[@]}" -o "$work/global.q46" >/dev/null
"$bin/q46c" "${common[@]}" "${auto[@]}" --max-size-ratio 0.95 -o "$work/small.q46" >"$work/small.txt"
global=$(stat -c %s "$work/global.q46") small=$(stat -c %s "$work/small.q46")
((small * 100 <= global * 96)) || fail "--max-size-ratio 0.95: $small bytes vs $global for the global pair"
echo "ok   --max-size-ratio 0.95: $small bytes vs $global bytes"
