#!/usr/bin/env bash
# The test suite under sanitizers (run by tools/run-tests.sh after the plain suite, whose build/ it reuses):
#  1. AddressSanitizer + UndefinedBehaviorSanitizer: everything built into build-asan/ and the whole CTest suite
#     run there, except kernel_registers and float_loop_clones (they inspect the optimised build's machine code,
#     which instrumentation changes) and neon_kernels_qemu (a cross build of its own, not of this build's code).
#  2. ThreadSanitizer: q46_soak built into build-tsan/ and run on the plans the plain suite compiled
#     (build/soak-plans: oneDNN float layers beside integer ones, and integer throughout), 8 threads.
# Any sanitizer report fails the run. Usage: tools/run-sanitizers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DQ46_SANITIZE=address,undefined >/dev/null
ninja -C build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 1800 -E "^(kernel_registers|float_loop_clones|neon_kernels_qemu)$")

cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Release -DQ46_SANITIZE=thread >/dev/null
ninja -C build-tsan -j"$jobs" q46_soak
for plan in build/soak-plans/*.q46; do
  # One OpenMP thread per context: libgomp is not instrumented, so its own synchronisation would be reported.
  OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1" build-tsan/bin/q46_soak "$plan" --threads 8 --runs 200
done
echo "sanitizers: all clean"
