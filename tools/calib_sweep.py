"""The article's Table 2 for our models: accuracy of every maximal (N_x, N_w) pair, 4-bit and 8-bit.

For each model, precision and seed: q46c compiles models/cifar10/<model>.onnx calibrated on --calib-count
training images (chosen by the seed) with the given calibration options, and q46eval measures top-1 on the
full CIFAR-10 test set through the integer runtime. Results are appended to OUT/results.jsonl as they come, so
an interrupted sweep resumes where it stopped (a finished point is never recomputed). OUT/table.md and
OUT/table.json hold the table of every point in OUT (earlier runs too): mean and spread over seeds, the change
from our float model, the article's figure. Points made with other q46c flags are set aside, and so are points
of a model file that has changed since (each record carries the file's SHA-256), which are then recomputed.

Usage: /usr/bin/python3 tools/calib_sweep.py CIFAR_BIN_DIR --out DIR [--models cnn6,cnn10] [--pairs all|23x23,..]
       [--seeds 0,1,2] [--jobs 2] [-- extra q46c flags]
(CIFAR_BIN_DIR: the folder with data_batch_1.bin and test_batch.bin, e.g. from make-cifar10-bin)
"""
import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from script_common import BASELINES, MAXIMAL, parse_pairs, split_passthrough

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = ["cnn6", "cnn7", "cnn8", "cnn9", "cnn10"]
# The article's Table 2 (top-1 %, mean of 5 runs) for the rows the brief lists.
ARTICLE = {
    (5, 127): [63.5, 69.6, 70.6, 71.7, 81.3], (9, 63): [70.9, 75.0, 76.4, 78.0, 86.9],
    (15, 37): [73.1, 76.4, 78.1, 79.8, 88.2], (19, 29): [73.1, 76.4, 78.5, 80.0, 88.5],
    (23, 23): [73.3, 76.5, 78.2, 79.9, 88.4], (29, 19): [73.0, 76.3, 78.3, 79.9, 88.3],
    (37, 15): [72.8, 75.5, 77.7, 79.4, 87.9], (63, 9): [69.0, 71.7, 74.3, 76.7, 86.3],
    (127, 5): [47.5, 55.2, 58.2, 67.5, 74.9], (16, 16): [72.0, 75.4, 77.3, 79.3, 87.7],
    (256, 256): [74.7, 77.6, 79.4, 80.8, 89.2], "float": [74.95, 77.83, 79.66, 81.4, 89.07],
}


def label(pair):
    for name, p in BASELINES.items():
        if p == pair:
            return name
    return "float" if pair == "float" else f"({pair[0]}, {pair[1]})"


def model_path(model):
    return os.path.join(ROOT, "models", "cifar10", f"{model}.onnx")


def model_sha256(model):
    with open(model_path(model), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_point(bin_dir, data, model, pair, seed, count, extra, tmp):
    """Compiles and evaluates one point; returns its record."""
    onnx = model_path(model)
    plan = os.path.join(tmp, f"{model}-{label(pair)}-{seed}.q46".replace(" ", "").replace(",", "x"))
    if pair == "float":
        compile_cmd = [f"{bin_dir}/q46c", onnx, "--float", "-o", plan]
    else:
        compile_cmd = [f"{bin_dir}/q46c", onnx, "--nx", str(pair[0]), "--nw", str(pair[1]), "--calib",
                       os.path.join(data, "data_batch_1.bin"), "--calib-count", str(count), "--seed", str(seed),
                       "-o", plan] + extra
    started = time.time()
    subprocess.run(compile_cmd, check=True, capture_output=True, text=True)
    compile_s = time.time() - started
    out = subprocess.run([f"{bin_dir}/q46eval", plan, "--cifar10", data, "--json", "--quiet", "--threads", "1"],
                         check=True, capture_output=True, text=True).stdout
    os.remove(plan)
    return {"model": model, "model_sha256": model_sha256(model), "pair": pair if pair == "float" else list(pair),
            "seed": seed,
            "top1": json.loads(out)["top1"], "compile_seconds": round(compile_s, 2), "q46c_flags": extra}


def key(r):
    return (r["model"], label(r["pair"] if r["pair"] == "float" else tuple(r["pair"])), r["seed"])


def write_table(out_dir, results, models, pairs, extra):
    cells = {}
    for r in results:
        cells.setdefault((r["model"], label(r["pair"] if r["pair"] == "float" else tuple(r["pair"]))), []).append(r["top1"])
    rows, table = [], []
    for pair in pairs + ["float"]:
        row = {"precision": label(pair)}
        for mi, m in enumerate(MODELS):
            if m not in models:
                continue
            values = cells.get((m, label(pair)), [])
            floats = cells.get((m, "float"), [])
            entry = {"article": ARTICLE.get(pair if pair == "float" else tuple(pair), [None] * 5)[mi], "runs": values}
            if values:
                entry["mean"] = round(statistics.mean(values), 2)
                entry["std"] = round(statistics.pstdev(values), 2)
                if floats and pair != "float":
                    entry["drop"] = round(statistics.mean(floats) - entry["mean"], 2)
            row[m] = entry
        table.append(row)
    json.dump({"date": str(datetime.date.today()), "q46c_flags": extra, "rows": table}, open(os.path.join(out_dir, "table.json"), "w"), indent=1)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write("# CIFAR-10 top-1 by precision (generated by tools/calib_sweep.py)\n\n")
        f.write(f"{datetime.date.today()}; full 10,000-image test set through the q46 integer runtime; calibration on "
                f"training images, mean ± spread over seeds; q46c flags: `{' '.join(extra) or '(defaults)'}`. "
                "Each cell: ours ± spread, n = runs (change from our float model) [article].\n\n")
        shown = [m for m in MODELS if m in models]
        f.write("| N_x, N_w | " + " | ".join(m.upper() for m in shown) + " |\n")
        f.write("|---|" + "---|" * len(shown) + "\n")
        for row in table:
            parts = []
            for m in shown:
                e = row[m]
                text = "—" if "mean" not in e else f"{e['mean']:.2f} ± {e['std']:.2f}, n={len(e['runs'])}"
                if "drop" in e:
                    text += f" ({-e['drop']:+.2f})"
                if e["article"] is not None:
                    text += f" [{e['article']}]"
                parts.append(text)
            f.write(f"| {row['precision']} | " + " | ".join(parts) + " |\n")


def main():
    argv, extra = split_passthrough(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="CIFAR-10 binary folder (data_batch_1.bin, test_batch.bin)")
    ap.add_argument("--out", required=True, help="output folder (results.jsonl, table.md, table.json)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--pairs", default="all", help="all, or a list like 23x23,15x37,4-bit,8-bit")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--calib-count", type=int, default=512)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="points run at once")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args(argv)
    models = args.models.split(",")
    for m in models:
        if m not in MODELS:
            sys.exit(f"calib_sweep: unknown model '{m}' (one of {', '.join(MODELS)})")
    for needed in ("data_batch_1.bin", "test_batch.bin"):
        if not os.path.exists(os.path.join(args.data, needed)):
            sys.exit(f"calib_sweep: {args.data} has no {needed}")
    try:
        pairs = parse_pairs(args.pairs)
    except ValueError:
        sys.exit(f"calib_sweep: bad --pairs '{args.pairs}'")
    seeds = [int(s) for s in args.seeds.split(",")]
    os.makedirs(args.out, exist_ok=True)
    results_path = os.path.join(args.out, "results.jsonl")
    results = [json.loads(line) for line in open(results_path)] if os.path.exists(results_path) else []
    results = [r for r in results if r["q46c_flags"] == extra or r["pair"] == "float"]
    digests = {m: model_sha256(m) for m in MODELS}
    stale = [r for r in results if r.get("model_sha256") != digests[r["model"]]]
    if stale:
        print(f"calib_sweep: setting aside {len(stale)} points of models changed since", file=sys.stderr)
    results = [r for r in results if r.get("model_sha256") == digests[r["model"]]]
    done = {key(r) for r in results}
    todo = [(m, "float", 0) for m in models] + [(m, p, s) for m in models for p in pairs for s in seeds]
    todo = [t for t in todo if (t[0], label(t[1]), t[2]) not in done]
    print(f"calib_sweep: {len(done)} points done, {len(todo)} to run", file=sys.stderr)
    bin_dir = os.path.join(args.build, "bin")
    with tempfile.TemporaryDirectory() as tmp, open(results_path, "a") as log, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_point, bin_dir, args.data, m, p, s, args.calib_count, extra, tmp): (m, p, s)
                   for m, p, s in todo}
        for i, fut in enumerate(concurrent.futures.as_completed(futures)):
            m, p, s = futures[fut]
            try:
                r = fut.result()
            except subprocess.CalledProcessError as e:
                sys.exit(f"calib_sweep: {m} {label(p)} seed {s} failed: {e.stderr.strip().splitlines()[-1:]}")
            log.write(json.dumps(r) + "\n")
            log.flush()
            results.append(r)
            print(f"[{i + 1}/{len(todo)}] {m} {label(p)} seed {s}: top-1 {r['top1']:.2f} "
                  f"(compile {r['compile_seconds']} s)", file=sys.stderr)
    # The table shows every point in the output folder (earlier runs included), in the article's order.
    seen = {label(r["pair"] if r["pair"] == "float" else tuple(r["pair"])) for r in results}
    write_table(args.out, results, sorted({r["model"] for r in results}),
                [p for p in MAXIMAL + list(BASELINES.values()) if label(p) in seen], extra)
    print(open(os.path.join(args.out, "table.md")).read())


if __name__ == "__main__":
    main()
