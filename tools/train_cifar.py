#!/usr/bin/python3
# Train one of the article's CIFAR-10 networks (CNN6..CNN10, tools/q46_models.py) in float, with the article's
# recipe (mission brief section 4), and export it for the q46 compiler.
#
#   /usr/bin/python3 tools/train_cifar.py --model cnn6 --data DIR --out DIR [--epochs N] [--lr 2e-3]
#       [--wd 1e-5] [--batch 100] [--schedule step|onecycle] [--seed 0] [--threads 1] [--smoke]
#       [--swa-epochs N] [--swa-lr 2e-4] [--init-from MODEL.onnx]
#
# DIR (--data) is the CIFAR-10 binary folder written by /work/shared/data/cifar10/make-cifar10-bin (DIR itself or
# DIR/cifar-10-batches-bin). Recipe: RGB input in [0,1], no normalisation; augmentation = horizontal flip, random
# 32x32 crop from a 4-pixel zero padding, random rotation uniform in +-9 degrees (nearest, zero fill, as
# torchvision's RandomRotation), done on whole batches in torch; AdamW (weight decay --wd), batch --batch.
# --schedule step halves the lr every --epochs/4 epochs (the article: 2e-3 halved every 50 of 200 epochs);
# onecycle (the default, for shortened runs) is torch's OneCycleLR with max_lr = --lr, stepped per batch.
# --swa-epochs N appends N epochs at the constant lr --swa-lr whose end-of-epoch weights are averaged
# (stochastic weight averaging, torch.optim.swa_utils); BatchNorm statistics are then re-estimated on augmented
# training batches and the averaged network is the one exported. --init-from starts from the weights and
# BatchNorm statistics of an ONNX model this script exported (so --epochs 0 --swa-epochs N adds an SWA phase to
# a finished run); the JSON record names that model and its own record.
#
# Writes OUT/<model>.ckpt.pt after every epoch (atomically; a restarted run resumes from it and continues the
# same schedule, RNG streams included), and at the end OUT/<model>.onnx (BatchNorm kept, opset 13, batch 1,
# 'input' -> 'output'), OUT/<model>.json (accuracy, recipe, history) and OUT/<model>.curve.png.
# --smoke: 1 epoch on 2,000 train and 1,000 test images, all outputs written: a check of the pipeline.

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import math
import os
import random
import shlex
import sys
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from torch.optim import swa_utils  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_models  # noqa: E402
import q46_models  # noqa: E402

CIFAR_MODELS = tuple(n for n in q46_models.MODEL_NAMES if n.startswith("cnn"))
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILE = "test_batch.bin"
RECORD_BYTES = 1 + 3 * 32 * 32
PAD = 4
MAX_ROTATION_DEG = 9.0
# Eval batch: 100, not 1000. The outputs are the same, but at 1,000 images the activation tensors (131 MB per
# layer in CNN10) overflow the caches and come from fresh mmaps: evaluation was 3-8x slower on one thread.
EVAL_BATCH = 100
LOG_EVERY = 50
SMOKE_TRAIN, SMOKE_TEST = 2000, 1000
ONNX_OPSET = 13
AUGMENTATION = (f"horizontal flip p=0.5; random crop 32 from {PAD}-pixel zero padding; random rotation "
                f"uniform(-{MAX_ROTATION_DEG:g}, {MAX_ROTATION_DEG:g}) degrees, nearest, zero fill (in that order)")
ONECYCLE = dict(pct_start=0.3, div_factor=25.0, final_div_factor=1e4, anneal_strategy="cos",
                cycle_momentum=True, base_momentum=0.85, max_momentum=0.95)
# Run settings that must match for a checkpoint to be resumed.
RECIPE_KEYS = ("model", "epochs", "schedule", "lr", "wd", "batch", "seed", "smoke", "swa_epochs", "swa_lr",
               "init_from", "init_sha256")
# What checkpoints written before a recipe key existed ran with.
RECIPE_DEFAULTS = dict(swa_epochs=0, swa_lr=2e-4, init_from=None, init_sha256=None)


def log(message):
    print(message, file=sys.stderr, flush=True)


def keep_freed_memory():
    """Make glibc malloc reuse freed activation buffers instead of returning them to the OS.

    By default glibc serves large blocks with mmap and raises its threshold adaptively; with torch's per-batch
    allocations it sometimes falls into mmap/munmap on every tensor, and the page faults made training up to
    2.7x slower (same as MALLOC_MMAP_THRESHOLD_=32M MALLOC_TRIM_THRESHOLD_=1G MALLOC_TOP_PAD_=512M). No-op
    where glibc is absent.
    """
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        return
    libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    libc.mallopt(M_TOP_PAD, 512 << 20)


# ---------------------------------------------------------------------------------------------------- data

def load_cifar_bin(paths, limit=None):
    """(images uint8 [N,3,32,32], labels int64 [N]) from CIFAR-10 binary files, first `limit` records."""
    records = np.concatenate([np.fromfile(p, dtype=np.uint8).reshape(-1, RECORD_BYTES) for p in paths])
    records = records[:limit]
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy())
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    return images, labels


def cifar_dir(data):
    nested = os.path.join(data, "cifar-10-batches-bin")
    return nested if os.path.isdir(nested) else data


def load_data(data, smoke):
    folder = cifar_dir(data)
    train = load_cifar_bin([os.path.join(folder, f) for f in TRAIN_FILES], SMOKE_TRAIN if smoke else None)
    test = load_cifar_bin([os.path.join(folder, TEST_FILE)], SMOKE_TEST if smoke else None)
    return train, test


def to_float(images):
    """uint8 [0,255] -> float32 [0,1]: the networks' input range, no normalisation."""
    return images.float().div_(255.0)


def random_flip(images):
    flip = torch.rand(len(images)) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def random_crop(images):
    """Per-sample random 32x32 window of the image zero-padded by PAD on each side."""
    n, _, h, w = images.shape
    padded = F.pad(images, (PAD, PAD, PAD, PAD))
    dy = torch.randint(0, 2 * PAD + 1, (n,))
    dx = torch.randint(0, 2 * PAD + 1, (n,))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]        # [n,1,h,1]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]        # [n,1,1,w]
    batch = torch.arange(n)[:, None, None, None]
    channels = torch.arange(images.shape[1])[None, :, None, None]
    return padded[batch, channels, rows, cols]


def random_rotation(images):
    """Per-sample rotation about the image centre, angle uniform in +-MAX_ROTATION_DEG; nearest, zero fill."""
    n = len(images)
    angle = torch.empty(n).uniform_(-MAX_ROTATION_DEG, MAX_ROTATION_DEG) * (math.pi / 180.0)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros(n)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def augment(images):
    """The article's training augmentation on a uint8 batch; returns float32 in [0,1]."""
    return random_rotation(to_float(random_crop(random_flip(images))))


def batches(count, batch, generator=None):
    """Index tensors covering range(count) in batches; shuffled when a generator is given."""
    order = torch.randperm(count, generator=generator) if generator is not None else torch.arange(count)
    return [order[i:i + batch] for i in range(0, count, batch)]


# ---------------------------------------------------------------------------------------------------- training

def total_epochs(args):
    return args.epochs + args.swa_epochs


def make_optimizer(model, args):
    return torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)


def make_scheduler(optimizer, args, steps_per_epoch):
    """Per-batch lr schedule: OneCycleLR up to --lr, or the article's step schedule (x0.5 every epochs/4); None
    when the run has no scheduled epochs (only an SWA phase)."""
    if args.epochs == 0:
        return None
    if args.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                   total_steps=args.epochs * steps_per_epoch, **ONECYCLE)
    step_epochs = max(1, args.epochs // 4)
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_epochs * steps_per_epoch, gamma=0.5)


def schedule_description(args):
    if args.schedule == "onecycle":
        return dict(name="onecycle", max_lr=args.lr, stepped="per batch", **ONECYCLE)
    return dict(name="step", initial_lr=args.lr, gamma=0.5, every_epochs=max(1, args.epochs // 4),
                stepped="per batch")


def evaluate(model, images, labels):
    """Top-1 accuracy in percent, eval mode, EVAL_BATCH images at a time."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for idx in batches(len(images), EVAL_BATCH):
            correct += int((model(to_float(images[idx])).argmax(1) == labels[idx]).sum())
    return 100.0 * correct / len(images)


class Progress:
    """Throughput and whole-run ETA, measured over the batches this process has trained."""

    def __init__(self, total_batches, done_batches):
        self.total, self.done, self.start_done = total_batches, done_batches, done_batches
        self.start = time.perf_counter()

    def step(self):
        self.done += 1

    def line(self, epoch, epochs, batch, batch_count, loss, acc, batch_size):
        elapsed = time.perf_counter() - self.start
        trained = self.done - self.start_done
        rate = trained * batch_size / max(elapsed, 1e-9)
        eta = (self.total - self.done) * elapsed / max(trained, 1)
        return (f"epoch {epoch}/{epochs} batch {batch}/{batch_count} loss {loss:.4f} train_acc {acc:.2f}% "
                f"{rate:.0f} img/s ETA {format_seconds(eta)}")


def format_seconds(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def train_epoch(model, optimizer, scheduler, data, args, epoch, progress):
    """One epoch over the shuffled training set, the lr stepped by `scheduler` per batch unless it is None;
    returns (mean loss, train accuracy %)."""
    images, labels = data
    model.train()
    generator = torch.Generator().manual_seed(args.seed * 100_003 + epoch)
    order = batches(len(images), args.batch, generator)
    loss_sum, correct, seen = 0.0, 0, 0
    for i, idx in enumerate(order, 1):
        target = labels[idx]
        logits = model(augment(images[idx]))
        loss = F.cross_entropy(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += float(loss) * len(idx)
        correct += int((logits.argmax(1) == target).sum())
        seen += len(idx)
        progress.step()
        if i % LOG_EVERY == 0 or i == len(order):
            log(progress.line(epoch, total_epochs(args), i, len(order), loss_sum / seen, 100.0 * correct / seen,
                              args.batch))
    return loss_sum / seen, 100.0 * correct / seen


def swa_epoch_start(optimizer, args):
    """The SWA phase trains at the constant lr --swa-lr (set at every epoch, so a resumed run does the same)."""
    for group in optimizer.param_groups:
        group["lr"] = args.swa_lr


def averaged_network(swa_model, images, args):
    """The SWA average with BatchNorm statistics re-estimated over one pass of augmented training batches."""
    generator = torch.Generator().manual_seed(args.seed * 100_003 + 999_983)
    order = batches(len(images), args.batch, generator)
    swa_utils.update_bn((augment(images[idx]) for idx in order), swa_model)
    return swa_model.module


def load_onnx_weights(model, path):
    """Set `model`'s parameters and BatchNorm statistics from the initializers of an ONNX model exported from the
    same architecture (torch.onnx keeps the state_dict names); every tensor must be there with its shape."""
    try:
        initializers = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    except Exception as e:  # onnx raises several types for unreadable files
        raise SystemExit(f"--init-from {path}: not a readable ONNX model ({e})")
    state = model.state_dict()
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        if name not in initializers or tuple(initializers[name].shape) != tuple(tensor.shape):
            raise SystemExit(f"--init-from {path}: no initializer '{name}' of shape {tuple(tensor.shape)}; "
                             f"is it a {type(model).__name__} exported by this script?")
        state[name] = torch.from_numpy(initializers[name].copy())
    model.load_state_dict(state)


def previous_record(path):
    """The training record written beside an --init-from model (MODEL.json), or {} when there is none."""
    sibling = os.path.splitext(path)[0] + ".json"
    if not os.path.exists(sibling):
        return {}
    with open(sibling) as f:
        return json.load(f)


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def init_record(args, previous):
    """What this run's record says of its --init-from model: the file's hash and a summary of its record."""
    record = dict(path=args.init_from, sha256=args.init_sha256)
    if previous:
        record["record"] = {k: previous.get(k) for k in ("float_test_top1", "total_epochs", "epochs", "training",
                                                         "schedule", "seed", "command")}
    return record


def training_summary(args, previous):
    """One line on how the exported network was trained, earlier runs included."""
    parts = []
    if previous.get("training"):
        parts.append(previous["training"])
    elif previous:
        parts.append(f"{previous.get('epochs')} epochs, {(previous.get('schedule') or {}).get('name')}, "
                     f"lr {previous.get('lr')}")
    if args.epochs:
        parts.append(f"{args.epochs} epochs, {args.schedule}, lr {args.lr:g}")
    if args.swa_epochs:
        parts.append(f"{args.swa_epochs} SWA epochs at lr {args.swa_lr:g}")
    return "; then ".join(parts)


# ---------------------------------------------------------------------------------------------------- state

def recipe(args):
    return {key: getattr(args, key) for key in RECIPE_KEYS}


def rng_states():
    return dict(torch=torch.get_rng_state(), numpy=np.random.get_state(), python=random.getstate())


def set_rng_states(states):
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def scheduler_state(scheduler):
    # OneCycleLR (torch 1.13) keeps its annealing function as a bound method in __dict__; pickling it would drag
    # the whole scheduler and optimizer into the file. The rebuilt scheduler has its own, so leave it out.
    if scheduler is None:
        return None
    return {k: v for k, v in scheduler.state_dict().items() if not callable(v)}


def atomic_write(path, write):
    """Call write(tmp_path), then rename tmp_path over path, so readers never see a partial file."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_checkpoint(path, model, swa_model, optimizer, scheduler, state, args):
    checkpoint = dict(recipe=recipe(args), model=model.state_dict(),
                      swa=swa_model.state_dict() if swa_model is not None else None,
                      optimizer=optimizer.state_dict(),
                      scheduler=scheduler_state(scheduler), rng=rng_states(), **state)
    atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


def load_checkpoint(path, model, swa_model, optimizer, scheduler, args):
    """Restore everything from `path`; returns the run state (epoch, history, wall_seconds, resumed_at)."""
    checkpoint = torch.load(path)
    if {**RECIPE_DEFAULTS, **checkpoint["recipe"]} != recipe(args):
        raise SystemExit(f"{path} was made with {checkpoint['recipe']}, this run asks for {recipe(args)}: "
                         f"use another --out or delete the checkpoint")
    model.load_state_dict(checkpoint["model"])
    if swa_model is not None:
        swa_model.load_state_dict(checkpoint["swa"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    set_rng_states(checkpoint["rng"])
    return {key: checkpoint[key] for key in ("epoch", "history", "wall_seconds", "resumed_at")}


# ---------------------------------------------------------------------------------------------------- outputs

def write_onnx(model, model_name, path):
    """Batch-1 ONNX with BatchNormalization kept (export_models.export_onnx also runs onnx.checker)."""
    shape = (1,) + q46_models.input_shape(model_name)
    atomic_write(path, lambda tmp: export_models.export_onnx(model, tmp, shape, ONNX_OPSET, fold_bn=False))


def write_json(path, report):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    atomic_write(path, write)


def write_curve(path, model_name, history, test_top1, swa_start):
    epochs = [h[0] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h[1] for h in history], label="train loss", marker=".")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend()
    ax_acc.plot(epochs, [h[2] for h in history], label="train (augmented)", marker=".")
    ax_acc.plot(epochs, [h[3] for h in history], label="test", marker=".")
    if swa_start is not None:
        for ax in (ax_loss, ax_acc):
            ax.axvline(swa_start, color="gray", linestyle=":", label="SWA from here")
        ax_acc.plot([epochs[-1]], [test_top1], "*", markersize=12, label="SWA average (exported)")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("top-1 %")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
    fig.suptitle(f"{model_name}: final test top-1 {test_top1:.2f}%")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def write_outputs(model, args, state, test_top1, data_sizes, previous, epoch_offset):
    base = os.path.join(args.out, args.model)
    model.eval()
    write_onnx(model, args.model, base + ".onnx")
    report = dict(
        model=args.model, float_test_top1=test_top1, training=training_summary(args, previous),
        total_epochs=epoch_offset + total_epochs(args), epochs=args.epochs, schedule=schedule_description(args),
        swa=dict(epochs=args.swa_epochs, lr=args.swa_lr, averaged="weights at the end of each SWA epoch",
                 batchnorm="statistics re-estimated on one pass of augmented training batches")
        if args.swa_epochs else None,
        init_from=init_record(args, previous) if args.init_from else None,
        lr=args.lr, weight_decay=args.wd, batch=args.batch, optimizer="AdamW", augmentation=AUGMENTATION,
        input="RGB in [0,1], no normalisation", seed=args.seed, threads=args.threads, smoke=args.smoke,
        train_images=data_sizes[0], test_images=data_sizes[1], params=q46_models.count_params(model),
        wall_seconds=round(state["wall_seconds"], 1), resumed_at_epochs=state["resumed_at"],
        command=" ".join(shlex.quote(a) for a in [sys.executable] + sys.argv),
        history=state["history"], torch_version=torch.__version__)
    write_json(base + ".json", report)
    write_curve(base + ".curve.png", args.model, state["history"], test_top1,
                epoch_offset + args.epochs + 0.5 if args.swa_epochs else None)


# ---------------------------------------------------------------------------------------------------- main

def parse_args():
    parser = argparse.ArgumentParser(description="Train a q46 CIFAR-10 network (article recipe) and export it.")
    parser.add_argument("--model", required=True, choices=CIFAR_MODELS)
    parser.add_argument("--data", required=True, help="CIFAR-10 binary folder (make-cifar10-bin OUTDIR)")
    parser.add_argument("--out", required=True, help="output folder (checkpoint, ONNX, JSON, curve)")
    parser.add_argument("--epochs", type=int, default=None, help="default 200, or 1 with --smoke")
    parser.add_argument("--lr", type=float, default=2e-3, help="initial lr (step) or max_lr (onecycle)")
    parser.add_argument("--wd", type=float, default=1e-5, help="AdamW weight decay")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--schedule", choices=("onecycle", "step"), default="onecycle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--swa-epochs", type=int, default=0,
                        help="epochs of stochastic weight averaging after the schedule (default 0: none)")
    parser.add_argument("--swa-lr", type=float, default=2e-4, help="the constant lr of the SWA epochs")
    parser.add_argument("--init-from", metavar="MODEL.onnx",
                        help="start from this exported model's weights (e.g. --epochs 0 --swa-epochs N)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"1 epoch on {SMOKE_TRAIN} train / {SMOKE_TEST} test images, all outputs written")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 1 if args.smoke else 200
    if args.batch < 1 or args.threads < 1:
        parser.error("--batch and --threads must be positive")
    if args.epochs < 0 or args.swa_epochs < 0 or total_epochs(args) < 1:
        parser.error("--epochs and --swa-epochs must not be negative, and at least one epoch must run")
    if args.init_from and not os.path.isfile(args.init_from):
        parser.error(f"--init-from {args.init_from}: no such file")
    # Hashed now: a resume checks it is the same model, and the record names it even if it is overwritten later.
    args.init_sha256 = file_sha256(args.init_from) if args.init_from else None
    return args


def main():
    args = parse_args()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    os.makedirs(args.out, exist_ok=True)
    seed_everything(args.seed)

    train, test = load_data(args.data, args.smoke)
    log(f"{args.model}: {len(train[0])} train / {len(test[0])} test images from {cifar_dir(args.data)}")
    model = q46_models.build(args.model)
    previous = previous_record(args.init_from) if args.init_from else {}
    epoch_offset = previous["history"][-1][0] if previous.get("history") else 0  # the curve continues that one
    ckpt_path = os.path.join(args.out, f"{args.model}.ckpt.pt")
    if args.init_from and not os.path.exists(ckpt_path):  # a resume takes the weights from the checkpoint
        load_onnx_weights(model, args.init_from)
        log(f"starting from {args.init_from}: test top-1 {evaluate(model, *test):.2f}%")
    swa_model = swa_utils.AveragedModel(model) if args.swa_epochs else None
    optimizer = make_optimizer(model, args)
    steps_per_epoch = math.ceil(len(train[0]) / args.batch)
    scheduler = make_scheduler(optimizer, args, steps_per_epoch)

    state = dict(epoch=0, history=list(previous.get("history", [])), wall_seconds=0.0, resumed_at=[])
    if os.path.exists(ckpt_path):
        state = load_checkpoint(ckpt_path, model, swa_model, optimizer, scheduler, args)
        state["resumed_at"].append(state["epoch"])
        log(f"resuming from {ckpt_path}: {state['epoch']}/{total_epochs(args)} epochs done, "
            f"{format_seconds(state['wall_seconds'])} spent so far")
    session_start, wall_before = time.perf_counter(), state["wall_seconds"]
    progress = Progress(total_epochs(args) * steps_per_epoch, state["epoch"] * steps_per_epoch)

    for epoch in range(state["epoch"] + 1, total_epochs(args) + 1):
        in_swa = epoch > args.epochs
        if in_swa:
            swa_epoch_start(optimizer, args)
        loss, train_acc = train_epoch(model, optimizer, None if in_swa else scheduler, train, args, epoch,
                                      progress)
        if in_swa:
            swa_model.update_parameters(model)
        test_acc = evaluate(model, *test)
        state["history"].append([epoch_offset + epoch, round(loss, 5), round(train_acc, 3), round(test_acc, 3)])
        state["epoch"] = epoch
        state["wall_seconds"] = wall_before + time.perf_counter() - session_start
        save_checkpoint(ckpt_path, model, swa_model, optimizer, scheduler, state, args)
        log(f"epoch {epoch}/{total_epochs(args)} done: loss {loss:.4f} train_acc {train_acc:.2f}% "
            f"test_acc {test_acc:.2f}% lr {optimizer.param_groups[0]['lr']:.3g}{' (SWA)' if in_swa else ''} "
            f"wall {format_seconds(state['wall_seconds'])}")

    final = averaged_network(swa_model, train[0], args) if args.swa_epochs else model
    test_top1 = evaluate(final, *test)
    state["wall_seconds"] = wall_before + time.perf_counter() - session_start
    write_outputs(final, args, state, test_top1, (len(train[0]), len(test[0])), previous, epoch_offset)
    log(f"{args.model}: float test top-1 {test_top1:.2f}% after {total_epochs(args)} epochs"
        f"{f' ({args.swa_epochs} of them averaged)' if args.swa_epochs else ''}; wrote "
        f"{os.path.join(args.out, args.model)}.{{onnx,json,curve.png}}")


if __name__ == "__main__":
    main()
