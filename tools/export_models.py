#!/usr/bin/python3
# Export the q46 reference networks (tools/q46_models.py) to ONNX with sample inputs and PyTorch's outputs,
# so the q46 importer/compiler/runtime can be checked against torch on real architectures.
#
#   /usr/bin/python3 tools/export_models.py --out DIR [--models cnn6,cnn10,resnet18,...|all] [--seed 0]
#       [--opset 13] [--batch 1] [--samples 2] [--fold-bn]
#
# Writes, per model: DIR/<name>.onnx (fixed batch = --batch, input 'input', output 'output'),
# DIR/<name>.input.npy (float32 [samples, 3, H, W], uniform [0,1]) and DIR/<name>.expected.npy (float32, the
# eval-mode torch output, computed --batch images at a time). Weights are random (seeded): BatchNorm statistics and
# affine parameters are randomised so BN is not the identity, scaled on a few random images so activations stay of
# order 1 through the network (see randomize_batchnorm), and the final Linear of a classifier is rescaled so its
# logits have std ~1.
# BatchNormalization nodes are kept (training=PRESERVE) unless --fold-bn.
# Needs Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14, onnx 1.12). Output is deterministic per seed.

import argparse
import collections
import os
import sys
import time
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import q46_models  # noqa: E402


CALIBRATION_IMAGES = 4

# torch 1.13 export warnings that say nothing about these models:
HARMLESS_EXPORT_WARNINGS = (
    # Constant folding may mutate parameters in training-amenable mode: the models are in eval mode, so
    # PRESERVE only keeps the BatchNormalization nodes and folding touches nothing trainable.
    "It is recommended that constant folding be turned off",
    # Pad's pads computation (opset >= 11) keeps a Slice with step -1 unfolded: a larger graph, same result.
    "Constant folding - Only steps=1 can be constant folded",
    "The shape inference of prim::Constant type is missing",
)


def export_onnx(model, path, input_shape, opset, fold_bn=False):
    """Export an eval-mode `model` for one fixed-shape input; check the file; return the loaded ONNX model.

    fold_bn=False keeps BatchNormalization nodes (TrainingMode.PRESERVE); True lets torch fold BN into the
    preceding conv (TrainingMode.EVAL).
    """
    model.eval()
    mode = torch.onnx.TrainingMode.EVAL if fold_bn else torch.onnx.TrainingMode.PRESERVE
    example = torch.zeros(input_shape, dtype=torch.float32)
    with torch.no_grad(), warnings.catch_warnings():
        for message in HARMLESS_EXPORT_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        torch.onnx.export(model, example, path, opset_version=opset, training=mode,
                          do_constant_folding=True, input_names=["input"], output_names=["output"])
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    return proto


def run_batched(model, inputs, batch):
    """Eval-mode outputs of `model` on `inputs` (a numpy array whose length is a multiple of batch)."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            outputs.append(model(torch.from_numpy(inputs[start:start + batch])).numpy())
    return np.concatenate(outputs).astype(np.float32)


def op_histogram(proto):
    """'Conv:20 Relu:19 ...' for the nodes of an ONNX model, most frequent first."""
    counts = collections.Counter(node.op_type for node in proto.graph.node)
    return " ".join(f"{op}:{n}" for op, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def randomize_batchnorm(model, images):
    """Give every BatchNorm2d random but data-scaled statistics and random affine parameters.

    Plain random statistics (mean ~ N(0, 0.1), var ~ U(0.5, 1.5)) are not enough at random init: each conv
    shrinks its input (torch's default init has gain ~1/sqrt(3)), so the deep layers see activations of ~1e-2
    and the outputs barely depend on the input. Instead, during one eval-mode pass over `images`, each BN (in
    execution order, so it sees the already-randomised layers before it) gets
        running_mean = mean + 0.1 * std * N(0, 1),   running_var = var * U(0.5, 1.5),
        weight ~ U(0.5, 1.5),                        bias ~ N(0, 0.1)
    with mean/var the per-channel statistics of its input. Every BN is then a non-identity affine map and every
    layer's output has a spread of order 1, so ReLU6 clipping and quantization ranges are exercised.
    Draws come from torch's global RNG in execution order, so the result is deterministic per seed.
    """
    def calibrate(bn, args):
        x = args[0]
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        var = torch.maximum(var, 1e-4 * var.mean() + 1e-12)
        bn.running_mean.copy_(mean + 0.1 * var.sqrt() * torch.randn_like(mean))
        bn.running_var.copy_(var * torch.empty_like(var).uniform_(0.5, 1.5))
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0.0, 0.1)

    hooks = [m.register_forward_pre_hook(calibrate) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    try:
        run_batched(model, images, len(images))
    finally:
        for hook in hooks:
            hook.remove()


def scale_classifier(model, images):
    """Scale the final Linear of a classifier (fc / fc2) so its logits have std ~1 on `images`.

    Only rescales weights and bias: the architecture is unchanged. Models without one (the U-Net, whose
    sigmoid output is already in [0, 1]) are left alone.
    """
    fc = getattr(model, "fc", None) or getattr(model, "fc2", None)
    if not isinstance(fc, nn.Linear):
        return
    std = float(run_batched(model, images, len(images)).std())
    if std > 0:
        with torch.no_grad():
            fc.weight.div_(std)
            fc.bias.div_(std)


def export_model(name, out_dir, seed, opset, batch, samples, fold_bn):
    """Build, randomise, export and write the sample files for one model; return its summary line.

    'spread' in the summary is the mean over output elements of their std across samples: how much the output
    depends on the input (the std alone can come from per-class offsets that no input changes).
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = q46_models.build(name).eval()
    shape = q46_models.input_shape(name)
    # Weight-setting images, independent of the sample inputs written below.
    calibration = np.random.default_rng(seed + 1).random((CALIBRATION_IMAGES,) + shape, dtype=np.float32)
    randomize_batchnorm(model, calibration)
    scale_classifier(model, calibration)

    onnx_path = os.path.join(out_dir, f"{name}.onnx")
    proto = export_onnx(model, onnx_path, (batch,) + shape, opset, fold_bn)

    count = -(-samples // batch) * batch
    inputs = np.random.default_rng(seed).random((count,) + shape, dtype=np.float32)
    expected = run_batched(model, inputs, batch)
    if not np.all(np.isfinite(expected)):
        raise RuntimeError(f"{name}: non-finite expected outputs")
    # Spread across samples: how much the output depends on the input at all (0 means a constant network).
    input_spread = float(expected.std(axis=0).mean()) if count > 1 else float("nan")
    if count > 1 and input_spread < 1e-3 * max(float(expected.std()), 1e-12):
        raise RuntimeError(f"{name}: outputs do not depend on the input (spread {input_spread:g})")
    np.save(os.path.join(out_dir, f"{name}.input.npy"), inputs)
    np.save(os.path.join(out_dir, f"{name}.expected.npy"), expected)

    seconds = time.perf_counter() - start
    size_mb = os.path.getsize(onnx_path) / 1e6
    return (f"{name:9s} params {q46_models.count_params(model):>10,d}  onnx {size_mb:7.2f} MB  {seconds:5.1f} s  "
            f"out {list(expected.shape)} std {expected.std():.3g} spread {input_spread:.3g}  "
            f"ops {op_histogram(proto)}")


def main():
    parser = argparse.ArgumentParser(
        description="Export q46 reference networks to ONNX with sample inputs and torch outputs.")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--models", default="all",
                        help=f"comma-separated subset of {','.join(q46_models.MODEL_NAMES)}, or 'all'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--batch", type=int, default=1, help="fixed batch dimension of the ONNX input")
    parser.add_argument("--samples", type=int, default=2, help="sample images (rounded up to a multiple of batch)")
    parser.add_argument("--fold-bn", action="store_true", help="let torch fold BatchNorm into the convs")
    args = parser.parse_args()

    names = q46_models.MODEL_NAMES if args.models == "all" else args.models.split(",")
    unknown = [n for n in names if n not in q46_models.MODEL_NAMES]
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)}")
    if args.batch < 1 or args.samples < 1:
        parser.error("--batch and --samples must be positive")

    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        print(export_model(name, args.out, args.seed, args.opset, args.batch, args.samples, args.fold_bn),
              flush=True)


if __name__ == "__main__":
    main()
