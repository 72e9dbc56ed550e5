#!/usr/bin/python3
"""Checks that the fast kernels' float loops are built per ISA: each named function has AVX-512 and AVX2 clones
(GCC target_clones) whose code uses zmm and ymm registers. A clone that only calls a shared baseline copy (what
happened before the clones were flattened) has neither and fails.
Usage: check_float_loop_clones.py OBJECT [OBJECT ...] -- FUNCTION [FUNCTION ...]
(objects not built from fast_kernels.cc are ignored, so a target's whole object list may be passed)
"""
import re
import subprocess
import sys

CLONES = {"avx512f": "%zmm", "avx2": "%ymm"}
HEADER = re.compile(r"^[0-9a-f]+ <(.*) \[clone \.(\w+)\]>:$")


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    at = argv.index("--")
    objects = [p for p in argv[:at] if p.endswith("fast_kernels.cc.o")]
    functions = argv[at + 1:]
    if not objects or not functions:
        sys.exit("check_float_loop_clones: no fast_kernels.cc.o or no function named")
    found = {}  # (function, clone) -> uses the clone's registers
    for obj in objects:
        text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", obj], check=True, capture_output=True,
                              text=True).stdout
        for block in text.split("\n\n"):
            lines = block.strip().splitlines()
            header = HEADER.match(lines[0]) if lines else None
            if not header or header.group(2) not in CLONES:
                continue
            name = next((f for f in functions if f"::{f}(" in header.group(1)), None)
            if name:
                found[(name, header.group(2))] = CLONES[header.group(2)] in block
    failures = []
    for f in functions:
        for clone, register in CLONES.items():
            if (f, clone) not in found:
                failures.append(f"{f}: no {clone} clone")
            elif not found[(f, clone)]:
                failures.append(f"{f}: the {clone} clone uses no {register} register")
    for line in failures:
        print(line)
    if failures:
        sys.exit(1)
    print(f"{len(functions)} functions, each with {' and '.join(CLONES)} clones on their registers")


if __name__ == "__main__":
    main(sys.argv[1:])
