#!/usr/bin/python3
"""Checks the generated code of the SIMD microkernels: no stack traffic inside any hot loop.

A microkernel's accumulators must live in registers; a spill (GCC 12 spilled the 4 x 6 zmm tiles, halving their
speed) shows up as %rsp references inside an innermost loop (a backward jump with no other inside it)
that does multiply-adds. Reads the per-ISA objects with objdump; exits non-zero naming every function that
touches the stack there.
Usage: check_kernel_registers.py qconv_avx2.o [more.o ...]
"""
import re
import subprocess
import sys

MADD = re.compile(r"\b(vpdpbusd|vpmaddubsw|vpmaddwd)\b")
STACK = re.compile(r"\(%rsp[,)]")  # frame pointers are omitted: %rbp is an ordinary register
INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\s*(.*)$")
JUMP = re.compile(r"^j\w+\s+([0-9a-f]+)\b")


def hot_loop_stack_refs(disassembly):
    """(function, count) for every function with a multiply-add loop: stack references inside such loops."""
    for block in disassembly.split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].endswith(">:"):
            continue
        code = [(int(m.group(1), 16), m.group(2)) for m in map(INSTRUCTION.match, lines[1:]) if m]
        loops = []  # (first, last) address of each backward jump's body
        for address, text in code:
            jump = JUMP.match(text)
            if jump and int(jump.group(1), 16) < address:
                loops.append((int(jump.group(1), 16), address))
        innermost = [(a, b) for a, b in loops if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in loops)]
        refs, hot = 0, False
        for first, last in innermost:
            body = [text for address, text in code if first <= address <= last]
            if any(MADD.search(text) for text in body):
                hot = True
                refs += sum(1 for text in body if STACK.search(text))
        if hot:
            yield lines[0], refs


def main(paths):
    if not paths:
        sys.exit(__doc__.strip().splitlines()[-1])
    functions, bad = 0, []
    for path in paths:
        text = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", path], check=True,
                              capture_output=True, text=True).stdout
        for name, refs in hot_loop_stack_refs(text):
            functions += 1
            if refs:
                bad.append(f"{path}: {name} touches the stack {refs} times inside its multiply-add loop")
    print(f"{functions} microkernel functions checked, {len(bad)} with stack traffic in the hot loop")
    if functions == 0:
        sys.exit("no multiply-add instructions found: wrong objects?")
    if bad:
        sys.exit("\n".join(bad))


if __name__ == "__main__":
    main(sys.argv[1:])
