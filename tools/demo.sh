#!/usr/bin/env bash
# The demo: installs dependencies, builds, then compiles the shipped CIFAR-10 CNN6 to a float plan and to a
# 4.6-bit (23, 23) plan calibrated on the shipped samples, checks the integer runtime against the compiler's
# simulation, runs both plans on shipped test images and measures their accuracy on 1,000 of them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh
bin=build/bin
out=build/demo
mkdir -p "$out"
model=models/cifar10/cnn6.onnx
data=models/cifar10

echo; echo "== q46c: float plan"
$bin/q46c "$model" --float -o "$out/cnn6-float.q46"
echo; echo "== q46c: 4.6-bit plan, (N_x, N_w) = (23, 23), calibrated on $data/calib_512.bin"
$bin/q46c "$model" --nx 23 --nw 23 --calib "$data/calib_512.bin" --verify 16 -o "$out/cnn6-23x23.q46"
echo; echo "== q46run: the first 5 test images, float then 4.6-bit (class (score) ... label)"
$bin/q46run "$out/cnn6-float.q46" --input "$data/test_1000.bin" --count 5 --top-k 3
$bin/q46run "$out/cnn6-23x23.q46" --input "$data/test_1000.bin" --count 5 --top-k 3 --output "$out/logits-23x23.npy"
echo; echo "== q46eval: top-1 on the 1,000 shipped test images, float vs 4.6-bit"
$bin/q46eval "$out/cnn6-float.q46" --cifar10 "$data/test_1000.bin" --quiet | head -1
$bin/q46eval "$out/cnn6-23x23.q46" --cifar10 "$data/test_1000.bin" --quiet | head -1
