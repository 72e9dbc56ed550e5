"""q46c --emit-onnx-qdq writes a standard ONNX QDQ model that computes what the plan computes.

Compiles a model to a plan and its QDQ export, checks the export with ONNX's checker and its codes against the
precision (weight codes within the N_w range, activation zero points within the N_x range), then runs it through
a small interpreter of the ONNX ops built on PyTorch (an implementation independent of q46's runtime) and compares
with q46run on the same inputs. The runtime's integer convolutions are exact and the interpreter's are float, so
a value on a rounding tie may land one code apart (more often the more levels there are): every sample must agree
within 10% of the largest output, every top-1 prediction must be the same, and with --min-exact F at least that
share of samples must agree to float rounding (1e-4 relative). With Q46_ORT_DIR set (a folder where
`npm install onnxruntime-node --ignore-scripts` ran), ONNX Runtime runs the export too and is held to the same.
Usage: qdq_export_test.py BIN_DIR MODEL.onnx INPUTS(.bin|.npy) COUNT NX NW [--all-layers] [--min-exact F]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    x = F.pad(x, (pl, pr, pt, pb))
    return F.conv2d(x, w, b, a.get("strides", [1, 1]), 0, a.get("dilations", [1, 1]), a.get("group", 1))


def conv_transpose(x, w, b, a):
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    assert (pt, pl) == (pb, pr), "the interpreter's ConvTranspose takes symmetric padding only"
    return F.conv_transpose2d(x, w, b, a.get("strides", [1, 1]), (pt, pl), a.get("output_padding", [0, 0]),
                              a.get("group", 1), a.get("dilations", [1, 1]))


def pool(x, a, kind):
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    ceil = bool(a.get("ceil_mode", 0))
    if kind == "MaxPool":
        x = F.pad(x, (pl, pr, pt, pb), value=float("-inf"))
        return F.max_pool2d(x, a["kernel_shape"], a.get("strides", [1, 1]), 0, a.get("dilations", [1, 1]), ceil)
    assert (pt, pl, pb, pr) == (0, 0, 0, 0), "the interpreter's AveragePool takes no padding"
    return F.avg_pool2d(x, a["kernel_shape"], a.get("strides", [1, 1]), 0, ceil)


def quantize(x, scale, zero):
    return torch.clamp(torch.round(x / scale) + zero.float(), 0, 255)  # torch.round: half to even, as ONNX


def dequantize(q, scale, zero, a):
    shape = [1] * q.dim()
    if scale.dim() == 1:
        shape[a.get("axis", 1)] = -1
    return (q.float() - zero.float().reshape(shape)) * scale.reshape(shape)


def slice_(x, starts, ends, axes, steps):
    """ONNX Slice with every axis listed (as q46c exports it): ends below -size mean 'before the first'."""
    index = []
    for start, end, step in zip(starts.tolist(), ends.tolist(), steps.tolist()):
        index.append(slice(start, None if end < -x.shape[len(index)] else end, step))
    if any(s.step < 0 for s in index):  # torch cannot step backwards: flip, slice forwards
        x = x.numpy()
        return torch.from_numpy(np.ascontiguousarray(x[tuple(index)]))
    return x[tuple(index)]


def reduce_(x, op, axes, keepdims):
    fn = {"ReduceMean": torch.mean, "ReduceSum": torch.sum, "ReduceMax": torch.amax, "ReduceMin": torch.amin}[op]
    return fn(x, dim=[int(a) for a in axes], keepdim=bool(keepdims))


def run_onnx(model, x):
    """The model's first output on x, op by op."""
    env = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    env[model.graph.input[0].name] = torch.from_numpy(x)
    for n in model.graph.node:
        i = [env[name] if name else None for name in n.input]
        a = attrs(n)
        op = n.op_type
        if op == "Conv":
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "ConvTranspose":
            y = conv_transpose(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "Gemm":
            y = i[0] @ (i[1].t() if a.get("transB", 0) else i[1]) + (i[2] if len(i) > 2 else 0)
        elif op in ("MaxPool", "AveragePool"):
            y = pool(i[0], a, op)
        elif op == "QuantizeLinear":
            y = quantize(i[0], i[1], i[2])
        elif op == "DequantizeLinear":
            y = dequantize(i[0], i[1], i[2], a)
        elif op == "Clip":
            lo = i[1] if len(i) > 1 and i[1] is not None else torch.tensor(float("-inf"))
            hi = i[2] if len(i) > 2 and i[2] is not None else torch.tensor(float("inf"))
            y = torch.minimum(torch.maximum(i[0], lo), hi)
        elif op in ("Relu", "Tanh", "Sigmoid", "Identity"):
            y = {"Relu": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid, "Identity": lambda t: t}[op](i[0])
        elif op == "LeakyRelu":
            y = F.leaky_relu(i[0], a.get("alpha", 0.01))
        elif op == "HardSigmoid":
            y = torch.clamp(a.get("alpha", 0.2) * i[0] + a.get("beta", 0.5), 0, 1)
        elif op in ("Add", "Sub", "Mul", "Div", "PRelu"):
            y = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div,
                 "PRelu": lambda u, v: torch.where(u < 0, u * v, u)}[op](i[0], i[1])
        elif op == "Transpose":
            y = i[0].permute(a["perm"])
        elif op == "Slice":
            y = slice_(i[0], i[1], i[2], i[3], i[4])
        elif op in ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"):
            y = reduce_(i[0], op, a["axes"] if "axes" in a else i[1], a.get("keepdims", 1))
        elif op == "Reshape":
            y = i[0].reshape([int(d) for d in i[1]])
        elif op == "Concat":
            y = torch.cat(i, a["axis"])
        else:
            sys.exit(f"the test's interpreter has no {op} (node {n.name}): add it")
        env[n.output[0]] = y
    return env[model.graph.output[0].name].numpy()


def check_codes(model, nx, nw):
    """Every weight code within the N_w range, every activation zero point within the N_x range."""
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    half = (nw - 1) // 2
    w_lo, w_hi = {16: (-8, 7), 256: (-127, 127)}.get(nw, (-half, half))
    quantized = 0
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and init.get(n.input[0]) is not None and init[n.input[0]].dtype == np.int8:
            codes = init[n.input[0]]
            assert w_lo <= codes.min() and codes.max() <= w_hi, f"{n.name}: weight codes outside [{w_lo}, {w_hi}]"
            quantized += 1
        if n.op_type == "QuantizeLinear":
            assert 0 <= int(init[n.input[2]]) <= nx - 1, f"{n.name}: zero point outside the {nx} codes"
    assert quantized > 0, "no quantized layer in the export"
    return quantized


def inputs(path, count):
    if path.endswith(".npy"):
        return np.load(path)[:count].astype(np.float32)
    raw = np.fromfile(path, dtype=np.uint8)[: count * 3073].reshape(count, 3073)
    return (raw[:, 1:].reshape(count, 3, 32, 32) / 255.0).astype(np.float32)


def compare(name, got, want, min_exact):
    """Returns a failure message, or None. got / want: [samples, outputs]."""
    scale = np.abs(want).max()
    per_sample = np.abs(got - want).max(1) / scale
    exact = float((per_sample <= 1e-4).mean())
    print(f"  {name}: max relative difference {per_sample.max():.2e}, {exact:.0%} of samples within 1e-4")
    if per_sample.max() > 0.1 or exact < min_exact:
        return f"{name} differs from q46run beyond rounding ties"
    if want.shape[1] > 1 and (got.argmax(1) != want.argmax(1)).any():
        return f"{name} changes a top-1 prediction"
    return None


def main():
    bin_dir, onnx_path, data, count, nx, nw = sys.argv[1:7]
    count, nx, nw = int(count), int(nx), int(nw)
    min_exact = float(sys.argv[sys.argv.index("--min-exact") + 1]) if "--min-exact" in sys.argv else 0.0
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        plan, qdq, x_path, y_path = (os.path.join(tmp, f) for f in ("m.q46", "m.onnx", "x.npy", "y.npy"))
        x = inputs(data, count)
        np.save(x_path, x)
        # The export is under test, not the calibration: the quickest settings.
        flags = ["--nx", str(nx), "--nw", str(nw), "--calib", data, "--calib-count", str(count), "--calib-method", "none",
                 "--range-method", "minmax", "--weight-clip", "absmax", "--bias-correction=false"]
        if "--all-layers" in sys.argv:
            layers = [n.name for n in onnx.load(onnx_path).graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
            json.dump({layer: [nx, nw] for layer in layers}, open(os.path.join(tmp, "map.json"), "w"))
            flags += ["--precision-map", os.path.join(tmp, "map.json")]
        subprocess.run([f"{bin_dir}/q46c", onnx_path, "-o", plan, "--emit-onnx-qdq", qdq] + flags, check=True,
                       stdout=subprocess.DEVNULL)
        model = onnx.load(qdq)
        onnx.checker.check_model(model)
        layers = check_codes(model, nx, nw)
        subprocess.run([f"{bin_dir}/q46run", plan, "--input", x_path, "--output", y_path, "--top-k", "0"], check=True,
                       stdout=subprocess.DEVNULL)
        want = np.load(y_path).reshape(count, -1)
        batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_value
        got = np.concatenate([run_onnx(model, x[s:s + batch]) for s in range(0, count, batch)]).reshape(count, -1)
        print(f"{os.path.basename(onnx_path)} at ({nx}, {nw}): {layers} quantized layers in the QDQ export")
        failures = [compare("PyTorch interpreter", got, want, min_exact)]
        ort = os.environ.get("Q46_ORT_DIR")
        if ort:
            raw, out = os.path.join(tmp, "x.f32"), os.path.join(tmp, "ort.f32")
            x.tofile(raw)
            dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
            script = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "ort_outputs.js")
            subprocess.run(["node", script, qdq, json.dumps(dims), raw, out], check=True,
                           env=dict(os.environ, NODE_PATH=os.path.join(ort, "node_modules")))
            failures.append(compare("ONNX Runtime", np.fromfile(out, dtype=np.float32).reshape(count, -1), want,
                                    min_exact))
        else:
            print("  ONNX Runtime: not run (set Q46_ORT_DIR to include it)")
    failures = [f for f in failures if f]
    for f in failures:
        print(f"FAILED: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
