#!/usr/bin/python3
"""How well PackedConv::Create picks a layer's layout on this CPU: every convolution of the reference networks
through qconv_bench, each tile form of the 4.6-bit microkernel timed beside the one Create picks (`auto`).

Per distinct layer shape it reports the form Create picks, the fastest form and the time lost; per network the sum
over its convolutions (each shape times how often it occurs) of the picked and of the fastest forms. Create's cost
model (runtime/kernels/qconv/qconv.cc) is fitted by hand: this is the command that shows where it errs.

Usage: /usr/bin/python3 bench/tile_choice.py [--build build] [--models cnn6,...,unet]
           [--kernel qconv_u8s8_maddubs_i16_avx2] [--repetitions 3] [--out bench/results/tile-choice]
Writes OUT.json (every timing) and OUT.md (the tables). Convolutions qconv_bench cannot express (groups,
dilation, non-square kernels, strides or uneven padding, auto_pad) are listed as skipped. Measures only; asserts
nothing.
"""

import argparse
import collections
import datetime
import json
import os
import subprocess
import sys
import tempfile

import onnx
from onnx import shape_inference

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from script_common import cpu_name  # noqa: E402
from bench_models import CIFAR, EXPORTED, ROOT, onnx_paths  # noqa: E402
# The 4.6-bit microkernel on AVX2 (Microkernel::name; `Q46_VERBOSE=dispatch` names the one a CPU runs).
DEFAULT_KERNEL = "qconv_u8s8_maddubs_i16_avx2"


def conv_shapes(onnx_path):
    """(shape key, or None with the reason it was skipped) for each Conv node, in graph order."""
    model = shape_inference.infer_shapes(onnx.load(onnx_path))
    dims = {}
    for v in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        dims[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        x, w = dims.get(node.input[0]), weights.get(node.input[1])
        if not x or len(x) != 4 or w is None:
            yield node.name, None, "shape unknown"
            continue
        k = list(attrs.get("kernel_shape", w[2:]))
        strides = list(attrs.get("strides", [1, 1]))
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        if (auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad) != "NOTSET":
            yield node.name, None, "auto_pad"
        elif attrs.get("group", 1) != 1 or set(attrs.get("dilations", [1, 1])) != {1}:
            yield node.name, None, "groups or dilation"
        elif len(set(k)) != 1 or len(set(strides)) != 1 or len(set(pads)) != 1:
            yield node.name, None, "non-square kernel, stride or padding"
        else:
            yield node.name, (x[1], x[2], x[3], w[0], k[0], strides[0], pads[0]), None


def kernel_parts(kernel):
    """A microkernel's name split around where its tile forms put tile and layout: (method, ISA suffix)."""
    method, isa = kernel.rsplit("_", 1)
    return method, "_" + isa


def bench(bin_dir, shapes, repetitions, kernel):
    """{shape: {form: (seconds, estimated work), 'auto': (seconds, name)}}: the fastest repetition of each."""
    args = [os.path.join(bin_dir, "qconv_bench"), "--benchmark_format=json", "--benchmark_min_time=0.1",
            f"--benchmark_repetitions={repetitions}", "--benchmark_filter={}.*{}$".format(*kernel_parts(kernel))]
    names = {}
    for i, s in enumerate(shapes):
        names[f"s{i}"] = s
        args.append(f"--shape=s{i}:" + ",".join(str(v) for v in s))
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"tile_choice: qconv_bench failed: {proc.stderr.strip()}")
    results = collections.defaultdict(dict)
    for b in json.loads(proc.stdout)["benchmarks"]:
        if b.get("run_type") != "iteration" or "error_occurred" in b:
            continue
        shape_name, form = b["run_name"].split("/", 1)
        if form.startswith("repack"):  # the input transforms on the kernel's vectors, timed alone
            continue
        seconds = b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3}[b["time_unit"]]
        entry = results[names[shape_name]]
        if form.startswith("auto/"):
            if form == "auto/" + kernel:
                best = entry.get("auto", (float("inf"), ""))
                entry["auto"] = min(best, (seconds, b.get("label", "")))
        else:
            entry[form] = min(entry.get(form, (float("inf"), 0)), (seconds, b.get("estimated_work", 0)))
    return results


def markdown(d):
    out = [f"# Layout choice ({d['meta']['date']}, {d['meta']['cpu']})", "",
           f"`{d['meta']['command']}`: per convolution shape (C,H,W,OC,K,stride,pad), the form "
           f"PackedConv::Create picks for `{d['meta']['kernel']}` and the fastest form, both timed by qconv_bench "
           f"(fastest of {d['meta']['repetitions']} repetitions, one thread; each time includes the form's input "
           "repack).", "", "| network | convs | picked ms | fastest ms | lost |", "|---|---:|---:|---:|---:|"]
    for net, r in d["networks"].items():
        out.append(f"| {net} | {r['convs']} | {r['picked_ms']:.3f} | {r['fastest_ms']:.3f} | "
                   f"{100 * (r['picked_ms'] / r['fastest_ms'] - 1):.1f}% |")
    out += ["", "| shape | in | picked | picked us | fastest | fastest us | lost |", "|---|---|---|---:|---|---:|---:|"]
    for row in d["shapes"]:
        out.append(f"| {row['shape']} | {', '.join(row['networks'])} | {row['picked']} | {1e6 * row['picked_s']:.1f} | "
                   f"{row['fastest']} | {1e6 * row['fastest_s']:.1f} | {100 * (row['picked_s'] / row['fastest_s'] - 1):.0f}% |")
    out += ["", "Measured time per unit of Create's estimate, per form over the shapes (a perfect estimate would make "
            "them all equal):", "", "| form | shapes | ns per 1000 units: min | median | max |", "|---|---:|---:|---:|---:|"]
    per_form = collections.defaultdict(list)
    for row in d["shapes"]:
        for form, v in row["forms"].items():
            if v["estimated_work"] > 0:
                per_form[short(form)].append(1e12 * v["s"] / v["estimated_work"])
    for form, r in sorted(per_form.items()):
        r.sort()
        out.append(f"| {form} | {len(r)} | {r[0]:.1f} | {r[len(r) // 2]:.1f} | {r[-1]:.1f} |")
    skipped = [f"{net}/{name} ({why})" for net, name, why in d["skipped"]]
    if skipped:
        out += ["", "Skipped: " + "; ".join(skipped) + "."]
    return "\n".join(out)


def short(form):
    """A tile form's name without its kernel's method and ISA: '16x6_winograd2x3'."""
    folded = "kxfolded/" if form.startswith("kxfolded/") else ""
    return folded + "_".join(form.split("/")[-1].split("_")[4:-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default=",".join(CIFAR + EXPORTED))
    ap.add_argument("--kernel", default=DEFAULT_KERNEL, help="the microkernel whose forms are timed (default: %(default)s)")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "tile-choice"))
    args = ap.parse_args()
    bin_dir = os.path.join(args.build, "bin")
    meta = {"date": datetime.date.today().isoformat(), "cpu": cpu_name(), "repetitions": args.repetitions,
            "command": " ".join(["bench/tile_choice.py"] + sys.argv[1:]), "kernel": args.kernel}
    counts, skipped = collections.defaultdict(collections.Counter), []
    with tempfile.TemporaryDirectory() as work:
        wanted = args.models.split(",")
        for model, path in onnx_paths(wanted, work, samples=1).items():
            if not os.path.exists(path):
                sys.exit(f"tile_choice: no model {model} ({path})")
            for name, shape, why in conv_shapes(path):
                if shape is None:
                    skipped.append((model, name, why))
                else:
                    counts[model][shape] += 1
    shapes = sorted({s for c in counts.values() for s in c})
    print(f"tile_choice: timing {len(shapes)} convolution shapes", file=sys.stderr)
    timed = bench(bin_dir, shapes, args.repetitions, args.kernel)
    rows, networks = [], {}
    for s in shapes:
        t = timed[s]
        if "auto" not in t:
            continue
        auto_s, picked = t["auto"]
        # The picked form, also timed on its own: the same work, so the faster of its timings stands.
        picked = "kxfolded/" + picked.replace("_kxfolded", "_quadplanar") if "_kxfolded" in picked else picked
        if picked not in t:
            continue
        forms = {f: {"s": v[0], "estimated_work": v[1]} for f, v in t.items() if f != "auto"}
        forms[picked]["s"] = min(forms[picked]["s"], auto_s)
        fastest = min(forms, key=lambda f: forms[f]["s"])
        rows.append({"shape": ",".join(map(str, s)), "networks": [m for m in counts if s in counts[m]],
                     "picked": short(picked), "picked_s": forms[picked]["s"], "fastest": short(fastest),
                     "fastest_s": forms[fastest]["s"], "forms": forms})
    by_shape = {r["shape"]: r for r in rows}
    for model, c in counts.items():
        picked = sum(n * by_shape[",".join(map(str, s))]["picked_s"] for s, n in c.items() if ",".join(map(str, s)) in by_shape)
        fastest = sum(n * by_shape[",".join(map(str, s))]["fastest_s"] for s, n in c.items() if ",".join(map(str, s)) in by_shape)
        if fastest > 0:  # else none of its convolutions could be timed
            networks[model] = {"convs": sum(c.values()), "picked_ms": 1e3 * picked, "fastest_ms": 1e3 * fastest}
    d = {"meta": meta, "networks": networks, "shapes": rows, "skipped": skipped}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    json.dump(d, open(args.out + ".json", "w"), indent=1)
    open(args.out + ".md", "w").write(markdown(d) + "\n")
    print(markdown(d))


if __name__ == "__main__":
    main()
