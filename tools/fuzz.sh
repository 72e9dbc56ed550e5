#!/usr/bin/env bash
# Fuzzes q46's parsers with libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer: the plan loader, the
# ONNX importer and the calibration-data readers (CIFAR-10 binary, .npy, images). Builds the targets with clang
# into build-fuzz/, seeds each corpus from real files (a compiled plan, the shipped ONNX models and ONNX's
# conformance models, CIFAR-10 records, generated .npy and images), then runs every target for SECONDS (default
# 20; the documented long run is 600). Corpora persist in build-fuzz/corpus/, crash inputs go to
# build-fuzz/crashes/. Prints executions per target; exits non-zero on any crash, hang (10 s per input), leak or
# sanitizer report. Usage: tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(plan_loader onnx_importer cifar10_reader npy_reader image_reader)
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQ46_FUZZ=ON \
  -DQ46_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
ninja -C "$build" -j"$(nproc)" q46c "${targets[@]/#/fuzz_}" >/dev/null
bash test/fuzz/make_seeds.sh "$build/bin" "$build/seeds" >/dev/null
mkdir -p "$build/crashes"
failed=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  log="$build/fuzz_$t.log"
  if "$build/bin/fuzz_$t" "$corpus" "$build/seeds/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      -max_len=1048576 -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" >"$log" 2>&1; then
    done_line=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" || echo "Done ? runs in ? second")
    read -r _ runs _ _ took _ <<<"$done_line"
    echo "fuzz_$t: $took s, $runs inputs, no crash ($(ls "$corpus" | wc -l) in corpus)"
  else
    echo "fuzz_$t: FAILED, see $log and $build/crashes/:"
    grep -m3 -E "ERROR|runtime error|SUMMARY" "$log" || tail -5 "$log"
    failed=1
  fi
done
exit $failed
