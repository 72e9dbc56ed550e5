#!/usr/bin/python3
"""What the runtime's load-time fusion (runtime/fuse_into_convolutions.h: residual Adds and Quantizes folded into the
convolutions before them) is worth: whole-network latency of each plan with it (q46bench's default) and without it
(`q46bench --fuse=false`, the plan's nodes as written), on each thread count, in alternating runs of one process
after another (the order swapped every round, so a machine that drifts favours neither).

Usage: /usr/bin/python3 bench/fusion_ab.py PLAN.q46 [PLAN.q46 ...] [--build build] [--threads 1,2] [--rounds 10]
           [--repeats 60] [--out bench/results/fusion-ab]
Writes OUT.json (every run's median and min) and OUT.md (per plan and thread count: the best median and the min of
each, and the median over rounds of unfused / fused medians). Compile plans with q46c first (peers.py's variants
are the same commands). Measures only; asserts nothing.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from script_common import cpu_name  # noqa: E402

VARIANTS = {"fused": [], "unfused": ["--fuse=false"]}


def run(bench, plan, threads, repeats, extra):
    cmd = [bench, plan, "--threads", str(threads), "--repeats", str(repeats), "--layers=false", "--json"] + extra
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"fusion_ab: {' '.join(cmd)} failed: {proc.stderr.strip()}")
    d = json.loads(proc.stdout)
    return {"median_ms": d["median_ms"], "min_ms": d["min_ms"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plans", nargs="+", help="compiled plans (.q46)")
    ap.add_argument("--build", default="build", help="the build directory (default: %(default)s)")
    ap.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=10, help="alternating rounds (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=60, help="timed runs per q46bench call (default: %(default)s)")
    ap.add_argument("--out", default="bench/results/fusion-ab", help="output path without extension")
    args = ap.parse_args()
    bench = os.path.join(args.build, "bin", "q46bench")
    threads = [int(t) for t in args.threads.split(",")]
    results = []
    for plan in args.plans:
        for t in threads:
            runs = {v: [] for v in VARIANTS}
            for r in range(args.rounds):
                order = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
                for v in order:
                    runs[v].append(run(bench, plan, t, args.repeats, VARIANTS[v]))
            ratios = [u["median_ms"] / f["median_ms"] for u, f in zip(runs["unfused"], runs["fused"])]
            results.append({"plan": plan, "threads": t, "runs": runs, "unfused_over_fused": statistics.median(ratios)})
            print(f"{os.path.basename(plan)} {t} thread(s): unfused / fused {statistics.median(ratios):.3f}",
                  file=sys.stderr)
    meta = {"date": datetime.date.today().isoformat(), "cpu": cpu_name(),
            "command": " ".join(["bench/fusion_ab.py"] + sys.argv[1:]), "rounds": args.rounds}
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    lines = [f"# Load-time fusion, with and without ({meta['date']}, {meta['cpu']})", "",
             f"`{meta['command']}`: {args.rounds} rounds of q46bench, fused and unfused alternating. Times in ms.", "",
             "| plan | threads | fused best median | fused min | unfused best median | unfused min | unfused / fused "
             "(median of rounds) |", "|---|---|---|---|---|---|---|"]
    for r in results:
        f, u = r["runs"]["fused"], r["runs"]["unfused"]
        lines.append(f"| {os.path.basename(r['plan'])} | {r['threads']} | {min(x['median_ms'] for x in f):.3f} | "
                     f"{min(x['min_ms'] for x in f):.3f} | {min(x['median_ms'] for x in u):.3f} | "
                     f"{min(x['min_ms'] for x in u):.3f} | {r['unfused_over_fused']:.3f} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
