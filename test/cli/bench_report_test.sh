#!/usr/bin/env bash
# q46bench's report holds what bench/ scripts read: with --json one object whose whole-network figures, per-layer
# list (one entry per plan node) and, with several threads only, the two cores' round trip and speed ratio before
# and after the runs (null where OpenMP gives one thread) are present and well formed. Checks the report's shape
# only, never a timing's size.
# Usage: bench_report_test.sh BIN_DIR MODEL.onnx CALIB
set -euo pipefail
bin=$1 model=$2 calib=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/q46c" "$model" --nx 23 --nw 23 --calib "$calib" --calib-count 16 --calib-method none -o "$work/m.q46" >/dev/null
for threads in 1 2; do
  "$bin/q46bench" "$work/m.q46" --threads "$threads" --repeats 3 --min-time 0 --warmup 1 --json >"$work/$threads.json"
  /usr/bin/python3 - "$work/$threads.json" "$threads" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); threads = int(sys.argv[2])
assert d["threads"] == threads and d["runs"] >= 3, d
assert d["median_ms"] > 0 and d["p10_ms"] <= d["median_ms"] <= d["p90_ms"], d
assert d["layers"] and all(l["median_ms"] >= 0 and l["name"] for l in d["layers"]), d["layers"]
rt, speed = d.get("core_round_trip_ns"), d.get("core_speed_ratio")
if threads == 1:
    assert rt is None and speed is None, (rt, speed)
else:
    assert isinstance(rt, list) and len(rt) == 2 and all(v > 0 for v in rt), rt
    assert isinstance(speed, list) and len(speed) == 2 and all(0 < v <= 1 for v in speed), speed
print(f"ok   {threads} thread(s): {len(d['layers'])} layers, round trip {rt}, speed ratio {speed}")
PY
done
"$bin/q46bench" "$work/m.q46" --threads 2 --repeats 3 --min-time 0 --layers=false >"$work/text"
grep -q "round trip between the first two threads" "$work/text"
grep -q "of the faster one's speed" "$work/text"
# With one OpenMP thread there is no pair to measure: JSON null and a line saying so, not a round trip of 0 ns.
OMP_THREAD_LIMIT=1 "$bin/q46bench" "$work/m.q46" --threads 2 --repeats 3 --min-time 0 --warmup 1 --json >"$work/one.json"
grep -q '"core_round_trip_ns":null' "$work/one.json"
grep -q '"core_speed_ratio":null' "$work/one.json"
OMP_THREAD_LIMIT=1 "$bin/q46bench" "$work/m.q46" --threads 2 --repeats 3 --min-time 0 --layers=false >"$work/one.txt"
grep -q "were not both measured" "$work/one.txt"
if grep -q "of the faster one's speed" "$work/one.txt"; then echo "a speed ratio reported with one thread"; exit 1; fi
