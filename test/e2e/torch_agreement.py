"""The q46 runtime's float plan predicts exactly what PyTorch predicts.

Loads a shipped CIFAR-10 model's weights from its ONNX file into the PyTorch definition (tools/q46_models.py;
the exporter keeps state_dict names as initializer names), runs both on the first N images of a CIFAR-10
binary file, and requires identical top-1 predictions and logits within float tolerance.
Usage: torch_agreement.py BIN_DIR MODEL.onnx MODEL_NAME CIFAR.bin N
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import q46_models  # noqa: E402


def load_cifar(path, n):
    raw = np.fromfile(path, dtype=np.uint8)[: n * 3073].reshape(n, 3073)
    return raw[:, 1:].reshape(n, 3, 32, 32).astype(np.float32) / 255.0


def torch_logits(onnx_path, name, images):
    model = q46_models.build(name)
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(onnx_path).graph.initializer}
    state = model.state_dict()
    missing = [k for k in state if k not in weights and not k.endswith("num_batches_tracked")]
    assert not missing, f"ONNX lacks {missing}"
    model.load_state_dict({k: weights.get(k, v) for k, v in state.items()})
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(images)).numpy()


def main():
    bin_dir, onnx_path, name, cifar, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    torch.set_num_threads(1)
    images = load_cifar(cifar, n)
    want = torch_logits(onnx_path, name, images)
    with tempfile.TemporaryDirectory() as tmp:
        plan, got_path = os.path.join(tmp, "m.q46"), os.path.join(tmp, "y.npy")
        subprocess.run([f"{bin_dir}/q46c", onnx_path, "--float", "-o", plan], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([f"{bin_dir}/q46run", plan, "--input", cifar, "--count", str(n), "--top-k", "0",
                        "--output", got_path], check=True, stdout=subprocess.DEVNULL)
        got = np.load(got_path)
    same = int((got.argmax(1) == want.argmax(1)).sum())
    err = float(np.abs(got - want).max())
    print(f"{name}: {same}/{n} identical top-1 predictions, max |logit difference| {err:.2e}")
    ok = same == n and err <= 1e-4 * max(1.0, float(np.abs(want).max()))
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
