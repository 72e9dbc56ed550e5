"""Compile time of q46c with its default calibration, on the shipped CNN10 and on ResNet-18 (224x224).

CNN10 calibrates on the 512 shipped CIFAR-10 training images (models/cifar10/calib_512.bin). ResNet-18 is
exported by tools/export_models.py with its seeded, initialised weights (no ImageNet weights exist offline) and
calibrates on the same 512 images scaled up to 224x224 (nearest), so activations carry real image statistics.
Each model is also compiled with --calib-method none --bias-correction=false (nearest rounding), in the same run,
so the cost of the search is visible as a difference. Writes bench/results/compile_time.json.

Usage: /usr/bin/python3 bench/compile_time.py [--build build] [--models cnn10,resnet18] [-- extra q46c flags]
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from script_common import cpu_name, split_passthrough  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def cifar_images(path, size):
    """The CIFAR-10 binary records in `path` as float32 [N, 3, size, size] in [0, 1] (nearest upscaling)."""
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)[:, 1:].reshape(-1, 3, 32, 32)
    images = raw.astype(np.float32) / 255.0
    if size != 32:
        index = (np.arange(size) * 32) // size
        images = images[:, :, index][:, :, :, index]
    return np.ascontiguousarray(images)


def timed_compile(q46c, onnx, calib, extra, out):
    started = time.time()
    proc = subprocess.run([q46c, onnx, "--calib", calib, "-o", out] + extra, capture_output=True, text=True)
    seconds = time.time() - started
    if proc.returncode != 0:
        sys.exit(f"compile_time: q46c failed on {onnx}: {proc.stderr.strip()}")
    summary = re.search(r"reconstruct\s+(.*)\(", proc.stdout)
    return round(seconds, 2), summary.group(1).strip() if summary else ""


def main():
    argv, extra = split_passthrough(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default="cnn10,resnet18")
    args = ap.parse_args(argv)
    q46c = os.path.join(args.build, "bin", "q46c")
    shipped = os.path.join(ROOT, "models", "cifar10", "calib_512.bin")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            if model.startswith("cnn"):
                onnx, calib = os.path.join(ROOT, "models", "cifar10", f"{model}.onnx"), shipped
            else:
                subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "export_models.py"), "--out", tmp,
                                "--models", model, "--samples", "1"], check=True, capture_output=True)
                onnx, calib = os.path.join(tmp, f"{model}.onnx"), os.path.join(tmp, f"{model}.calib.npy")
                np.save(calib, cifar_images(shipped, 224))
            default_s, summary = timed_compile(q46c, onnx, calib, extra, os.path.join(tmp, "a.q46"))
            nearest_s, _ = timed_compile(q46c, onnx, calib, ["--calib-method", "none", "--bias-correction=false"],
                                         os.path.join(tmp, "b.q46"))
            row = {"model": model, "calib_images": 512, "default_seconds": default_s,
                   "nearest_rounding_seconds": nearest_s, "reconstruct": summary, "q46c_flags": extra}
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"date": str(datetime.datetime.now().isoformat(timespec="seconds")), "cpu": cpu_name(),
              "cores": os.cpu_count(), "command": "/usr/bin/python3 bench/compile_time.py " + " ".join(sys.argv[1:]),
              "rows": rows}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    json.dump(result, open(os.path.join(ROOT, "bench", "results", "compile_time.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
