#!/usr/bin/env bash
# q46eval through the integer runtime and through the compiler's simulation (--simulate) must report the same
# accuracy, to the last sample, on a plan made with the default calibration.
# Usage: eval_simulation_test.sh BIN_DIR MODEL.onnx CALIB CIFAR_BIN
set -euo pipefail
bin=$1 model=$2 calib=$3 data=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/q46c" "$model" --calib "$calib" -o "$work/model.q46" >/dev/null 2>&1
"$bin/q46eval" "$work/model.q46" --cifar10 "$data" --quiet --json | grep -o '"per_class_top1.*"top5":[0-9.]*' >"$work/runtime"
"$bin/q46eval" "$work/model.q46" --cifar10 "$data" --quiet --json --simulate | grep -o '"per_class_top1.*"top5":[0-9.]*' >"$work/simulated"
sed 's/"seconds":[0-9.e+-]*,//; s/"threads":[0-9]*,//' -i "$work/runtime" "$work/simulated"
if ! cmp -s "$work/runtime" "$work/simulated"; then
  echo "FAIL runtime and simulation disagree:"; cat "$work/runtime" "$work/simulated"; exit 1
fi
echo "ok: $(cat "$work/runtime")"
