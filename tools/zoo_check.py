#!/usr/bin/python3
"""Does q46c take networks we do not ship? Exports torchvision models (random weights) and compiles each at
(23, 23) with --verify, so that the integer runtime is checked bit for bit against the compiler's simulation.

    /usr/bin/python3 tools/zoo_check.py --out DIR [--models mobilenet_v2,shufflenet_v2_x1_0@13,...] [--samples 16]

A model is NAME or NAME@OPSET (default opset 13; torch 1.13 exports Hardswish as the HardSwish op from 14).
Calibration uses --samples seeded uniform random 224x224 images (the check is of the compiler, not of accuracy:
random-weight networks have no accuracy to keep). Writes DIR/<model>.onnx, DIR/<model>.q46 and DIR/zoo.json, and
prints a markdown table: compile seconds, the plan summary's layer line, and whether --verify passed; a model that
fails shows q46c's error. Exit status 1 if any model fails. Needs Debian's /usr/bin/python3 (torch, torchvision).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODELS = ("mobilenet_v2,mobilenet_v3_small,mobilenet_v3_large@14,efficientnet_b0,shufflenet_v2_x1_0,"
                  "mnasnet0_5,squeezenet1_1,googlenet,densenet121,regnet_x_400mf")


def export(name, opset, path):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = getattr(torchvision.models, name)(weights=None).eval()
        torch.onnx.export(model, torch.rand(1, 3, 224, 224), path, opset_version=opset, input_names=["input"],
                          output_names=["output"])


def check(q46c, name, opset, out_dir, calib):
    stem = f"{name}_op{opset}"
    onnx_path, plan = os.path.join(out_dir, stem + ".onnx"), os.path.join(out_dir, stem + ".q46")
    if not os.path.exists(onnx_path):
        export(name, opset, onnx_path)
    start = time.perf_counter()
    proc = subprocess.run([q46c, onnx_path, "--nx", "23", "--nw", "23", "--calib", calib, "--verify", "4",
                           "-o", plan], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    layers = next((line for line in lines if " layers (" in line), "")
    verified = any(line.startswith("verified:") for line in lines)
    error = proc.stderr.strip().splitlines()[-1] if proc.returncode != 0 and proc.stderr.strip() else ""
    return {"model": stem, "ok": proc.returncode == 0 and verified, "seconds": round(seconds, 1), "layers": layers,
            "verified": verified, "error": error}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the exports, plans and zoo.json")
    ap.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated NAME or NAME@OPSET (default: %(default)s)")
    ap.add_argument("--samples", type=int, default=16, help="calibration images (default: %(default)s)")
    ap.add_argument("--q46c", default=os.path.join(ROOT, "build", "bin", "q46c"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    calib = os.path.join(args.out, f"calib{args.samples}.npy")
    np.save(calib, np.random.default_rng(0).random((args.samples, 3, 224, 224), dtype=np.float32))
    torch.set_num_threads(1)
    rows = []
    print("| model | compile s | plan | --verify |\n|---|---|---|---|")
    for spec in args.models.split(","):
        name, _, opset = spec.partition("@")
        r = check(args.q46c, name, int(opset or 13), args.out, calib)
        rows.append(r)
        print(f"| {r['model']} | {r['seconds']} | {r['layers'] or r['error']} | "
              f"{'bit-exact' if r['verified'] else 'FAILED'} |", flush=True)
    json.dump(rows, open(os.path.join(args.out, "zoo.json"), "w"), indent=1)
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
