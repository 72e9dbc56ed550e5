"""What q46's Python scripts (tools/, bench/) share: the command-line split for flags passed through to q46c,
the article's precisions and their parsing, and the CPU name for result records. Standard library only."""
import platform

# The article's 19 maximal (N_x, N_w) pairs (runtime/arith.h kMaximalPairs) and its two baselines.
MAXIMAL = [(5, 127), (7, 85), (9, 63), (11, 51), (13, 43), (15, 37), (17, 31), (19, 29), (21, 25), (23, 23),
           (25, 21), (29, 19), (31, 17), (37, 15), (43, 13), (51, 11), (63, 9), (85, 7), (127, 5)]
BASELINES = {"4-bit": (16, 16), "8-bit": (256, 256)}


def parse_pairs(text):
    """"all" (the maximal pairs and both baselines) or a list like 23x23,15x37,4-bit,8-bit; ValueError if bad."""
    if text == "all":
        return MAXIMAL + list(BASELINES.values())
    pairs = []
    for item in text.split(","):
        if item in BASELINES:
            pairs.append(BASELINES[item])
            continue
        try:
            nx, nw = (int(v) for v in item.split("x"))
        except ValueError:
            raise ValueError(f"bad pair '{item}' (use NXxNW, 4-bit or 8-bit)")
        pairs.append((nx, nw))
    return pairs


def split_passthrough(argv):
    """(script arguments, arguments after a `--`), for scripts that pass extra flags on to q46c."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1:]


def cpu_name():
    """The CPU's model name from /proc/cpuinfo (or the platform's processor string)."""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
