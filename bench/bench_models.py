"""The reference networks the benchmark scripts measure: the CIFAR CNNs committed in models/cifar10, and ResNet-18,
ResNet-34 at 224x224 and the U-Net at 256x256 exported with seeded weights by tools/export_models.py (speed does not
depend on the weights' values). Shared by bench/peers.py and bench/tile_choice.py; measures nothing itself."""

import os
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CIFAR = ["cnn6", "cnn7", "cnn8", "cnn9", "cnn10"]
EXPORTED = ["resnet18", "resnet34", "unet"]


def onnx_paths(wanted, work, samples):
    """{model: ONNX path} for the wanted models; the exported ones are written into `work`, each with `samples`
    sample inputs beside it (work/<model>.input.npy)."""
    exported = [m for m in wanted if m in EXPORTED]
    if exported:
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "export_models.py"), "--out", work,
                        "--models", ",".join(exported), "--samples", str(samples)], check=True, capture_output=True)
    return {m: os.path.join(ROOT, "models", "cifar10", f"{m}.onnx") if m in CIFAR else os.path.join(work, f"{m}.onnx")
            for m in wanted}
