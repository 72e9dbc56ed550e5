"""Precision search: accuracy against latency for one model, uniform pairs and automatic per-layer choices.

Points (each: q46c compiles, q46eval measures accuracy on the evaluation data through the integer runtime):
  uniform   every pair of --pairs as the global pair (first and last layers float, q46c's default)
  all       every pair of --all-layers-pairs on every layer, first and last included
  auto      q46c --precision auto at each --budgets latency ratio (relative to the global (23, 23) assignment)
  refine    around each auto choice: the same map with one quantized layer made float, or one float layer
            made 8-bit (--refine; fed back with --precision-map)
Points run as jobs on Dask distributed: a local cluster of --jobs worker processes by default, or an existing
cluster with --scheduler tcp://HOST:8786 (its workers need the q46 binaries at --bin and the files at the same
paths). A job is idempotent (same inputs, same plan) and Dask reruns it elsewhere if its worker dies. Results
are appended to OUT/results.jsonl as they arrive, so an interrupted search resumes and a finished point is never
recomputed; OUT/plans/ keeps each point's plan. The automatic choices' damage and latency tables are measured
once, on this machine, into OUT/precision-cache/ (or --precision-cache), which the workers read (so a choice never depends on which
worker made it). Latency is then measured here, for every plan in OUT, in one
run: q46bench --isa on one thread, plans interleaved over --timing-rounds rounds; per plan, the least over
rounds of each round's 10th-percentile run (on a shared machine whole q46bench processes land in a slow mode,
30-40% slower, often enough that medians over a few rounds jump between plans that run the same kernels).
Writes OUT/report.md, report.json, points.csv, accuracy_latency.png (Pareto front marked) and the uniform pairs
in the article's Table 2 layout.

Usage: /usr/bin/python3 tools/precision_search.py MODEL.onnx --calib DATA --eval "--cifar10 DIR" --out OUT
       [--pairs all|23x23,..] [--budgets 0.9,1.0] [--refine] [--jobs 2 | --scheduler tcp://HOST:8786]
       [-- extra q46c flags]
"""
import argparse
import csv
import datetime
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

from script_common import BASELINES, MAXIMAL, cpu_name, parse_pairs, split_passthrough

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class SearchError(Exception):
    """A point that cannot be made: its one-line reason."""


def pair_label(pair):
    for name, p in BASELINES.items():
        if tuple(pair) == p:
            return name
    return f"{pair[0]}x{pair[1]}"


def point_key(point):
    """The point's identity: what it compiles, not how long it took."""
    return json.dumps({k: point[k] for k in ("kind", "pair", "budget", "map")}, sort_keys=True)


def point_label(point):
    if point["kind"] == "uniform":
        return pair_label(point["pair"])
    if point["kind"] == "all":
        return f"{pair_label(point['pair'])} all layers"
    if point["kind"] == "auto":
        return f"auto {point['budget']:g}"
    return point["name"]


def run_point(point, config):
    """One job: compile and evaluate. Runs on a Dask worker; returns the record and the plan's bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        plan = os.path.join(tmp, "point.q46")
        emitted = os.path.join(tmp, "map.json")
        cmd = [os.path.join(config["bin"], "q46c"), config["model"], "--calib", config["calib"], "--seed",
               str(config["seed"]), "--emit-precision-map", emitted, "-o", plan]
        if point["kind"] == "uniform":
            cmd += ["--nx", str(point["pair"][0]), "--nw", str(point["pair"][1])]
        elif point["kind"] == "auto":
            cmd += ["--precision", "auto", "--max-latency-ratio", str(point["budget"]), "--isa", config["isa"],
                    "--precision-cache", config["precision_cache"]]
        else:
            given = os.path.join(tmp, "given.json")
            with open(given, "w") as f:
                json.dump(point["map"] or all_layers_map(config, point["pair"], tmp), f)
            cmd += ["--precision-map", given]
        started = time.time()
        done = subprocess.run(cmd + config["q46c_flags"], capture_output=True, text=True)
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["q46c failed"])[-1]
            if point["kind"] == "auto" and "is unreachable" in why:  # a finding, not a failure
                return dict(point, label=point_label(point), unreachable=why.split("error: ")[-1]), None
            raise SearchError(f"{point_label(point)}: {why}")
        compile_s = time.time() - started
        evaluated = subprocess.run([os.path.join(config["bin"], "q46eval"), plan, "--json", "--quiet", "--threads",
                                    "1"] + config["eval"], capture_output=True, text=True)
        if evaluated.returncode != 0:
            raise SearchError(f"{point_label(point)}: {evaluated.stderr.strip()}")
        with open(emitted) as f:
            chosen = json.load(f)
        with open(plan, "rb") as f:
            plan_bytes = f.read()
    record = dict(point, label=point_label(point), top1=json.loads(evaluated.stdout)["top1"], chosen_map=chosen,
                  plan_sha256=hashlib.sha256(plan_bytes).hexdigest(), compile_seconds=round(compile_s, 2))
    estimate = re.search(r"estimated latency ([0-9.]+) of the global pair's", done.stdout)
    if point["kind"] == "auto" and estimate:  # q46c's own estimate, to set beside the measured ratio
        record["estimated_ratio"] = float(estimate.group(1))
    return record, plan_bytes


def all_layers_map(config, pair, tmp):
    """Every quantizable layer of the model at `pair` (the layer names from a float compile's emitted map)."""
    names = os.path.join(tmp, "names.json")
    subprocess.run([os.path.join(config["bin"], "q46c"), config["model"], "--float", "--emit-precision-map", names,
                    "-o", os.path.join(tmp, "names.q46")], check=True, capture_output=True, text=True)
    with open(names) as f:
        return {layer: list(pair) for layer in json.load(f)}


def refinements(record):
    """Maps one step from an auto choice: each quantized layer made float, each float layer made 8-bit."""
    out = []
    for layer, value in record["chosen_map"].items():
        changed = dict(record["chosen_map"])
        changed[layer] = "float" if value != "float" else [256, 256]
        step = "float" if value != "float" else "8-bit"
        out.append({"kind": "refine", "pair": None, "budget": None, "map": changed,
                    "name": f"auto {record['budget']:g}, {layer} {step}"})
    return out


def make_client(args):
    """A Dask client: the given scheduler, or a local cluster of --jobs single-threaded worker processes."""
    import distributed
    if args.scheduler:
        try:
            return distributed.Client(args.scheduler, timeout=args.connect_timeout)
        except (OSError, TimeoutError) as e:
            raise SearchError(f"cannot reach the Dask scheduler at {args.scheduler}: {e}".splitlines()[0])
    cluster = distributed.LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    return distributed.Client(cluster)


def run_jobs(client, points, config, out, results, log, retries):
    """Runs the points not in `results`; appends each record as it arrives. The first automatic choice runs here,
    before the others are sent out: it measures the damage and latency tables once, on this machine (the target),
    into OUT/precision-cache, which every other automatic job then reads."""
    import distributed
    done = {point_key(r) for r in results}
    todo = list({point_key(p): p for p in points if point_key(p) not in done}.values())
    print(f"precision_search: {len(points) - len(todo)} points done, {len(todo)} to run", file=sys.stderr)
    count, total = 0, len(todo)

    def keep(record, plan_bytes):
        nonlocal count
        if plan_bytes is not None:
            write_atomically(os.path.join(out, "plans", record["plan_sha256"] + ".q46"), plan_bytes)
        log.write(json.dumps(record) + "\n")
        log.flush()
        results.append(record)
        count += 1
        print(f"[{count}/{total}] {record['label']}: " + (record.get("unreachable") or
              f"top-1 {record['top1']:.2f} (compile {record['compile_seconds']} s)"), file=sys.stderr)

    first_auto = next((p for p in todo if p["kind"] == "auto"), None)
    if first_auto:  # measures the tables, or finds them in the cache
        keep(*run_point(first_auto, config))
        todo.remove(first_auto)
    # Keys name everything a point depends on (model, data, flags), so searches sharing a cluster never mix.
    futures = [client.submit(run_point, p, config, pure=False, retries=retries,
                             key=f"q46-point-{hashlib.sha256(json.dumps(p, sort_keys=True).encode()).hexdigest()}")
               for p in todo]
    for future in distributed.as_completed(futures):
        try:
            keep(*future.result())
        except distributed.KilledWorker as e:
            raise SearchError(f"a job killed every worker that ran it: {e}".splitlines()[0])


def local_isa(config):
    """The ISA q46bench picks on this machine (the target, unless --isa says otherwise)."""
    with tempfile.TemporaryDirectory() as tmp:
        plan = os.path.join(tmp, "float.q46")
        subprocess.run([os.path.join(config["bin"], "q46c"), config["model"], "--float", "-o", plan], check=True,
                       capture_output=True, text=True)
        bench = subprocess.run([os.path.join(config["bin"], "q46bench"), plan, "--json", "--layers=false",
                                "--repeats", "1", "--warmup", "0", "--min-time", "0"], check=True, capture_output=True,
                               text=True)
        return json.loads(bench.stdout)["isa"]


def write_atomically(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.replace(tmp, path)


def time_plans(bin_dir, out, results, isa, rounds):
    """Latency (ms) per plan, measured here in one run: plans interleaved, least over rounds of the p10 run."""
    plans = sorted({r["plan_sha256"] for r in results})
    per_plan = {p: [] for p in plans}
    for rnd in range(rounds):
        for p in plans:
            bench = subprocess.run([os.path.join(bin_dir, "q46bench"), os.path.join(out, "plans", p + ".q46"),
                                    "--json", "--layers=false", "--threads", "1", "--min-time", "0.3", "--isa", isa],
                                   check=True, capture_output=True, text=True)
            measured = json.loads(bench.stdout)
            per_plan[p].append(measured["p10_ms"])
        print(f"precision_search: timing round {rnd + 1}/{rounds}", file=sys.stderr)
    return {p: min(v) for p, v in per_plan.items()}


def pareto(points):
    """Indices of points no other point beats on both latency (lower) and accuracy (higher)."""
    front = []
    for i, a in enumerate(points):
        if not any(b["latency_ms"] <= a["latency_ms"] and b["top1"] >= a["top1"] and
                   (b["latency_ms"] < a["latency_ms"] or b["top1"] > a["top1"]) for b in points):
            front.append(i)
    return front


def write_report(out, rows, unreachable, meta):
    base = next((r for r in rows if r["label"] == "23x23"), None)
    for r in rows:
        r["latency_ratio"] = round(r["latency_ms"] / base["latency_ms"], 4) if base else None
    front = set(pareto(rows))
    for i, r in enumerate(rows):
        r["pareto"] = i in front
    write_atomically(os.path.join(out, "report.json"), json.dumps(dict(meta, points=rows, unreachable=unreachable), indent=1))
    fields = ["kind", "label", "top1", "latency_ms", "latency_ratio", "pareto", "compile_seconds", "plan_sha256"]
    with open(os.path.join(out, "points.csv.tmp"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(os.path.join(out, "points.csv.tmp"), os.path.join(out, "points.csv"))
    lines = [f"# Precision search: {os.path.basename(meta['model'])} (generated by tools/precision_search.py)", "",
             f"{meta['date']}; {meta['cpu']}; latency: q46bench --isa {meta['isa']}, 1 thread, least over "
             f"{meta['timing_rounds']} interleaved rounds in one run of each round's 10th-percentile run; accuracy: q46eval `{' '.join(meta['eval'])}` "
             f"through the integer runtime; calibration `{meta['calib']}`, seed {meta['seed']}, q46c flags "
             f"`{' '.join(meta['q46c_flags']) or '(defaults)'}`.", "", f"Command: `{meta['command']}`", "",
             "## All points (Pareto front marked *)", "", "| point | top-1 % | latency ms | vs 23x23 |", "|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["latency_ms"]):
        ratio = f"{r['latency_ratio']:.3f}" if r["latency_ratio"] is not None else "—"
        lines.append(f"| {'*' if r['pareto'] else ''}{r['label']} | {r['top1']:.2f} | {r['latency_ms']:.4f} | {ratio} |")
    uniform = [r for r in rows if r["kind"] == "uniform"]
    if uniform:
        lines += ["", "## Uniform pairs (the article's Table 2 layout)", "", "| N_x, N_w | top-1 % | latency ms |",
                  "|---|---|---|"]
        order = [pair_label(p) for p in MAXIMAL + list(BASELINES.values())]
        for r in sorted(uniform, key=lambda r: order.index(r["label"]) if r["label"] in order else 99):
            lines.append(f"| {r['label']} | {r['top1']:.2f} | {r['latency_ms']:.4f} |")
    autos = [r for r in rows if r["kind"] == "auto"]
    if autos:
        lines += ["", "## Automatic choices", ""]
        for r in sorted(autos, key=lambda r: r["budget"]):
            estimate = f" (q46c estimated {r['estimated_ratio']:.3f})" if "estimated_ratio" in r else ""
            ratio = f", {r['latency_ratio']:.3f} of 23x23{estimate}" if r["latency_ratio"] is not None else ""
            lines.append(f"- budget {r['budget']:g}: top-1 {r['top1']:.2f}, latency {r['latency_ms']:.4f} ms"
                         f"{ratio}; map `{json.dumps(r['chosen_map'])}`")
    lines += [f"- budget {r['budget']:g}: {r['unreachable']}" for r in unreachable]
    write_atomically(os.path.join(out, "report.md"), "\n".join(lines) + "\n")
    plot(out, rows)


def plot(out, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5.5))
    styles = {"uniform": ("tab:blue", "o"), "all": ("tab:cyan", "s"), "auto": ("tab:red", "*"),
              "refine": ("tab:gray", ".")}
    for kind, (color, marker) in styles.items():
        pts = [r for r in rows if r["kind"] == kind]
        if pts:
            ax.scatter([r["latency_ms"] for r in pts], [r["top1"] for r in pts], c=color, marker=marker,
                       s=90 if kind == "auto" else 30, label=kind, zorder=3)
    for r in rows:
        if r["kind"] != "refine":
            ax.annotate(r["label"], (r["latency_ms"], r["top1"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["latency_ms"])
    ax.step([r["latency_ms"] for r in front], [r["top1"] for r in front], where="post", color="black", lw=1,
            label="Pareto front", zorder=2)
    ax.set_xlabel("latency, ms (q46bench, 1 thread)")
    ax.set_ylabel("top-1, %")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "accuracy_latency.png.tmp.png"), dpi=120)
    os.replace(os.path.join(out, "accuracy_latency.png.tmp.png"), os.path.join(out, "accuracy_latency.png"))


def main():
    argv, extra = split_passthrough(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="the float ONNX model")
    ap.add_argument("--calib", required=True, help="calibration data (as q46c --calib)")
    ap.add_argument("--eval", required=True, help='q46eval data flags, e.g. "--cifar10 DIR"')
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--pairs", default="all", help="uniform pairs: all, or a list like 23x23,15x37,4-bit,8-bit")
    ap.add_argument("--all-layers-pairs", default="23x23,4-bit,8-bit",
                    help="pairs also run on every layer, first and last included ('' for none)")
    ap.add_argument("--budgets", default="0.9,0.95,1.0,1.05", help="latency ratios for --precision auto")
    ap.add_argument("--refine", action="store_true", help="also evaluate one-layer changes of each auto choice")
    ap.add_argument("--isa", default="", help="target ISA for latency (default: this CPU's best)")
    ap.add_argument("--precision-cache", help="damage and latency tables of --precision auto (default "
                    "OUT/precision-cache; measured here when absent)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="local worker processes")
    ap.add_argument("--scheduler", help="an existing Dask scheduler, e.g. tcp://HOST:8786")
    ap.add_argument("--connect-timeout", default="10s")
    ap.add_argument("--retries", type=int, default=2, help="reruns of a job that fails (a dead worker is not one)")
    ap.add_argument("--timing-rounds", type=int, default=7, help="interleaved latency rounds (0: no timing)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"), help="q46 binaries (on the workers too)")
    args = ap.parse_args(argv)
    try:
        for path in (args.model, args.calib):
            if not os.path.exists(path):
                raise SearchError(f"{path} does not exist")
        try:
            pairs = parse_pairs(args.pairs) if args.pairs else []
            all_pairs = parse_pairs(args.all_layers_pairs) if args.all_layers_pairs else []
            budgets = [float(b) for b in args.budgets.split(",")] if args.budgets else []
        except ValueError as e:
            raise SearchError(f"--pairs / --budgets: {e}")
        if any(b <= 0 for b in budgets):
            raise SearchError("budgets must be positive")
        config = {"bin": os.path.abspath(args.bin), "model": os.path.abspath(args.model),
                  "calib": os.path.abspath(args.calib), "eval": shlex.split(args.eval), "seed": args.seed,
                  "isa": args.isa, "q46c_flags": extra}
        client = make_client(args)  # before anything is written: an unreachable scheduler leaves OUT untouched
        search(client, args, config, pairs, all_pairs, budgets)
    except SearchError as e:
        sys.exit(f"precision_search: error: {e}")
    except subprocess.CalledProcessError as e:
        sys.exit(f"precision_search: error: {os.path.basename(e.cmd[0])} failed: "
                 f"{((e.stderr or '').strip().splitlines() or ['exit ' + str(e.returncode)])[-1]}")
    except FileNotFoundError as e:
        sys.exit(f"precision_search: error: {e}")


def parse_record(line):
    """A results.jsonl line, or None for one cut short by an interruption."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def search(client, args, config, pairs, all_pairs, budgets):
    with open(config["model"], "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(args.out, exist_ok=True)
    config["isa"] = config["isa"] or local_isa(config)
    config["precision_cache"] = os.path.abspath(args.precision_cache or os.path.join(args.out, "precision-cache"))
    results_path = os.path.join(args.out, "results.jsonl")
    same = {"model_sha256": model_sha, "calib": config["calib"], "eval": config["eval"], "seed": config["seed"],
            "isa": config["isa"], "q46c_flags": config["q46c_flags"]}
    results = []
    if os.path.exists(results_path):
        results = [r for r in map(parse_record, open(results_path)) if r and all(r.get(k) == v for k, v in same.items())]
        # A point whose plan is gone (plans/ is not kept in git) is run again: its latency needs the plan.
        results = [r for r in results if "unreachable" in r or
                   os.path.exists(os.path.join(args.out, "plans", r["plan_sha256"] + ".q46"))]
        results = list({point_key(r): r for r in results}.values())  # a point run again: its latest record
    config_point = lambda p: dict(p, **same)
    points = [config_point({"kind": "uniform", "pair": list(p), "budget": None, "map": None}) for p in pairs]
    points += [config_point({"kind": "all", "pair": list(p), "budget": None, "map": None}) for p in all_pairs]
    points += [config_point({"kind": "auto", "pair": None, "budget": b, "map": None}) for b in budgets]
    with open(results_path, "a") as log:
        run_jobs(client, points, config, args.out, results, log, args.retries)
        if args.refine:
            autos = [r for r in results if r["kind"] == "auto" and r["budget"] in budgets and "unreachable" not in r]
            run_jobs(client, [config_point(p) for r in autos for p in refinements(r)], config, args.out, results, log,
                     args.retries)
    client.close()
    if not args.scheduler:
        client.cluster.close()  # its idle workers would share the CPU with the timing
    wanted = {point_key(p) for p in points} | {point_key(r) for r in results if r["kind"] == "refine"}
    rows = [r for r in results if point_key(r) in wanted and "unreachable" not in r]
    unreachable = [r for r in results if point_key(r) in wanted and "unreachable" in r]
    if args.timing_rounds > 0:
        latency = time_plans(config["bin"], args.out, rows, config["isa"], args.timing_rounds)
        for r in rows:
            r["latency_ms"] = round(latency[r["plan_sha256"]], 5)
        meta = dict(same, model=config["model"], date=str(datetime.date.today()), cpu=cpu_name(),
                    timing_rounds=args.timing_rounds, command=" ".join(shlex.quote(a) for a in sys.argv))
        write_report(args.out, rows, unreachable, meta)
        print(open(os.path.join(args.out, "report.md")).read())


if __name__ == "__main__":
    main()
