#!/usr/bin/env bash
# Installs q46's build and test dependencies from Debian 12 packages (as root). Safe to rerun: does nothing
# when everything is already installed.
set -euo pipefail
# ocl-icd-opencl-dev: libdnnl-dev only recommends it, but its CMake config (built with the OpenCL GPU runtime)
# fails without it.
packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev libomp-14-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libabsl-dev llvm-dev libdnnl-dev ocl-icd-opencl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libjpeg-dev libpng-dev zlib1g-dev
  libonnx-testdata g++-aarch64-linux-gnu qemu-user
  python3-torch python3-torchvision python3-onnx python3-numpy python3-pil python3-matplotlib python3-distributed
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
