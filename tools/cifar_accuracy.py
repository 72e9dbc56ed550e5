"""Accuracy table of the shipped CIFAR-10 models through the q46 runtime.

For every models/cifar10/<name>.onnx with a training record <name>.json: q46eval top-1 on the full CIFAR-10
test set of the float plan and of a (23, 23) plan calibrated with min/max ranges on 512 training images
(seed 0), beside the article's float32 figure and the float accuracy PyTorch measured at the end of training.
Writes models/cifar10/accuracy.json and models/cifar10/ACCURACY.md.

Usage: /usr/bin/python3 tools/cifar_accuracy.py CIFAR_BIN_DIR [--build build]
(CIFAR_BIN_DIR: the folder with data_batch_1.bin and test_batch.bin, e.g. from make-cifar10-bin)
"""
import argparse
import datetime
import json
import os
import subprocess
import tempfile

ARTICLE_FLOAT = {"cnn6": 74.95, "cnn7": 77.83, "cnn8": 79.66, "cnn9": 81.4, "cnn10": 89.07}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def top1(bin_dir, plan, data):
    return json.loads(run([f"{bin_dir}/q46eval", plan, "--cifar10", data, "--json", "--quiet"]))["top1"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    bin_dir = os.path.join(args.build, "bin")
    models = os.path.join(ROOT, "models", "cifar10")
    test = os.path.join(args.data, "test_batch.bin")
    calib = os.path.join(args.data, "data_batch_1.bin")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ARTICLE_FLOAT:
            onnx_path, record_path = os.path.join(models, f"{name}.onnx"), os.path.join(models, f"{name}.json")
            if not (os.path.exists(onnx_path) and os.path.exists(record_path)):
                continue
            record = json.load(open(record_path))
            float_plan, q_plan = os.path.join(tmp, "f.q46"), os.path.join(tmp, "q.q46")
            run([f"{bin_dir}/q46c", onnx_path, "--float", "-o", float_plan])
            run([f"{bin_dir}/q46c", onnx_path, "--nx", "23", "--nw", "23", "--calib", calib, "--calib-count", "512",
                 "--seed", "0", "--range-method", "minmax", "--weight-clip", "absmax", "--calib-method", "none",
                 "--bias-correction=false", "-o", q_plan])
            row = {"model": name, "article_float32": ARTICLE_FLOAT[name], "torch_float": record["float_test_top1"],
                   "q46_float": top1(bin_dir, float_plan, test), "q46_23x23_minmax": top1(bin_dir, q_plan, test),
                   "training": record.get("training") or
                   f"{record['epochs']} epochs, {record['schedule']['name']}, lr {record['lr']:g}"}
            rows.append(row)
            print(json.dumps(row))
    json.dump(rows, open(os.path.join(models, "accuracy.json"), "w"), indent=1)
    with open(os.path.join(models, "ACCURACY.md"), "w") as f:
        f.write("# CIFAR-10 accuracy of the shipped models (generated)\n\n")
        f.write(f"Made by `/usr/bin/python3 tools/cifar_accuracy.py CIFAR_BIN_DIR` on {datetime.date.today()}: "
                "top-1 % on the full 10,000-image CIFAR-10 test set (our JPEG copy), measured through the q46 "
                "runtime with `q46eval`. (23, 23) uses the foundation's min/max calibration on 512 training "
                "images, first and last layers float: the starting point better calibration must beat.\n\n")
        f.write("| model | article float32 | PyTorch float (ours) | q46 float plan | q46 (23, 23) min/max | training |\n")
        f.write("|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['model'].upper()} | {r['article_float32']:.2f} | {r['torch_float']:.2f} | "
                    f"{r['q46_float']:.2f} | {r['q46_23x23_minmax']:.2f} | {r['training']} |\n")


if __name__ == "__main__":
    main()
