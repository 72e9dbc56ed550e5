#!/usr/bin/env bash
# The test suite: installs dependencies, builds, and runs every test with CTest (models for the end-to-end
# tests are exported by the suite itself into build/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
