"""What q46's Python scripts (tools/, bench/) share: the command-line split for flags passed through to q46c,
and the CPU name for result records. Standard library only."""
import platform


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
