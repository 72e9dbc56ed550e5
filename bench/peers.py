"""q46 beside its peers, in one run: whole-network and convolution-only latency, batch 1, on the CIFAR-10 CNNs
(models/cifar10), ResNet-18 / ResNet-34 at 224x224 and the U-Net at 256x256 (exported with seeded weights by
tools/export_models.py: speed does not depend on the weights' values).

For every model, thread count and ISA (this CPU's best, and AVX2 as on a CPU without AVX-512 / VNNI):
  q46:     q46bench --json on plans with every conv/fc layer at 4.6-bit (23, 23), 4-bit, 8-bit (precision maps
           that include the first and last layers, like the peers), q46's default (23, 23) with the first and last
           layers float, and float;
  oneDNN:  bench/onednn_peer.cc: the same convolutions as oneDNN int8 (from the 8-bit plan) and f32 primitives,
           convolutions only, DNNL_MAX_CPU_ISA=AVX2 for the AVX2 rows;
  ONNX Runtime (fp32 model), when `npm install onnxruntime-node --ignore-scripts` has been run in --ort DIR.
Not yet: ONNX Runtime int8 (needs q46c --emit-onnx-qdq). The clock and the per-instruction peaks come from
build/bin/isa_peak in the same run. Ratios are computed within this run only.

Writes OUT.json (every measurement) and OUT.md (the tables).
Usage: /usr/bin/python3 bench/peers.py [--build build] [--models cnn6,...,unet] [--threads 1,2] [--out bench/results/peers]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import onnx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from script_common import cpu_name  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CIFAR = ["cnn6", "cnn7", "cnn8", "cnn9", "cnn10"]
EXPORTED = ["resnet18", "resnet34", "unet"]
PAIRS = {"q46_4.6": (23, 23), "q46_4": (16, 16), "q46_8": (256, 256)}


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
        proc = subprocess.run([os.path.join(bin_dir, "q46c"), onnx_path, "-o", path] + flags, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"peers: q46c {variant} on {onnx_path} failed: {proc.stderr.strip()}")
        out[variant] = path
    return out, {n.name: list(next((a.ints for a in n.attribute if a.name == "kernel_shape"), [])) for n in graph.node}


def q46_row(bin_dir, plan, isa, threads, kernels):
    d = run_json([os.path.join(bin_dir, "q46bench"), plan, "--json", "--isa", isa, "--threads", str(threads),
                  "--repeats", "20", "--min-time", "0.5"])
    convs = [l for l in d["layers"] if l["op"] in ("quant_conv", "float_conv")]
    three = [l for l in convs if kernels.get(l["name"]) == [3, 3] and l["op"] == "quant_conv"]
    return {"median_ms": d["median_ms"], "p10_ms": d["p10_ms"], "p90_ms": d["p90_ms"], "clock_ghz": d["clock_ghz"],
            "conv_ms": round(sum(l["median_ms"] for l in convs), 6), "macs": d["macs"],
            "conv3x3_macs_per_cycle_per_core": round(sum(l["macs"] for l in three) / threads /
                                                     (sum(l["median_ms"] for l in three) * 1e-3 * d["clock_ghz"] * 1e9), 2)
            if three else None}


def ort_fp32(ort_dir, onnx_path, threads):
    script = os.path.join(ROOT, "bench", "ort_latency.js")
    dims = [d.dim_value for d in onnx.load(onnx_path).graph.input[0].type.tensor_type.shape.dim]
    proc = subprocess.run(["node", script, onnx_path, str(threads), json.dumps(dims)], capture_output=True, text=True,
                          env=dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules")))
    return json.loads(proc.stdout)["median_ms"] if proc.returncode == 0 else None


def markdown(results, meta):
    lines = [f"# q46 beside its peers ({meta['date']})", "",
             f"CPU: {meta['cpu']}, clock {meta['peak']['clock_ghz']:.2f} GHz measured in this run; batch 1; "
             f"median latency in ms. Command: `{meta['command']}`.", "",
             "Peaks measured in this run (int8 MACs per cycle per core): " +
             ", ".join(f"{k[:-len('_macs_per_cycle')]} {v:.1f}" for k, v in meta["peak"].items()
                       if k.endswith("_macs_per_cycle")) + ".", "",
             "q46 columns are whole networks with every conv/fc layer at the named precision (like the peers), "
             "`default` keeps the first and last layers float; `conv` columns are convolutions only (q46: the sum "
             "of its conv layers; oneDNN runs convolutions only). Ratios: peer time / q46 4.6-bit time. "
             "`4.6 vs 4`: how much longer 4.6-bit takes than 4-bit. `3x3 MAC/cycle/core`: q46 4.6-bit's quantized 3x3 "
             "layers, per core at the measured clock, to compare with the peaks above. The machine is shared: "
             "single cells can be off by 10-20%, compare columns of one row.", ""]
    for isa in ("native", "avx2"):
        lines += [f"## ISA: {isa}" + (" (q46 --isa avx2, DNNL_MAX_CPU_ISA=AVX2)" if isa == "avx2" else ""), "",
                  "| model | thr | q46 4.6 | 4-bit | 8-bit | default | float | q46 4.6 conv | oneDNN int8 conv | "
                  "oneDNN f32 conv | ORT fp32 | oneDNN int8 / q46 4.6 (conv) | q46 8 / q46 4.6 | 4.6 vs 4 | "
                  "3x3 MAC/cycle/core |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
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
                f"{f(r.get('ort_fp32_ms'))} | {ratio(r['onednn_int8_conv_ms'], q['q46_4.6']['conv_ms'])} | "
                f"{ratio(q['q46_8']['median_ms'], q['q46_4.6']['median_ms'])} | "
                f"{q['q46_4.6']['median_ms'] / q['q46_4']['median_ms'] - 1:+.1%} | "
                f"{q['q46_4.6']['conv3x3_macs_per_cycle_per_core'] or '—'} |")
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build folder holding bin/q46c, q46bench, onednn_peer and isa_peak (default: build)")
    ap.add_argument("--models", default=",".join(CIFAR + EXPORTED),
                    help="comma-separated models (default: all: %(default)s)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default: %(default)s)")
    ap.add_argument("--ort", default="",
                    help="folder where onnxruntime-node is installed (npm); without it the ORT column is empty")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "peers"),
                    help="output path without extension: writes .json and .md (default: bench/results/peers)")
    args = ap.parse_args()
    bin_dir = os.path.join(args.build, "bin")
    meta = {"date": datetime.date.today().isoformat(), "cpu": cpu_name(), "command": " ".join(["bench/peers.py"] + sys.argv[1:]),
            "peak": run_json([os.path.join(bin_dir, "isa_peak")])}
    native = "vnni" if "vpdpbusd_zmm_gmacs" in meta["peak"] else "avx2"
    results = []
    with tempfile.TemporaryDirectory() as work:
        wanted = args.models.split(",")
        exported = [m for m in wanted if m in EXPORTED]
        if exported:
            subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "export_models.py"), "--out", work,
                            "--models", ",".join(exported), "--samples", "2"], check=True, capture_output=True)
        for model in wanted:
            if model in CIFAR:
                onnx_path = os.path.join(ROOT, "models", "cifar10", f"{model}.onnx")
                calib, calib_count = os.path.join(ROOT, "models", "cifar10", "calib_512.bin"), 8
            else:  # speed does not depend on the calibration: the two exported sample inputs do
                onnx_path, calib = os.path.join(work, f"{model}.onnx"), os.path.join(work, f"{model}.input.npy")
                calib_count = 2
            if not os.path.exists(onnx_path):
                print(f"peers: skipping {model}: {onnx_path} does not exist", file=sys.stderr)
                continue
            plans, kernels = compile_plans(bin_dir, onnx_path, calib, calib_count, work, model)
            for threads in [int(t) for t in args.threads.split(",")]:
                for isa in ("native", "avx2"):
                    env = {"DNNL_MAX_CPU_ISA": "AVX2"} if isa == "avx2" else {}
                    peer = os.path.join(bin_dir, "onednn_peer")
                    row = {"model": model, "threads": threads, "isa": isa,
                           "q46": {v: q46_row(bin_dir, p, native if isa == "native" else "avx2", threads, kernels)
                                   for v, p in plans.items()},
                           "onednn_int8_conv_ms": run_json([peer, plans["q46_8"], "--threads", str(threads)], env)["median_ms"],
                           "onednn_f32_conv_ms": run_json([peer, plans["q46_float"], "--threads", str(threads)], env)["median_ms"]}
                    if args.ort and isa == "native":
                        row["ort_fp32_ms"] = ort_fp32(args.ort, onnx_path, threads)
                    results.append(row)
                    print(f"{model} threads {threads} {isa}: q46 4.6 {row['q46']['q46_4.6']['median_ms']:.3f} ms, "
                          f"oneDNN int8 conv {row['onednn_int8_conv_ms']:.3f} ms", file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump({"meta": meta, "results": results}, open(args.out + ".json", "w"), indent=1)
    open(args.out + ".md", "w").write(markdown(results, meta) + "\n")
    print(f"wrote {args.out}.json and {args.out}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
