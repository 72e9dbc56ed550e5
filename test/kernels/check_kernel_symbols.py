#!/usr/bin/python3
"""Checks that no inline or template code is shared between the per-ISA microkernel objects.

Each qconv_<isa>.o is compiled with its ISA's flags. Inline functions and template instances are weak symbols: had
two objects the same one (or one with the rest of the library), the linker would keep one copy, perhaps built for
AVX-512 and called by the AVX2 kernels on a CPU without it. simd_regs.h puts all of them in an inline namespace per
ISA (isa_avx2, ...); this fails, naming them, if a weak symbol of these objects lies outside such a namespace or
appears in two of them. Reads the objects with nm.
Usage: check_kernel_symbols.py qconv_avx2.o [more.o ...]
"""
import collections
import subprocess
import sys


def weak_symbols(path):
    """Weak symbols but the compiler's DW.ref.* pointers (the C++ personality routine, the same in every object)."""
    out = subprocess.run(["nm", "-C", "--defined-only", path], check=True, capture_output=True, text=True).stdout
    return {line.split(" ", 2)[2] for line in out.splitlines()
            if line.split(" ", 2)[1] in ("W", "V", "u") and not line.split(" ", 2)[2].startswith("DW.ref.")}


def main(paths):
    owners = collections.defaultdict(list)
    problems = []
    for path in paths:
        for name in weak_symbols(path):
            owners[name].append(path)
            if "::isa_" not in name:
                problems.append(f"{path}: weak symbol outside an ISA namespace: {name}")
    problems += [f"in {', '.join(where)}: {name}" for name, where in owners.items() if len(where) > 1]
    for p in problems:
        print(p)
    print(f"{len(paths)} objects, {len(owners)} weak symbols, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
