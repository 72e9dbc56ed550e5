#!/usr/bin/env bash
# Rebuilds the CIFAR-10 slices shipped in models/cifar10/ from the full data set (../shared/data/cifar10):
#   calib_512.bin   the first 512 records of data_batch_1.bin (calibration samples, training split)
#   test_1000.bin   the first 1,000 records of test_batch.bin (demo inputs, test split)
# Records are CIFAR-10 binary: 1 label byte, then 3072 bytes (R, G, B planes of 32x32).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
../shared/data/cifar10/make-cifar10-bin "$tmp" >/dev/null
head -c $((512 * 3073)) "$tmp/cifar-10-batches-bin/data_batch_1.bin" > models/cifar10/calib_512.bin
head -c $((1000 * 3073)) "$tmp/cifar-10-batches-bin/test_batch.bin" > models/cifar10/test_1000.bin
