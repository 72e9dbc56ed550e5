"""How much would fine-tuning the whole quantized network add to what q46c's layer-wise calibration reached?

A research probe, not part of the compiler: it loads a plan's ONNX QDQ export (`q46c --emit-onnx-qdq`) into
PyTorch as a fake-quantized network (the export's integer weights become float weights re-quantized on every
forward pass with a straight-through estimator; activation scales, zero points and clamps stay as exported, or
with --act-lr are learned too, LSQ-style: each activation's scale trainable, its clamp fixed in codes), then
trains them with Adam, starting from q46c's codes:
  --loss mse / kl: label-free distillation towards the float model's logits on --count training images;
  --loss ce: labelled training on all 50,000 training images (the article's incremental fine-tuning).
It prints the float model's, the start's and each epoch's top-1 on the full CIFAR-10 test set, evaluated on
the fake-quantized network (equal to the integer runtime up to float rounding), and with --json writes them.

Usage: /usr/bin/python3 tools/finetune_probe.py FLOAT.onnx QDQ.onnx CIFAR_BIN_DIR [--loss mse|kl|ce]
       [--count 512] [--epochs 20] [--batch 64] [--lr 3e-2] [--act-lr 0] [--seed 0] [--json OUT]
Needs Debian's python3-torch and python3-onnx; CIFAR_BIN_DIR as for tools/calib_sweep.py.
"""
import argparse
import json
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def load_cifar(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    return (torch.tensor(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0),
            torch.tensor(raw[:, 0].astype(np.int64)))


class RoundSte(torch.autograd.Function):
    """round() forward, identity backward."""

    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxNet:
    """Runs a float or QDQ ONNX CNN on torch tensors. Weights dequantized from integer codes (conv and Gemm)
    become trainable parameters, re-quantized on each run to the codes' range at the export's per-channel scales.
    The export does not carry N_w, so the range is the smallest and largest code it holds: what 23-level weights
    reach in practice, possibly narrower for others (4-bit's -8)."""

    def __init__(self, path, learn_act_scales=False):
        model = onnx.load(path)
        self.nodes = list(model.graph.node)
        self.input, self.output = model.graph.input[0].name, model.graph.output[0].name
        self.consts = {i.name: torch.tensor(numpy_helper.to_array(i).astype(np.float32))
                       for i in model.graph.initializer}
        for n in self.nodes:
            if n.op_type == "Constant":
                value = numpy_helper.to_array(attributes(n)["value"])
                self.consts[n.output[0]] = torch.tensor(value.astype(np.float32))
        self.weights = {}  # DequantizeLinear output -> (trainable weight, per-channel scale, lowest code, highest code)
        for n in self.nodes:
            codes = self.consts.get(n.input[0]) if n.op_type == "DequantizeLinear" else None
            if codes is not None and codes.dim() in (2, 4):
                scale = self.consts[n.input[1]]
                scale = scale.view(-1, *[1] * (codes.dim() - 1)) if scale.dim() == 1 else scale
                self.weights[n.output[0]] = ((codes * scale).clone().requires_grad_(True), scale,
                                             float(codes.min()), float(codes.max()))

        # Activation scales (LSQ): each scalar QuantizeLinear scale becomes a trainable log-scale; the Clip that
        # feeds it keeps its bounds in codes, so they move with the scale.
        self.act_scales, self.clamps = {}, {}
        readers = {i: n for n in self.nodes for i in n.input}
        for n in self.nodes if learn_act_scales else []:
            reader = readers.get(n.output[0])
            if n.op_type != "Clip" or reader is None or reader.op_type != "QuantizeLinear":
                continue
            scale_name = reader.input[1]
            s0 = float(self.consts[scale_name])
            codes = [round(float(self.consts[n.input[k]]) / s0) for k in (1, 2)]
            self.act_scales[scale_name] = torch.tensor(np.log(s0), dtype=torch.float32).requires_grad_(True)
            self.clamps[n.output[0]] = (scale_name, codes[0], codes[1])

    def parameters(self):
        return [w for w, *_ in self.weights.values()]

    def __call__(self, x):
        values = {self.input: x}
        values.update({name: log_s.exp() for name, log_s in self.act_scales.items()})
        for n in self.nodes:
            if n.op_type == "Constant":
                continue
            if n.output[0] in self.clamps:
                name, lo, hi = self.clamps[n.output[0]]
                s = values[name]
                values[n.output[0]] = torch.maximum(torch.minimum(values[n.input[0]], hi * s), lo * s)
                continue
            if n.output[0] in self.weights:
                w, scale, lo, hi = self.weights[n.output[0]]
                values[n.output[0]] = torch.clamp(RoundSte.apply(w / scale), lo, hi) * scale
                continue
            ins = [None if not i else values[i] if i in values else self.consts[i] for i in n.input]
            values[n.output[0]] = self.run_op(n, attributes(n), ins)
        return values[self.output]

    @staticmethod
    def run_op(n, a, ins):
        op = n.op_type
        if op == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[0] != pads[2] or pads[1] != pads[3]:
                ins[0] = F.pad(ins[0], (pads[1], pads[3], pads[0], pads[2]))
                pads = [0, 0]
            return F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get("strides", [1, 1]),
                            (pads[0], pads[1]), a.get("dilations", [1, 1]), a.get("group", 1))
        if op == "BatchNormalization":
            return F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0, a.get("epsilon", 1e-5))
        if op == "Clip":  # an absent bound is an empty input name
            bound = lambda k: float(ins[k]) if len(ins) > k and ins[k] is not None else None
            return torch.clamp(ins[0], bound(1), bound(2))
        if op == "Identity":
            return ins[0]
        if op == "Relu":
            return F.relu(ins[0])
        if op in ("Add", "Sub", "Mul", "Div"):
            return {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op](ins[0], ins[1])
        if op == "MaxPool":
            pads = a.get("pads", [0, 0, 0, 0])
            x = F.pad(ins[0], (pads[1], pads[3], pads[0], pads[2]), value=-float("inf"))
            return F.max_pool2d(x, a["kernel_shape"], a.get("strides", [1, 1]), 0, a.get("dilations", [1, 1]),
                                bool(a.get("ceil_mode", 0)))
        if op == "GlobalAveragePool":
            return ins[0].mean((2, 3), keepdim=True)
        if op == "Tanh":
            return torch.tanh(ins[0])
        if op in ("Flatten", "Reshape"):
            return ins[0].flatten(1)
        if op == "Gemm":
            return F.linear(ins[0], ins[1] if a.get("transB", 0) else ins[1].t(), ins[2] if len(ins) > 2 else None)
        if op == "QuantizeLinear":  # uint8 codes (narrower ranges have a Clip before); rounded with the STE
            return torch.clamp(RoundSte.apply(ins[0] / ins[1]) + ins[2], 0, 255)
        if op == "DequantizeLinear":
            shape = [-1] + [1] * (ins[0].dim() - 1) if ins[1].numel() > 1 and ins[0].dim() > 1 else [-1]
            return (ins[0] - ins[2].view(shape)) * ins[1].view(shape)
        sys.exit(f"finetune_probe: {n.name or n.output[0]}: op {op} is not supported")


def top1(net, x, y):
    with torch.no_grad():
        return 100.0 * sum((net(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
                           for i in range(0, len(x), 1000)) / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("float_onnx")
    ap.add_argument("qdq_onnx")
    ap.add_argument("data", help="CIFAR-10 binary folder (data_batch_1..5.bin, test_batch.bin)")
    ap.add_argument("--loss", choices=["mse", "kl", "ce"], default="mse")
    ap.add_argument("--count", type=int, default=512, help="distillation images from data_batch_1 (seeded)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-2,
                    help="Adam step size, as a fraction of each layer's mean weight scale")
    ap.add_argument("--act-lr", type=float, default=0.0,
                    help="also learn activation scales (LSQ) with this Adam step size on their logarithm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if args.count < args.batch and args.loss != "ce":
        sys.exit(f"finetune_probe: --count {args.count} is smaller than --batch {args.batch}")
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)

    teacher, student = OnnxNet(args.float_onnx), OnnxNet(args.qdq_onnx, args.act_lr > 0)
    test_x, test_y = load_cifar(f"{args.data}/test_batch.bin")
    if args.loss == "ce":
        parts = [load_cifar(f"{args.data}/data_batch_{i}.bin") for i in range(1, 6)]
        train_x, train_y = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    else:
        train_x, train_y = load_cifar(f"{args.data}/data_batch_1.bin")
        pick = torch.randperm(len(train_x))[:args.count]
        train_x, train_y = train_x[pick], train_y[pick]
    result = {"args": vars(args), "float": top1(teacher, test_x, test_y), "start": top1(student, test_x, test_y),
              "epochs": []}
    print(f"float {result['float']:.2f}, quantized start {result['start']:.2f}", flush=True)

    groups = [{"params": [w], "lr": args.lr * float(scale.mean())} for w, scale, _, _ in student.weights.values()]
    if student.act_scales:
        groups.append({"params": list(student.act_scales.values()), "lr": args.act_lr})
    opt = torch.optim.Adam(groups)
    steps_per_epoch = len(train_x) // args.batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs * steps_per_epoch)
    started = time.time()
    for epoch in range(args.epochs):
        order, total = torch.randperm(len(train_x)), 0.0
        for i in range(steps_per_epoch):
            batch = order[i * args.batch:(i + 1) * args.batch]
            x = train_x[batch]
            x = torch.where((torch.rand(len(x)) < 0.5).view(-1, 1, 1, 1), x.flip(3), x)  # horizontal flips
            out = student(x)
            if args.loss == "ce":
                loss = F.cross_entropy(out, train_y[batch])
            else:
                with torch.no_grad():
                    target = teacher(x)
                loss = F.mse_loss(out, target) if args.loss == "mse" else F.kl_div(
                    F.log_softmax(out, 1), F.softmax(target, 1), reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        acc = top1(student, test_x, test_y)
        result["epochs"].append({"loss": total / steps_per_epoch, "top1": acc})
        print(f"epoch {epoch + 1}: mean loss {total / steps_per_epoch:.4f}, top-1 {acc:.2f} "
              f"({time.time() - started:.0f} s)", flush=True)
    if student.act_scales:
        result["scale_ratios"] = {name: float(log_s.exp()) / float(student.consts[name])
                                  for name, log_s in student.act_scales.items()}
        print("learned / starting activation scales: " +
              ", ".join(f"{name} {r:.3f}" for name, r in result["scale_ratios"].items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
