#!/usr/bin/env bash
# Fuzzes q46's parsers with libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer: the plan loader, the
# ONNX importer and the calibration-data readers (CIFAR-10 binary, .npy, images). Builds the targets with clang
# into build-fuzz/ and seeds each corpus from real files (a compiled plan, the shipped ONNX models and ONNX's
# conformance models, CIFAR-10 records, generated .npy and images, and test/fuzz/regressions/). Two modes:
#   tools/fuzz.sh SECONDS [TARGET...]  explores for SECONDS per target (the documented long run is 600); corpora
#                                      grow in build-fuzz/corpus/, so each run goes on from the last.
#   tools/fuzz.sh --suite              the test suite's run: a fixed seed, a fixed number of inputs per target, the
#                                      seeds alone and address randomisation off (setarch -R), so that a build runs
#                                      the same inputs every time (other builds explore a little differently): it
#                                      fails when a change makes code crash, not on chance finds. New finds are the
#                                      long run's job; each becomes a regression input.
# Crash inputs go to build-fuzz/crashes/. Prints executions per target; exits non-zero on any crash, hang (10 s
# per input), leak or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
all=(plan_loader onnx_importer cifar10_reader npy_reader image_reader)
# Inputs per target in --suite mode: about 20 s each on the 2-core CI machine.
declare -A suite_runs=([plan_loader]=150000 [onnx_importer]=80000 [cifar10_reader]=1000000 [npy_reader]=2500000
  [image_reader]=6000)
if [[ ${1:-} == --suite ]]; then
  (($# == 1)) || { echo "usage: tools/fuzz.sh --suite (no other arguments)" >&2; exit 2; }
  mode=suite
  targets=("${all[@]}")
else
  mode=explore
  seconds=${1:-20}
  shift || true
  targets=("$@")
  ((${#targets[@]})) || targets=("${all[@]}")
fi
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQ46_FUZZ=ON \
  -DQ46_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
ninja -C "$build" -j"$(nproc)" q46c "${targets[@]/#/fuzz_}" >/dev/null
bash test/fuzz/make_seeds.sh "$build/bin" "$build/seeds" >/dev/null
mkdir -p "$build/crashes"
norandom=()
if [[ $mode == suite ]]; then
  if setarch -R true 2>/dev/null; then norandom=(setarch -R)
  else echo "fuzz.sh: setarch -R is not available here; inputs may vary from run to run" >&2; fi
fi
failed=0
for t in "${targets[@]}"; do
  if [[ $mode == suite ]]; then
    corpus="$build/suite-corpus/$t"
    rm -rf "$corpus"
    budget=(-seed=1 -runs="${suite_runs[$t]}" -reload=0)
  else
    corpus="$build/corpus/$t"
    budget=(-max_total_time="$seconds")
  fi
  mkdir -p "$corpus"
  log="$build/fuzz_$t.log"
  if "${norandom[@]}" "$build/bin/fuzz_$t" "$corpus" "$build/seeds/$t" "${budget[@]}" -timeout=10 -rss_limit_mb=4096 \
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
