#!/usr/bin/env bash
# q46c is deterministic and leaves nothing behind when interrupted:
#  - two compilations with the same inputs and seed write byte-identical plans (and QDQ exports), also when the
#    model comes from a pipe, on another thread count, or with oneDNN capped at AVX2 by hand;
#  - a compilation stopped by SIGINT, SIGTERM or SIGKILL in the middle of calibration leaves no output file and no
#    temporary file beside it.
# Usage: compile_robustness_test.sh BIN_DIR MODEL.onnx CALIB
set -uo pipefail
bin=$1 onnx=$2 calib=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAILED: $1"; failures=$((failures + 1)); }

flags=(--calib "$calib" --calib-count 64 --calib-steps 40 --seed 7)
for run in 1 2; do
  "$bin/q46c" "$onnx" "${flags[@]}" -o "$work/plan$run.q46" --emit-onnx-qdq "$work/qdq$run.onnx" >/dev/null 2>&1 \
    || fail "compilation $run failed"
done
cmp -s "$work/plan1.q46" "$work/plan2.q46" && echo "same seed: byte-identical plans ($(stat -c %s "$work/plan1.q46") bytes)" \
  || fail "two compilations with seed 7 wrote different plans"
cmp -s "$work/qdq1.onnx" "$work/qdq2.onnx" && echo "same seed: byte-identical QDQ exports" \
  || fail "two compilations with seed 7 wrote different QDQ exports"
# The model read from a pipe (process substitution) gives the same plan (the model names its graph; an unnamed
# one would be named after the path it was read from).
"$bin/q46c" <(cat "$onnx") "${flags[@]}" -o "$work/piped.q46" >/dev/null 2>&1 || fail "compiling from a pipe failed"
cmp -s "$work/plan1.q46" "$work/piped.q46" && echo "model from a pipe: the same plan" \
  || fail "the model read from a pipe gave another plan"

# Nor does the plan depend on the machine: not on its core count (OMP_NUM_THREADS: the calibration sums the same
# way on any; before, 8 threads split oneDNN's sgemm reductions and gave another plan than 1), nor on its
# instruction set (q46c caps oneDNN, whose kernels round differently on each, at AVX2 unless DNNL_MAX_CPU_ISA says
# otherwise: the same plan as with that cap set by hand; a check that can only fail on CPUs with more than AVX2).
for threads in 1 8; do
  OMP_NUM_THREADS=$threads "$bin/q46c" "$onnx" "${flags[@]}" -o "$work/threads$threads.q46" >/dev/null 2>&1 \
    || fail "$threads threads failed"
done
cmp -s "$work/threads1.q46" "$work/threads8.q46" && echo "1 and 8 threads: the same plan" \
  || fail "1 and 8 threads gave different plans"
DNNL_MAX_CPU_ISA=AVX2 "$bin/q46c" "$onnx" "${flags[@]}" -o "$work/avx2.q46" >/dev/null 2>&1 || fail "AVX2 cap failed"
cmp -s "$work/plan1.q46" "$work/avx2.q46" && echo "oneDNN capped at AVX2 by hand: the same plan" \
  || fail "q46c's plan differs from the one with oneDNN capped at AVX2"

# Long enough a calibration to be interrupted in the middle of it. Job control on: without it a background job
# starts with SIGINT ignored, as a shell script's background jobs do.
set -m
for sig in INT TERM KILL; do
  out="$work/interrupted-$sig"
  mkdir -p "$out"
  "$bin/q46c" "$onnx" --calib "$calib" --calib-count 256 --calib-steps 2000 -o "$out/model.q46" \
    --emit-onnx-qdq "$out/model.onnx" >/dev/null 2>&1 &
  pid=$!
  sleep 2
  kill -s "$sig" "$pid" 2>/dev/null || fail "q46c finished before SIG$sig could stop it (make its calibration longer)"
  wait "$pid" 2>/dev/null
  left=$(ls -A "$out")
  [[ -z "$left" ]] && echo "SIG$sig during calibration: nothing written" || fail "SIG$sig left files behind: $left"
done

((failures == 0)) && echo "all checks passed" || exit 1
