#!/usr/bin/env bash
# Every ISA path gives identical results: a CIFAR-10 model compiled at 4.6-bit (23, 23), 4-bit and 8-bit, with
# every layer quantized except the float stem and classifier, run on the same images with Q46_ISA=ref, avx2,
# avx512 and vnni (those this CPU has); the output logits must be equal byte for byte, and q46eval's accuracy too.
# Usage: isa_paths_test.sh BIN_DIR MODEL.onnx CALIB CIFAR_BIN
set -euo pipefail
bin=$1 model=$2 calib=$3 data=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
for pair in "23 23" "16 16" "256 256"; do
  set -- $pair
  plan=$work/m_$1_$2.q46
  "$bin/q46c" "$model" --nx "$1" --nw "$2" --calib "$calib" --calib-count 64 --calib-method none -o "$plan" >/dev/null 2>&1
  for isa in ref avx2 avx512 vnni; do
    if ! Q46_ISA=$isa "$bin/q46run" "$plan" --input "$data" --count 200 --top-k 0 --output "$work/$isa.npy" \
         >/dev/null 2>"$work/err"; then
      grep -q "not available on this CPU" "$work/err" && { echo "skip ($1, $2): $isa (not on this CPU)"; continue; }
      cat "$work/err"; exit 1
    fi
    Q46_ISA=$isa "$bin/q46eval" "$plan" --cifar10 "$data" --limit 200 --quiet --json |
      sed 's/"seconds":[0-9.e+-]*,//; s/"threads":[0-9]*,//' >"$work/$isa.json"
    if ! cmp -s "$work/$isa.npy" "$work/ref.npy" || ! cmp -s "$work/$isa.json" "$work/ref.json"; then
      echo "FAIL ($1, $2): $isa differs from ref"; failures=$((failures + 1))
    else
      echo "ok   ($1, $2): $isa = ref"
    fi
  done
done
((failures == 0))
