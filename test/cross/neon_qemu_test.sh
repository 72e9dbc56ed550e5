#!/usr/bin/env bash
# The NEON microkernels, bit for bit against the reference kernel: builds the fast convolution
# (runtime/kernels/qconv/, ISA-independent driver plus qconv_neon.cc, and fast/fast_kernels.cc, whose activations
# the driver runs on float outputs) and test/kernels/qconv_test.cc for aarch64
# with Debian's cross compiler (g++-aarch64-linux-gnu, GoogleTest from its /usr/src sources; the microkernels
# with clang, which keeps their accumulators in registers, checked here), and runs the test under qemu-aarch64.
# Usage: neon_qemu_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1
work=$2
cxx=aarch64-linux-gnu-g++
kernel_cxx=(clang++-14 --target=aarch64-linux-gnu)
gtest=/usr/src/googletest/googletest
for tool in "$cxx" "${kernel_cxx[0]}" qemu-aarch64; do
  command -v "$tool" >/dev/null ||
    { echo "neon_qemu_test: $tool not found (tools/install-deps.sh installs it)" >&2; exit 1; }
done
mkdir -p "$work"
flags=(-O2 -std=c++17 -march=armv8-a -fopenmp -Wall -Wextra -I"$src" -isystem "$gtest/include" -I"$gtest")
pids=()
# GoogleTest changes only with the package: built once per work directory. Everything else, every time.
for part in gtest-all gtest_main; do
  [[ -f "$work/$part.o" ]] || { "$cxx" "${flags[@]}" -w -c "$gtest/src/$part.cc" -o "$work/$part.o" & pids+=($!); }
done
objects=("$work/qconv_neon.o" "$work/qconv.o" "$work/winograd.o" "$work/fast_kernels.o" "$work/qconv_test.o")
rm -f "${objects[@]}"
"${kernel_cxx[@]}" -O3 -std=c++17 -march=armv8-a -Wall -Wextra -I"$src" -c "$src/runtime/kernels/qconv/qconv_neon.cc" \
  -o "$work/qconv_neon.o" &
pids+=($!)
for part in qconv/qconv qconv/winograd fast/fast_kernels; do
  "$cxx" "${flags[@]}" -c "$src/runtime/kernels/$part.cc" -o "$work/$(basename "$part").o" &
  pids+=($!)
done
"$cxx" "${flags[@]}" -c "$src/test/kernels/qconv_test.cc" -o "$work/qconv_test.o" &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
/usr/bin/python3 "$src/test/kernels/check_kernel_registers.py" "$work/qconv_neon.o"
"$cxx" -fopenmp "${objects[@]}" "$work/gtest-all.o" "$work/gtest_main.o" -o "$work/qconv_test_aarch64" -pthread
exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/qconv_test_aarch64"
