#!/usr/bin/env bash
# The test suite: installs dependencies, builds, and runs every test with CTest (models for the end-to-end
# tests are exported by the suite itself into build/); then the suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer and the concurrency tests under ThreadSanitizer (tools/run-sanitizers.sh), and a
# short, fixed-seed libFuzzer run of every parser (tools/fuzz.sh --suite, about 20 s each). Q46_QUICK=1 stops
# after the plain suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 900)
[[ "${Q46_QUICK:-0}" == 1 ]] && exit 0
bash tools/run-sanitizers.sh
bash tools/fuzz.sh --suite
