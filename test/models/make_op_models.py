#!/usr/bin/python3
# Generate small single-op (or few-op) ONNX models with inputs and torch's outputs, at several opsets, to test the
# q46 ONNX importer against PyTorch op by op: conv variants, transposed conv, pooling, BN, padding, Gemm/MatMul,
# softmax, resizing, reshapes, activations, slices, splits, reductions, elementwise arithmetic, residual add and
# concat.
#
#   /usr/bin/python3 test/models/make_op_models.py --out DIR [--opsets 9,11,13,17] [--seed 0]
#
# For each case and opset writes DIR/<case>_op<opset>.onnx, .input.npy (float32, the fixed-shape input, batch
# included) and .expected.npy (float32, the eval-mode torch output), and lists the stems in DIR/cases.txt.
# A case that torch 1.13 cannot export at an opset, or would export with results that differ from torch (bilinear
# Upsample before opset 11 uses asymmetric coordinates), is skipped with a printed note. Weights and inputs are
# seeded per case name, so adding a case does not change the others. BatchNorm statistics are randomised as in
# tools/export_models.py. Needs Debian's /usr/bin/python3 (torch 1.13, onnx 1.12).

import argparse
import dataclasses
import os
import sys
import time
import warnings
import zlib
from typing import Callable, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from export_models import export_onnx, op_histogram, randomize_batchnorm, run_batched  # noqa: E402

OPSETS = (9, 11, 13, 17)
INPUT_STD = 3.0  # inputs ~ N(0, 3^2): reaches both clip bounds of ReLU6 / Hardtanh and both signs


class Lambda(nn.Module):
    """fn(x, *parts) as a module; the parts are registered submodules, so their weights are exported."""

    def __init__(self, fn, *parts):
        super().__init__()
        self.fn = fn
        self.parts = nn.ModuleList(parts)

    def forward(self, x):
        return self.fn(x, *self.parts)


class MatMulConst(nn.Module):
    """x @ W with a constant [K, M] matrix (exports as MatMul with an initializer, not Gemm)."""

    def __init__(self, k, m):
        super().__init__()
        self.w = nn.Parameter(torch.randn(k, m) / k ** 0.5)

    def forward(self, x):
        return torch.matmul(x, self.w)


@dataclasses.dataclass
class Case:
    """One test model: `make()` builds it (called after seeding), `shape` is its fixed input shape.

    min_opset: first opset whose export matches torch (lower ones are skipped, printing `why`).
    fold_bn: export with TrainingMode.EVAL (BN folded into the conv) instead of PRESERVE.
    """
    name: str
    make: Callable[[], nn.Module]
    shape: Tuple[int, ...]
    min_opset: int = 9
    why: str = ""
    fold_bn: bool = False


def conv(cin, cout, k=3, **kw):
    return nn.Conv2d(cin, cout, k, **kw)


def conv_bn_relu():
    return nn.Sequential(conv(4, 6, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU())


BILINEAR_WHY = "opset < 11 Upsample 'linear' uses asymmetric coordinates, not torch's half-pixel ones"


def all_cases():
    """The case list. Conv and pool cases use batch 3, the rest batch 2."""
    act_shape = (2, 4, 8, 8)
    return [
        # Convolutions.
        Case("conv_k3x2_s2_p1x2_d2_g2_bias", lambda: conv(8, 6, (3, 2), stride=2, padding=(1, 2), dilation=2,
                                                          groups=2), (3, 8, 11, 12)),
        Case("conv_depthwise_k3_p1", lambda: conv(8, 8, padding=1, groups=8), (3, 8, 9, 9)),
        Case("conv_nobias_k3", lambda: conv(4, 6, bias=False), (3, 4, 10, 10)),
        Case("convtranspose_k3_s2_p1_op1_g2", lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                                         output_padding=1, groups=2), (3, 4, 7, 7)),
        Case("convtranspose_k2_s2", lambda: nn.ConvTranspose2d(8, 4, 2, stride=2), (3, 8, 7, 7)),
        # Pooling.
        Case("maxpool_k3_s2_p1_d2", lambda: nn.MaxPool2d(3, stride=2, padding=1, dilation=2), (3, 4, 11, 11),
             min_opset=10, why="MaxPool dilations need opset >= 10"),
        Case("maxpool_k3_s2_ceil", lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True), (3, 4, 10, 10)),
        Case("avgpool_k3_s2_p1_include_pad", lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True),
             (3, 4, 10, 10)),
        Case("avgpool_k3_s2_p1_exclude_pad", lambda: nn.AvgPool2d(3, stride=2, padding=1,
                                                                  count_include_pad=False), (3, 4, 10, 10)),
        Case("avgpool_k3_s2_ceil", lambda: nn.AvgPool2d(3, stride=2, ceil_mode=True), (3, 4, 10, 10)),
        Case("global_avgpool", lambda: nn.AdaptiveAvgPool2d(1), (3, 8, 7, 7)),
        # BatchNorm.
        Case("batchnorm", lambda: nn.BatchNorm2d(6), (2, 6, 8, 8)),
        Case("conv_bn_relu", conv_bn_relu, (2, 4, 8, 8)),
        Case("conv_bn_relu_folded", conv_bn_relu, (2, 4, 8, 8), fold_bn=True),
        # Padding.
        Case("zeropad_1203_conv", lambda: nn.Sequential(nn.ZeroPad2d((1, 2, 0, 3)), conv(4, 6)), (2, 4, 8, 8)),
        Case("pad_const05", lambda: Lambda(lambda x: F.pad(x, (1, 2, 2, 0), value=0.5)), (2, 4, 8, 8)),
        # Fully connected.
        Case("flatten_linear", lambda: nn.Sequential(nn.Flatten(), nn.Linear(4 * 5 * 5, 10)), (2, 4, 5, 5)),
        Case("matmul_const", lambda: MatMulConst(16, 10), (2, 16)),
        # Softmax.
        Case("softmax_2d", lambda: nn.Softmax(dim=1), (2, 10)),
        Case("softmax_4d_dim1", lambda: nn.Softmax(dim=1), (2, 6, 5, 5)),
        # Resizing.
        Case("upsample_nearest_x2", lambda: nn.Upsample(scale_factor=2, mode="nearest"), (2, 4, 7, 7)),
        Case("upsample_bilinear_x2", lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
             (2, 4, 7, 7), min_opset=11, why=BILINEAR_WHY),
        Case("upsample_bilinear_x2_align", lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
             (2, 4, 7, 7), min_opset=11, why="align_corners needs Resize (opset >= 11)"),
        Case("interpolate_bilinear_7to10", lambda: Lambda(lambda x: F.interpolate(x, size=(10, 10),
                                                                                  mode="bilinear",
                                                                                  align_corners=False)),
             (2, 4, 7, 7), min_opset=11, why=BILINEAR_WHY),
        # Reshapes.
        Case("flatten", lambda: nn.Flatten(), (2, 4, 5, 5)),
        Case("view_flatten", lambda: Lambda(lambda x: x.view(x.size(0), -1)), (2, 4, 5, 5)),
        # Activations.
        Case("hardtanh", lambda: nn.Hardtanh(), act_shape),
        Case("relu6", lambda: nn.ReLU6(), act_shape),
        Case("relu", lambda: nn.ReLU(), act_shape),
        Case("tanh", lambda: nn.Tanh(), act_shape),
        Case("sigmoid", lambda: nn.Sigmoid(), act_shape),
        Case("leaky_relu", lambda: nn.LeakyReLU(0.1), act_shape),
        Case("hardsigmoid", lambda: nn.Hardsigmoid(), act_shape),
        Case("hardswish", lambda: nn.Hardswish(), act_shape),
        Case("prelu_per_channel", lambda: nn.PReLU(4, init=0.2), act_shape),
        # Slices and reductions on runtime tensors.
        Case("chunk_second_half", lambda: Lambda(lambda x: x.chunk(2, dim=1)[1]), act_shape),
        Case("strided_slice", lambda: Lambda(lambda x: x[:, 1:3, ::2, 1:]), act_shape),
        Case("split_swap", lambda: Lambda(lambda x: torch.cat(list(reversed(torch.split(x, [1, 3], dim=1))), dim=1)),
             act_shape),
        Case("mean_hw", lambda: Lambda(lambda x: x.mean(dim=(2, 3))), act_shape),
        Case("amax_c_keepdim", lambda: Lambda(lambda x: x.amax(dim=1, keepdim=True)), act_shape),
        Case("sum_c_w", lambda: Lambda(lambda x: x.sum(dim=(1, 3))), act_shape),
        # Arithmetic and graph structure.
        Case("conv_div2", lambda: Lambda(lambda x, c: c(x) / 2, conv(4, 6)), (2, 4, 8, 8)),
        Case("conv_mul3_add1", lambda: Lambda(lambda x, c: c(x) * 3 + 1, conv(4, 6)), (2, 4, 8, 8)),
        Case("residual_add", lambda: Lambda(lambda x, a, b: a(x) + b(x), conv(4, 6, padding=1),
                                            conv(4, 6, 1)), (2, 4, 8, 8)),
        Case("concat_branches", lambda: Lambda(lambda x, a, b: torch.cat([a(x), b(x)], dim=1),
                                               conv(4, 6, padding=1), conv(4, 3, 1)), (2, 4, 8, 8)),
    ]


def build_case(case, seed):
    """Seeded model (eval mode, BN randomised) and input for one case."""
    case_seed = (seed * 1_000_003 + zlib.crc32(case.name.encode())) % 2 ** 31
    torch.manual_seed(case_seed)
    model = case.make().eval()
    inputs = (np.random.default_rng(case_seed).standard_normal(case.shape) * INPUT_STD).astype(np.float32)
    randomize_batchnorm(model, inputs)
    return model, inputs


def export_case(case, model, inputs, expected, opset, out_dir):
    """Write <case>_op<opset>.{onnx,input.npy,expected.npy}; return (stem, written, note for the printout)."""
    stem = f"{case.name}_op{opset}"
    path = os.path.join(out_dir, stem + ".onnx")
    if opset < case.min_opset:
        return stem, False, f"skipped: {case.why}"
    with warnings.catch_warnings():
        # Printed for every Upsample at opset 9. 'nearest' does match torch there (checked against an ONNX-spec
        # evaluation); 'linear' does not, and those cases have min_opset 11.
        warnings.filterwarnings("ignore", message="You are trying to export the model with onnx:Upsample")
        try:
            proto = export_onnx(model, path, case.shape, opset, case.fold_bn)
        except Exception as err:  # torch raises several types for unsupported ops/attributes
            if os.path.exists(path):
                os.remove(path)
            return stem, False, f"skipped: torch cannot export it ({type(err).__name__}: {str(err).splitlines()[0]})"
    np.save(os.path.join(out_dir, stem + ".input.npy"), inputs)
    np.save(os.path.join(out_dir, stem + ".expected.npy"), expected)
    return stem, True, f"{list(case.shape)} -> {list(expected.shape)}  {op_histogram(proto)}"


def main():
    parser = argparse.ArgumentParser(description="Export single-op torch models to ONNX with reference outputs.")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--opsets", default=",".join(map(str, OPSETS)), help="comma-separated ONNX opsets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    opsets = [int(v) for v in args.opsets.split(",")]

    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    stems, skipped = [], 0
    for case in all_cases():
        model, inputs = build_case(case, args.seed)
        expected = run_batched(model, inputs, len(inputs))
        for opset in opsets:
            stem, written, note = export_case(case, model, inputs, expected, opset, args.out)
            if written:
                stems.append(stem)
            else:
                skipped += 1
            print(f"{stem:40s} {note}", flush=True)
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("".join(stem + "\n" for stem in stems))
    print(f"{len(stems)} models written, {skipped} skipped, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
