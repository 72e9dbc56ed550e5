"""q46 beside its peers, in one run: whole-network and convolution-only latency, batch 1, on the CIFAR-10 CNNs
(models/cifar10), ResNet-18 / ResNet-34 at 224x224 and the U-Net at 256x256 (exported with seeded weights by
tools/export_models.py: speed does not depend on the weights' values).

For every model, thread count and ISA (this CPU's best, and AVX2 as on a CPU without AVX-512 / VNNI):
  q46:     q46bench --json on plans with every conv/fc layer at 4.6-bit (23, 23), 4-bit, 8-bit (precision maps
           that include the first and last layers, like the peers), q46's default (23, 23) with the first and last
           layers float, and float;
  oneDNN:  bench/onednn_peer.cc: the same convolutions as oneDNN int8 (from the 8-bit plan) and f32 primitives
           (transposed convolutions, float in every q46 plan, as f32 deconvolutions in both), convolutions only,
           DNNL_MAX_CPU_ISA=AVX2 for the AVX2 rows;
  ONNX Runtime, when `npm install onnxruntime-node --ignore-scripts` has been run in --ort DIR: the float model,
           and int8: the QDQ model `q46c --emit-onnx-qdq` exports from the 8-bit plan (every layer quantized), which
           ORT fuses into its integer kernels. ORT's outputs on the QDQ exports of the 8-bit and 4.6-bit plans are
           checked against q46run's on sample inputs (a 4.6-bit QDQ graph is correct in ORT but runs its
           convolutions in float: ORT's integer kernels know only the full uint8 code range).
The clock and the per-instruction peaks come from build/bin/isa_peak in the same run. Ratios are computed within
this run only. With --rounds N every row is measured N times in turn and each engine keeps its fastest round: on a
shared machine a whole measurement now and then runs 20-30% slow (seen on oneDNN's CNN10 chain: 0.22 ms in one
run of eight, 0.17 in the others), and one such round would decide a ratio.

Writes OUT.json (every measurement) and OUT.md (the tables).
Usage: /usr/bin/python3 bench/peers.py [--build build] [--models cnn6,...,unet] [--threads 1,2] [--rounds 1]
           [--out bench/results/peers]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from script_common import cpu_name  # noqa: E402
from bench_models import CIFAR, EXPORTED, ROOT, onnx_paths  # noqa: E402

PAIRS = {"q46_4.6": (23, 23), "q46_4": (16, 16), "q46_8": (256, 256)}
QDQ = ("q46_4.6", "q46_8")  # variants also exported as ONNX QDQ models


def run_json(cmd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        sys.exit(f"peers: {' '.join(cmd)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def compile_plans(bin_dir, onnx_path, calib, calib_count, work, name):
    """Plans for every q46 variant; returns {variant: path}."""
    graph = onnx.load(onnx_path).graph
    layers = [n.name for n in graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    plans = {}
    common = ["--calib", calib, "--calib-count", str(calib_count), "--calib-method", "none"]
    for variant, pair in PAIRS.items():
        pmap = os.path.join(work, f"{name}.{variant}.json")
        json.dump({layer: list(pair) for layer in layers}, open(pmap, "w"))
        plans[variant] = (["--precision-map", pmap] + common)
    plans["q46_default"] = ["--nx", "23", "--nw", "23"] + common
    plans["q46_float"] = ["--float"]
    out = {}
    for variant, flags in plans.items():
        path = os.path.join(work, f"{name}.{variant}.q46")
        if variant in QDQ:
            flags = flags + ["--emit-onnx-qdq", path[:-len(".q46")] + ".qdq.onnx"]
        proc = subprocess.run([os.path.join(bin_dir, "q46c"), onnx_path, "-o", path] + flags, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"peers: q46c {variant} on {onnx_path} failed: {proc.stderr.strip()}")
        out[variant] = path
    return out, {n.name: list(next((a.ints for a in n.attribute if a.name == "kernel_shape"), [])) for n in graph.node}


def q46_row(bin_dir, plan, isa, threads, kernels):
    cmd = [os.path.join(bin_dir, "q46bench"), plan, "--json", "--isa", isa, "--threads", str(threads),
           "--repeats", "20", "--min-time", "0.5"]
    # The network as it runs (the runtime fuses residual Adds and Quantizes into convolutions), and its layers as
    # the plan has them, so that the convolution columns time convolutions alone, as oneDNN's chain does.
    d = run_json(cmd + ["--layers=false"])
    convs = [l for l in run_json(cmd + ["--fuse=false"])["layers"] if l["op"] in ("quant_conv", "float_conv")]
    three = [l for l in convs if kernels.get(l["name"]) == [3, 3] and l["op"] == "quant_conv"]
    return {"median_ms": d["median_ms"], "p10_ms": d["p10_ms"], "p90_ms": d["p90_ms"], "clock_ghz": d["clock_ghz"],
            "conv_ms": round(sum(l["median_ms"] for l in convs), 6), "macs": d["macs"],
            "core_round_trip_ns": d.get("core_round_trip_ns"), "core_speed_ratio": d.get("core_speed_ratio"),
            "conv3x3_macs_per_cycle_per_core": round(sum(l["macs"] for l in three) / threads /
                                                     (sum(l["median_ms"] for l in three) * 1e-3 * d["clock_ghz"] * 1e9), 2)
            if three else None}


def measure_row(row, bin_dir, native, ort_dir):
    """One round of a row's measurements, merged into it (keep_fastest)."""
    plans, threads, isa = row["plans"], row["threads"], row["isa"]
    env = {"DNNL_MAX_CPU_ISA": "AVX2"} if isa == "avx2" else {}
    peer = os.path.join(bin_dir, "onednn_peer")
    measured = {"q46": {v: q46_row(bin_dir, p, native if isa == "native" else "avx2", threads, row["kernels"])
                        for v, p in plans.items()},
                "onednn_int8_conv_ms": run_json([peer, plans["q46_8"], "--threads", str(threads)], env)["median_ms"],
                "onednn_f32_conv_ms": run_json([peer, plans["q46_float"], "--threads", str(threads)], env)["median_ms"]}
    if ort_dir and isa == "native":
        measured["ort_fp32_ms"] = ort_latency(ort_dir, row["onnx"], threads)
        measured["ort_int8_ms"] = ort_latency(ort_dir, plans["q46_8"][:-len(".q46")] + ".qdq.onnx", threads)
    keep_fastest(row, measured)


def keep_fastest(row, measured):
    """Merges one round into row: per q46 variant the round with the lowest median (and the lowest convolution
    time, the highest 3x3 MAC/cycle of any round), per peer the lowest time."""
    q46 = row.setdefault("q46", {})
    for variant, r in measured["q46"].items():
        best = q46.get(variant)
        if best is None:
            q46[variant] = r
            continue
        conv_ms, mpc = min(best["conv_ms"], r["conv_ms"]), max(best["conv3x3_macs_per_cycle_per_core"] or 0,
                                                               r["conv3x3_macs_per_cycle_per_core"] or 0) or None
        if r["median_ms"] < best["median_ms"]:
            q46[variant] = best = r
        best["conv_ms"], best["conv3x3_macs_per_cycle_per_core"] = conv_ms, mpc
    for key, ms in measured.items():
        if key != "q46":
            best = row.get(key)
            row[key] = ms if best is None else best if ms is None else min(best, ms)


def input_dims(onnx_path):
    return [d.dim_value for d in onnx.load(onnx_path).graph.input[0].type.tensor_type.shape.dim]


def node(ort_dir, script, *args):
    return subprocess.run(["node", os.path.join(ROOT, "bench", script)] + list(args), capture_output=True, text=True,
                          env=dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules")))


def ort_latency(ort_dir, onnx_path, threads):
    proc = node(ort_dir, "ort_latency.js", onnx_path, str(threads), json.dumps(input_dims(onnx_path)))
    return json.loads(proc.stdout)["median_ms"] if proc.returncode == 0 else None


def qdq_agreement(bin_dir, ort_dir, plan, samples, work, strict):
    """ORT on the plan's QDQ export vs q46run on the plan, same samples: max |difference| relative to the largest
    output, and (for classifiers) the share of samples whose top-1 class agrees. A value on a rounding tie may land
    one code apart (ORT's float arithmetic is not q46's exact integer one) and the difference grows through deep
    networks; beyond 25% something other than rounding differs, and the script stops if `strict`. The caller
    passes strict=False for 8-bit on a CPU without VNNI: there ORT's u8 x s8 kernels add products in pairs in int16
    (vpmaddubsw), which saturate past 32767 (255 * 127 * 2 = 64770), so its outputs are not the exact integer
    convolution."""
    qdq = plan[:-len(".q46")] + ".qdq.onnx"
    ours, theirs, raw = (os.path.join(work, f) for f in ("q46_out.npy", "ort_out.f32", "in.f32"))
    subprocess.run([os.path.join(bin_dir, "q46run"), plan, "--input", samples, "--output", ours, "--top-k", "0"],
                   check=True, capture_output=True)
    x = np.load(samples).astype(np.float32)
    x.tofile(raw)
    proc = node(ort_dir, "ort_outputs.js", qdq, json.dumps(input_dims(qdq)), raw, theirs)
    if proc.returncode != 0:
        sys.exit(f"peers: ONNX Runtime failed on {qdq}: {proc.stderr.strip()}")
    a = np.load(ours)
    classifier = a.ndim == 2
    a = a.reshape(len(x), -1)
    b = np.fromfile(theirs, dtype=np.float32).reshape(len(x), -1)
    result = {"max_rel_diff": float(np.abs(a - b).max() / np.abs(a).max()),
              "top1_agree": float((a.argmax(1) == b.argmax(1)).mean()) if classifier else None, "samples": len(x)}
    if strict and result["max_rel_diff"] > 0.25:
        sys.exit(f"peers: ONNX Runtime's outputs on {qdq} differ from q46's: {result}")
    return result


def cifar_samples(path, count, work):
    """The first `count` records of a CIFAR-10 binary batch as an .npy [N, 3, 32, 32] in [0, 1]."""
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)[:count]
    out = os.path.join(work, "cifar_samples.npy")
    np.save(out, (records[:, 1:].reshape(-1, 3, 32, 32) / 255.0).astype(np.float32))
    return out


def round_trips(q):
    """The row's core round trips (ns) over all its q46 runs, before and after each: 'lo-hi', or '—' (1 thread)."""
    seen = [v for variant in q.values() for v in (variant.get("core_round_trip_ns") or [])]
    if not seen:
        return "—"
    lo, hi = round(min(seen)), round(max(seen))
    return f"{lo}" if hi - lo < 20 else f"{lo}-{hi}"


def speed_ratios(q):
    """The lowest core speed ratio of the row's q46 runs (before and after each): '0.84', or '—' (1 thread)."""
    seen = [v for variant in q.values() for v in (variant.get("core_speed_ratio") or [])]
    return f"{min(seen):.2f}" if seen else "—"


def native_isa(peak):
    """The ISA q46 runs natively on the measured CPU, from isa_peak's output: vnni where it timed vpdpbusd."""
    return "vnni" if "vpdpbusd_zmm_gmacs" in peak else "avx2"


def markdown(results, agreement, meta):
    lines = [f"# q46 beside its peers ({meta['date']})", "",
             f"CPU: {meta['cpu']}, clock {meta['peak']['clock_ghz']:.2f} GHz measured in this run; batch 1; "
             f"median latency in ms. Command: `{meta['command']}`.", "",
             "Peaks measured in this run (int8 MACs per cycle per core): " +
             ", ".join(f"{k[:-len('_macs_per_cycle')]} {v:.1f}" for k, v in meta["peak"].items()
                       if k.endswith("_macs_per_cycle")) + ".", "",
             "q46 columns are whole networks with every conv/fc layer at the named precision (like the peers), "
             "`default` keeps the first and last layers float; `conv` columns are convolutions only (q46: the sum "
             "of its conv layers in a run of the plan's nodes as written, `q46bench --fuse=false`, so without the "
             "residual Adds and Quantizes the runtime otherwise folds into them; transposed ones included, which q46 "
             "keeps float, as the oneDNN chains do: f32 deconvolutions; oneDNN runs convolutions only, each on an input of its own, so on 2 threads no "
             "data passes from one core to the other between its layers, as it does in a q46 network). Ratios: "
             "peer time / q46 4.6-bit time. "
             "`4.6 vs 4`: how much longer 4.6-bit takes than 4-bit. `3x3 MAC/cycle/core`: q46 4.6-bit's quantized 3x3 "
             "layers, per core at the measured clock, to compare with the peaks above. `core rt`: on 2-thread rows, "
             "the round trip of a cache line between q46's two threads before and after each of the row's q46 runs "
             "(q46bench), lowest-highest: under ~100 ns the two cores share a cache; where they do not (over ~250 ns; "
             "this machine's virtual cores move between the two from minute to minute), q46's 2-thread whole-network "
             "times run 20-50% slower, so a row whose range spans both mixes the two cases. `core speed`: on 2-thread "
             "rows, the lowest over the row's q46 runs of the slower thread's speed relative to the faster one's, both "
             "running the same vector additions at once (q46bench): under 1, a layer split evenly waits for the "
             "slower (q46 shares its convolutions' tiles out as the threads go; their input repacks and the other "
             "layers are split evenly); '—' on a 2-thread row: not measured. The machine is shared: single "
             "cells can be off by 10-20%, compare columns of one row" +
             (f"; each cell is its engine's fastest of {rounds} rounds measured in turn." if (rounds := max(
                 r.get("rounds", 1) for r in results)) > 1 else "."), ""]
    for isa in ("native", "avx2"):
        lines += [f"## ISA: {isa}" + (" (q46 --isa avx2, DNNL_MAX_CPU_ISA=AVX2)" if isa == "avx2" else ""), "",
                  "| model | thr | q46 4.6 | 4-bit | 8-bit | default | float | q46 4.6 conv | oneDNN int8 conv | "
                  "oneDNN f32 conv | ORT fp32 | ORT int8 | oneDNN int8 / q46 4.6 (conv) | ORT int8 / q46 4.6 | "
                  "q46 8 / q46 4.6 | 4.6 vs 4 | 3x3 MAC/cycle/core | core rt (ns) | core speed |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in results:
            if r["isa"] != isa:
                continue
            q = r["q46"]
            f = lambda v: f"{v:.3f}" if isinstance(v, (int, float)) else "—"
            ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "—"
            lines.append(
                f"| {r['model']} | {r['threads']} | {f(q['q46_4.6']['median_ms'])} | {f(q['q46_4']['median_ms'])} | "
                f"{f(q['q46_8']['median_ms'])} | {f(q['q46_default']['median_ms'])} | {f(q['q46_float']['median_ms'])} | "
                f"{f(q['q46_4.6']['conv_ms'])} | {f(r['onednn_int8_conv_ms'])} | {f(r['onednn_f32_conv_ms'])} | "
                f"{f(r.get('ort_fp32_ms'))} | {f(r.get('ort_int8_ms'))} | "
                f"{ratio(r['onednn_int8_conv_ms'], q['q46_4.6']['conv_ms'])} | "
                f"{ratio(r.get('ort_int8_ms'), q['q46_4.6']['median_ms'])} | "
                f"{ratio(q['q46_8']['median_ms'], q['q46_4.6']['median_ms'])} | "
                f"{q['q46_4.6']['median_ms'] / q['q46_4']['median_ms'] - 1:+.1%} | "
                f"{q['q46_4.6']['conv3x3_macs_per_cycle_per_core'] or '—'} | "
                f"{round_trips(q)} | {speed_ratios(q)} |")
        lines.append("")
    if agreement:
        lines += ["## ONNX Runtime on q46c --emit-onnx-qdq exports vs q46run, same samples", "",
                  "Max |ORT - q46| over the outputs, relative to the largest output, and top-1 agreement. 8-bit runs in "
                  "ORT's integer kernels; 4.6-bit runs float convolutions on fake-quantized values, so a value on a "
                  "rounding tie can land one code apart." + ("" if native_isa(meta["peak"]) == "vnni" else
                  " This CPU has no VNNI: ORT's 8-bit kernels add u8 x s8 products in pairs in saturating int16 "
                  "(vpmaddubsw; 255 * 127 * 2 > 32767), so its 8-bit outputs are not exact."), "",
                  "| model | samples | 8-bit max rel diff | 8-bit top-1 agree | 4.6-bit max rel diff | 4.6-bit top-1 agree |",
                  "|---|---|---|---|---|---|"]
        share = lambda v: "—" if v is None else f"{v:.0%}"
        for model, a in agreement.items():
            e, q = a["q46_8"], a["q46_4.6"]
            lines.append(f"| {model} | {e['samples']} | {e['max_rel_diff']:.1e} | {share(e['top1_agree'])} | "
                         f"{q['max_rel_diff']:.1e} | {share(q['top1_agree'])} |")
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build folder holding bin/q46c, q46bench, onednn_peer and isa_peak (default: build)")
    ap.add_argument("--models", default=",".join(CIFAR + EXPORTED),
                    help="comma-separated models (default: all: %(default)s)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure each row this many times, keeping each engine's fastest (default: %(default)s)")
    ap.add_argument("--ort", default="",
                    help="folder where onnxruntime-node is installed (npm); without it the ORT column is empty")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "peers"),
                    help="output path without extension: writes .json and .md (default: bench/results/peers)")
    ap.add_argument("--markdown-only", action="store_true",
                    help="measure nothing: write OUT.md again from OUT.json (after a change to the table's layout)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    if args.markdown_only:
        d = json.load(open(args.out + ".json"))
        open(args.out + ".md", "w").write(markdown(d["results"], d["ort_qdq_agreement"], d["meta"]) + "\n")
        print(f"wrote {args.out}.md from {args.out}.json", file=sys.stderr)
        return
    bin_dir = os.path.join(args.build, "bin")
    meta = {"date": datetime.date.today().isoformat(), "cpu": cpu_name(), "command": " ".join(["bench/peers.py"] + sys.argv[1:]),
            "peak": run_json([os.path.join(bin_dir, "isa_peak")])}
    native = native_isa(meta["peak"])
    results, agreement = [], {}
    with tempfile.TemporaryDirectory() as work:
        wanted = args.models.split(",")
        paths = onnx_paths(wanted, work, samples=2)
        for model in wanted:
            onnx_path = paths[model]
            if model in CIFAR:
                calib, calib_count = os.path.join(ROOT, "models", "cifar10", "calib_512.bin"), 8
            else:  # speed does not depend on the calibration: the two exported sample inputs do
                calib, calib_count = os.path.join(work, f"{model}.input.npy"), 2
            if not os.path.exists(onnx_path):
                print(f"peers: skipping {model}: {onnx_path} does not exist", file=sys.stderr)
                continue
            plans, kernels = compile_plans(bin_dir, onnx_path, calib, calib_count, work, model)
            if args.ort:
                samples = calib if calib.endswith(".npy") else cifar_samples(calib, 8, work)
                agreement[model] = {v: qdq_agreement(bin_dir, args.ort, plans[v], samples, work,
                                                     strict=native == "vnni" or v != "q46_8") for v in QDQ}
            for threads in [int(t) for t in args.threads.split(",")]:
                for isa in ("native", "avx2"):
                    results.append({"model": model, "threads": threads, "isa": isa, "rounds": args.rounds,
                                    "plans": plans, "kernels": kernels, "onnx": onnx_path})
        # Rounds over all rows, so that a slow spell of the machine falls on different rows in each.
        for _ in range(args.rounds):
            for row in results:
                measure_row(row, bin_dir, native, args.ort)
        for row in results:
            for key in ("plans", "kernels", "onnx"):
                del row[key]
            print(f"{row['model']} threads {row['threads']} {row['isa']}: q46 4.6 {row['q46']['q46_4.6']['median_ms']:.3f} ms, "
                  f"oneDNN int8 conv {row['onednn_int8_conv_ms']:.3f} ms", file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump({"meta": meta, "results": results, "ort_qdq_agreement": agreement}, open(args.out + ".json", "w"),
              indent=1)
    open(args.out + ".md", "w").write(markdown(results, agreement, meta) + "\n")
    print(f"wrote {args.out}.json and {args.out}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
