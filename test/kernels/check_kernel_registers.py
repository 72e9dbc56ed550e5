#!/usr/bin/python3
"""Checks the generated code of the SIMD microkernels: accumulators stay in registers in every hot loop.

A microkernel's accumulators must live in registers; a spill (GCC 12 spilled the 4 x 6 zmm tiles, halving their
speed) or an accumulator array left in memory shows up as a store or a stack read inside an innermost loop (a
backward jump with no other inside it) that does multiply-adds. Reads the per-ISA objects (x86-64 or aarch64)
with objdump; exits non-zero naming every function with such memory traffic.
Usage: check_kernel_registers.py qconv_avx2.o [more.o ...]
"""
import re
import subprocess
import sys

# Per architecture (ELF e_machine): objdump, multiply-add instructions (by preference), memory writes or stack
# reads (an accumulator kept in memory), jumps with a target.
ARCHES = {
    # vpmaddwd also widens the int16 accumulators of vpmaddubsw (by ones, once per flush): it is the
    # multiply-add only in functions with neither of the others.
    0x3E: ("objdump", [re.compile(r"\b(vpdpbusd|vpmaddubsw)\b"), re.compile(r"\bvpmaddwd\b")],
           # a mov to memory (AT&T: the memory operand last) or any %rsp operand (%rbp is an ordinary register)
           re.compile(r"^v?mov\w*\s+[^(]*,\s*[^,]*\(|\(%rsp[,)]"),
           re.compile(r"^j\w+\s+([0-9a-f]+)\b")),
    # sadalp also widens the int16 sums into int32 (once per flush, fused with their add): the 8-bit vector
    # multiply marks the multiply-add loop.
    0xB7: ("aarch64-linux-gnu-objdump", [re.compile(r"\b(mul\s+v\d+\.16b|sdot|smlal2?)\b")],
           re.compile(r"^st[rp1-4]\w*\s|\[sp\b"),
           re.compile(r"^(?:b\.\w+|b|cbn?z|tbn?z)\s+(?:\w+,\s*)*([0-9a-f]+)\s+<")),
}
INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\s*(.*)$")


def machine(path):
    with open(path, "rb") as f:
        header = f.read(20)
    return int.from_bytes(header[18:20], "little")


def hot_loop_memory_refs(disassembly, madds, memory, jump):
    """(function, count) for every function with a multiply-add loop: stores or stack reads inside such loops."""
    for block in disassembly.split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].endswith(">:"):
            continue
        madd = next((m for m in madds if m.search(block)), madds[0])
        code = [(int(m.group(1), 16), m.group(2)) for m in map(INSTRUCTION.match, lines[1:]) if m]
        loops = []  # (first, last) address of each backward jump's body
        for address, text in code:
            target = jump.match(text)
            if target and int(target.group(1), 16) < address:
                loops.append((int(target.group(1), 16), address))
        innermost = [(a, b) for a, b in loops if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in loops)]
        refs, hot = 0, False
        for first, last in innermost:
            body = [text for address, text in code if first <= address <= last]
            if any(madd.search(text) for text in body):
                hot = True
                refs += sum(1 for text in body if memory.search(text))
        if hot:
            yield lines[0], refs


def main(paths):
    if not paths:
        sys.exit(__doc__.strip().splitlines()[-1])
    functions, bad = 0, []
    for path in paths:
        objdump, madds, memory, jump = ARCHES[machine(path)]
        text = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", path], check=True,
                              capture_output=True, text=True).stdout
        for name, refs in hot_loop_memory_refs(text, madds, memory, jump):
            functions += 1
            if refs:
                bad.append(f"{path}: {name} has {refs} stores or stack reads inside its multiply-add loop")
    print(f"{functions} microkernel functions checked, {len(bad)} with memory traffic in the hot loop")
    if functions == 0:
        sys.exit("no multiply-add instructions found: wrong objects?")
    if bad:
        sys.exit("\n".join(bad))


if __name__ == "__main__":
    main(sys.argv[1:])
