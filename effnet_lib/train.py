"""Training: a named recipe, a folder of images, a run folder with history and checkpoints.

Recipes (`RECIPES`):
- ``seed``: the practitioner's experiment this workbook reproduces. SGD lr 0.01, momentum 0.9,
  weight decay 1e-4, cosine annealing over the epochs (stepped once per epoch, as
  ``CosineAnnealingLR``), cross-entropy, dropout 0.2, BatchNorm eps 1e-3 momentum 0.1.
- ``paper``: the EfficientNet paper on ImageNet. RMSProp (decay 0.9, momentum 0.9, eps 1e-3),
  lr 0.256 for a batch of 4096 scaled linearly to the batch used, x0.97 every 2.4 epochs, weight
  decay 1e-5, BatchNorm momentum 0.01 (TF's 0.99), stochastic depth 0.2, the variant's dropout,
  AutoAugment, 5 warm-up epochs and a weight EMA of 0.9999 (with the official code's ramp,
  decay min(0.9999, (1 + n) / (10 + n)) at update n, so early averages are not the random start).

Everything a run makes goes into its folder: ``history.csv`` (one row per epoch), ``last.pt``
(every epoch) and ``best.pt`` (best validation accuracy), written atomically. A checkpoint holds
model, optimizer, scheduler, EMA, epoch, history, class names and the full config, so ``resume``
continues exactly: each epoch's shuffle and augmentation depend only on (seed, epoch).

Runs under ``torchrun`` use DistributedDataParallel: each process trains on its shard, metrics are
all-reduced, and only rank 0 writes files.
"""

from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from . import data as D
from .io import CheckpointError, atomic_save, atomic_write_text, load_checkpoint, provenance
from .model import VARIANTS, arch_of, build_model, from_arch, load_pretrained


@dataclass(frozen=True)
class Recipe:
    optimizer: str  # "sgd" | "rmsprop"
    lr: float
    weight_decay: float
    schedule: str  # "cosine" (per epoch) | "step" (x decay every decay_epochs)
    bn: str
    momentum: float = 0.9
    lr_batch: int | None = None  # lr is given for this batch size and scaled linearly
    decay: float = 0.97
    decay_epochs: float = 2.4
    dropout: float | None = 0.2  # None: the variant's own
    stochastic_depth: float = 0.2
    autoaugment: bool = False
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    ema: float = 0.0


RECIPES = {
    "seed": Recipe("sgd", 0.01, 1e-4, "cosine", "seed"),
    "paper": Recipe("rmsprop", 0.256, 1e-5, "step", "tf", lr_batch=4096, dropout=None,
                    autoaugment=True, warmup_epochs=5, ema=0.9999),
}


@dataclass
class TrainConfig:
    data: str = "builtin"
    out: str = "runs/train"
    model: str | None = "b0"
    width: float | None = None
    depth: float | None = None
    image_size: int | None = None  # None: the variant's resolution (224 for custom sizes)
    epochs: int = 30
    batch_size: int = 32
    recipe: str = "seed"
    lr: float | None = None  # None: the recipe's
    warmup_epochs: float | None = None
    label_smoothing: float | None = None
    ema: float | None = None
    dropout: float | None = None
    stochastic_depth: float | None = None
    seed: int = 0
    val_fraction: float = 0.2
    workers: int = 0
    device: str = "auto"
    amp: bool = True  # CUDA only
    channels_last: bool = True
    augment_on: str = "auto"  # "loader" (per image), "device" (crop the batch on the device); auto: device on CUDA
    compile: bool = False  # torch.compile the model (opt-in: slow first epoch, no gain measured on CPU)
    cache_mb: int = 2048  # decoded-image cache limit; 0 decodes every epoch
    pretrained: str | None = None  # a torchvision-format weights file
    freeze_features: bool = False
    max_steps_per_epoch: int | None = None  # quick mode: stop each epoch early
    quick: bool = False  # recorded, so results say how they were made

    def recipe_(self) -> Recipe:
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; choose one of {sorted(RECIPES)}")
        r = RECIPES[self.recipe]
        overrides = {k: getattr(self, k) for k in ("lr", "warmup_epochs", "label_smoothing", "ema", "dropout",
                                                   "stochastic_depth") if getattr(self, k) is not None}
        return replace(r, **overrides)


class TrainingStopped(RuntimeError):
    """Training ended early (interrupt or numerical fault); the message says what is kept."""


# -----------------------------------------------------------------------------
# Pieces


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def dataset_for(cfg: TrainConfig) -> tuple[D.ImageFolder, D.Transforms]:
    """Open the data folder and choose transforms (the built-in set has its own crop settings)."""
    size = cfg.image_size or (VARIANTS[cfg.model][2] if cfg.model in VARIANTS and cfg.width is None
                              and cfg.depth is None else 224)
    if cfg.data == "builtin":
        from . import builtin
        folder = D.open_image_folder(builtin.ensure())
        # Textures: keep the scale of the material (mild crops) and evaluate on the whole patch.
        tf = D.Transforms(size, resize_ratio=1.0, crop_scale=(0.25, 1.0))
    else:
        folder = D.open_image_folder(cfg.data, val_fraction=cfg.val_fraction, seed=cfg.seed)
        named = cfg.model in VARIANTS and cfg.width is None and cfg.depth is None
        tf = D.Transforms(size, resize_ratio=D.EVAL_RESIZE_RATIO[cfg.model] if named else 256 / 224)
    return folder, replace(tf, autoaugment=cfg.recipe_().autoaugment)


def make_model(cfg: TrainConfig, num_classes: int, load_weights: bool = True) -> nn.Module:
    r = cfg.recipe_()
    kwargs = dict(num_classes=num_classes, stochastic_depth_prob=r.stochastic_depth, bn=r.bn)
    if r.dropout is not None:
        kwargs["dropout"] = r.dropout
    model = build_model(cfg.model, width=cfg.width, depth=cfg.depth, **kwargs)
    if cfg.pretrained and load_weights:  # a resumed run takes its weights from the checkpoint
        load_pretrained(model, cfg.pretrained)
    if cfg.freeze_features:
        for p in model.features.parameters():
            p.requires_grad_(False)
    return model


class Schedule:
    """lr factor per optimizer step: linear warm-up, then cosine per epoch or step decay."""

    def __init__(self, kind, steps_per_epoch, epochs, warmup_epochs=0.0, decay=0.97, decay_epochs=2.4):
        self.kind, self.spe, self.epochs = kind, steps_per_epoch, epochs
        self.warmup = warmup_epochs * steps_per_epoch
        self.decay, self.decay_epochs = decay, decay_epochs

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        epoch = step // self.spe
        if self.kind == "cosine":
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))
        return self.decay ** math.floor(step / (self.decay_epochs * self.spe))


def make_optimizer(cfg: TrainConfig, model: nn.Module, steps_per_epoch: int):
    r = cfg.recipe_()
    # The recipe's lr is given for lr_batch images and scaled linearly; an explicit --lr is used as is.
    lr = r.lr * (cfg.batch_size / r.lr_batch if r.lr_batch and cfg.lr is None else 1.0)
    params = [p for p in model.parameters() if p.requires_grad]
    if r.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=r.momentum, weight_decay=r.weight_decay,
                              foreach=True)  # one kernel per op for all tensors (also on CPU)
    else:
        opt = torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-3, momentum=r.momentum,
                                  weight_decay=r.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, Schedule(r.schedule, steps_per_epoch, cfg.epochs, r.warmup_epochs, r.decay, r.decay_epochs))
    return opt, sched


def _distributed() -> tuple[int, int]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class ShardSampler(D.EpochSampler):
    """The (seed, epoch) shuffle, cut into one shard per process.

    Training shards are padded by wrapping so every process takes the same number of steps;
    evaluation shards (`pad=False`) are not, so no image is counted twice.
    """

    def __init__(self, n, seed, rank, world, shuffle=True, pad=True):
        super().__init__(n, seed, shuffle)
        self.rank, self.world, self.pad = rank, world, pad
        self.per_rank = math.ceil(n / world) if pad else len(range(rank, n, world))

    def __iter__(self):
        order = list(super().__iter__())
        if self.pad:
            order += order[: math.ceil(self.n / self.world) * self.world - len(order)]
        return iter(order[self.rank:: self.world])

    def __len__(self):
        return self.per_rank


def _augment_on_device(cfg: TrainConfig, device: torch.device, tf: D.Transforms) -> bool:
    if cfg.augment_on not in ("auto", "loader", "device"):
        raise ValueError(f"augment_on={cfg.augment_on!r}: choose auto, loader or device")
    if tf.autoaugment:  # AutoAugment's per-image operations run in the loader
        return False
    return cfg.augment_on == "device" or (cfg.augment_on == "auto" and device.type == "cuda")


def _check_writable(out: Path):
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise PermissionError(f"{out}: cannot write the run folder here ({e.strerror}); "
                              f"choose another --out") from None


class _StopOnSignal:
    """SIGINT/SIGTERM ask the loop to stop after the current step instead of killing it."""

    def __init__(self):
        self.signal = None

    def __enter__(self):
        self.previous = {}
        if hasattr(signal, "SIGTERM") and _in_main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self.previous[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None:  # a second signal: stop now
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name

    def __exit__(self, *exc):
        for s, h in self.previous.items():
            signal.signal(s, h)


def _in_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


# -----------------------------------------------------------------------------
# The loop


@dataclass
class Run:
    """What `fit` returns: the run folder, its history and the data it trained on."""

    out: Path
    history: list[dict]
    classes: list[str]
    folder: D.ImageFolder = field(repr=False)
    transforms: D.Transforms = field(repr=False)
    best: Path | None = None

    def history_frame(self):
        import pandas as pd
        return pd.DataFrame(self.history)


def fit(cfg: TrainConfig, *, resume: bool = False, progress: bool = True) -> Run:
    """Train as `cfg` says, writing history and checkpoints into `cfg.out`; see the module doc."""
    device = resolve_device(cfg.device)
    if device.type == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)  # before the process group, so NCCL sets up on this GPU
    rank, world = _distributed()
    out = Path(cfg.out)
    if rank == 0:
        _check_writable(out)
    ckpt = None
    if resume:
        ckpt = load_checkpoint(out / "last.pt")
        saved = {k: v for k, v in ckpt["config"].items() if k not in ("epochs", "out", "device", "workers")}
        cfg = replace(cfg, **saved, out=cfg.out, epochs=cfg.epochs)
    torch.manual_seed(cfg.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)

    folder, tf = dataset_for(cfg)
    if ckpt is not None and ckpt["classes"] != folder.classes:
        raise CheckpointError(f"{out / 'last.pt'}: trained on classes {ckpt['classes'][:5]}..., "
                              f"but {folder.root} has {folder.classes[:5]}...; resume on the same data")
    model = make_model(cfg, len(folder.classes), load_weights=ckpt is None)
    per_rank_batch = cfg.batch_size // world
    cache_limit = cfg.cache_mb * 2**20
    finished = ckpt is not None and ckpt["epoch"] + 1 >= cfg.epochs
    use_cache = cfg.cache_mb and not finished
    train_cache = D.decode_all(folder.train, tf.working_size, cache_limit, cfg.workers) if use_cache else None
    used = sum(t.numel() for t in train_cache if t is not None) if train_cache else 0
    # One budget for both caches: validation gets what training left.
    val_cache = (D.decode_all(folder.val, tf.working_size, cache_limit - used, cfg.workers)
                 if use_cache and train_cache is not None else None)
    sampler = ShardSampler(len(folder.train), cfg.seed, rank, world) if world > 1 else None
    pin = device.type == "cuda"
    on_device = _augment_on_device(cfg, device, tf)
    train_loader = D.make_loader(folder.train, tf.crop_params() if on_device else tf.train(normalise=False), batch_size=per_rank_batch, shuffle=True,
                                 seed=cfg.seed, workers=cfg.workers, cache=train_cache, sampler=sampler,
                                 working_size=tf.working_size, pin_memory=pin, drop_last=len(folder.train) > per_rank_batch)
    val_loader = D.make_loader(folder.val, tf.eval(normalise=False), batch_size=per_rank_batch * 2, workers=cfg.workers,
                               cache=val_cache, working_size=tf.working_size, pin_memory=pin,
                               sampler=ShardSampler(len(folder.val), 0, rank, world, False, pad=False) if world > 1 else None)
    steps = len(train_loader) if cfg.max_steps_per_epoch is None else min(len(train_loader), cfg.max_steps_per_epoch)

    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory_format)
    optimizer, scheduler = make_optimizer(cfg, model, steps)
    recipe = cfg.recipe_()
    ema = None
    if recipe.ema:
        ema = torch.optim.swa_utils.AveragedModel(model, avg_fn=_EmaRamp(recipe.ema), use_buffers=True)
    start, history, best_acc = 0, [], -1.0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if ema is not None and ckpt.get("ema"):
            ema.load_state_dict(ckpt["ema"])
        start, history, best_acc = ckpt["epoch"] + 1, ckpt["history"], ckpt["best_acc"]
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:  # after DDP, so the compiler sees DDP's buckets
        net = torch.compile(net)
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    bad_files: set[int] = set()
    sync_every = 10 if device.type == "cpu" else 50  # .item() waits for the device: not every step
    config = asdict(cfg)
    meta = {"arch": arch_of(model), "transforms": asdict(tf), "classes": folder.classes,
            "provenance": provenance(str(device), seed=cfg.seed, quick=cfg.quick)}
    if rank == 0:
        atomic_write_text(out / "classes.txt", "\n".join(folder.classes) + "\n")
        if folder.manifest:
            atomic_write_text(out / "split.json", Path(folder.manifest).read_text())

    with _StopOnSignal() as stop:
        for epoch in range(start, cfg.epochs):
            D.seed_epoch(train_loader, cfg.seed, epoch)
            net.train()
            if cfg.freeze_features:  # frozen means frozen: BatchNorm statistics too
                model.features.eval()
            epoch_lr = optimizer.param_groups[0]["lr"]
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            seen = torch.zeros((), device=device, dtype=torch.long)
            bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress or rank,
                       leave=False, dynamic_ncols=True)
            for step, (x, y, _, bad) in enumerate(train_loader):
                if step >= steps:
                    break
                _report_bad(bad, folder.train, bad_files)
                if not len(y):
                    continue
                x = D.to_device(x, tf, device, memory_format)
                y = y.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                    logits = net(x)
                    loss = criterion(logits, y)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                if ema is not None:
                    ema.update_parameters(model)
                loss_sum += loss.detach() * len(y)
                correct += (logits.argmax(1) == y).sum()
                seen += len(y)
                bar.update()
                if step % sync_every == 0:
                    if not torch.isfinite(loss_sum):
                        raise TrainingStopped(_diverged(out, epoch, step))
                    elapsed = time.perf_counter() - t0
                    bar.set_postfix(loss=f"{loss_sum.item() / max(1, seen.item()):.3f}",
                                    acc=f"{correct.item() / max(1, seen.item()):.3f}",
                                    img_s=f"{seen.item() * world / elapsed:.0f}")
                if _agree(stop.signal is not None, world, step % sync_every == 0):
                    raise TrainingStopped(
                        f"{stop.signal or 'stop request'} at epoch {epoch + 1} step {step + 1}: {out / 'last.pt'} holds "
                        f"the last finished epoch ({len(history)} of {cfg.epochs}); continue with --resume")
            bar.close()
            train_seconds = time.perf_counter() - t0
            stats = _all_reduce(torch.stack([loss_sum.double(), correct.double(), seen.double()]), world)
            if not math.isfinite(stats[0]):
                raise TrainingStopped(_diverged(out, epoch, steps))
            val = evaluate_loss(ema.module if ema is not None else net, val_loader, device, criterion,
                                memory_format, use_amp, amp_dtype, world, tf.normalise_batch)
            row = {"epoch": epoch + 1, "train_loss": stats[0] / stats[2], "train_acc": stats[1] / stats[2],
                   "val_loss": val[0], "val_acc": val[1], "lr": epoch_lr,
                   "seconds": train_seconds, "img_per_s": stats[2] / train_seconds, "skipped_files": len(bad_files)}
            history.append(row)
            if rank == 0:
                _save_epoch(out, model, optimizer, scheduler, ema, epoch, history, config, meta, device,
                            improved=row["val_acc"] > best_acc)
            best_acc = max(best_acc, row["val_acc"])
            if progress and rank == 0:
                tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}: train loss {row['train_loss']:.3f} "
                           f"acc {row['train_acc']:.3f} | val loss {row['val_loss']:.3f} acc {row['val_acc']:.3f} "
                           f"| {row['img_per_s']:.0f} img/s")
    if bad_files and rank == 0:
        print(f"skipped {len(bad_files)} unreadable file(s) during training")
    best = out / "best.pt" if (out / "best.pt").exists() else None
    return Run(out, history, folder.classes, folder, tf, best)


def _report_bad(bad, samples, seen: set):
    import warnings
    for i in bad:
        if i not in seen:
            seen.add(i)
            warnings.warn(f"{samples[i][0]}: not a readable image; skipped", stacklevel=3)


def _diverged(out, epoch, step):
    return (f"loss became NaN or infinite at epoch {epoch + 1} step {step + 1}; stopped. "
            f"{out / 'last.pt'} keeps the last good epoch; lower --lr or check the data")


def _agree(flag: bool, world: int, check_now: bool) -> bool:
    """One process's stop request stops all of them, at the same step (else the others hang)."""
    if world == 1:
        return flag
    if not check_now:
        return False
    t = torch.tensor([1.0 if flag else 0.0], device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


class _EmaRamp:
    """EMA with the official code's warm-up: decay min(decay, (1 + n) / (10 + n))."""

    def __init__(self, decay: float):
        self.decay = decay

    def __call__(self, averaged, current, num_averaged):
        # num_averaged lives on the device: keep d a tensor, no host synchronisation per step.
        d = torch.clamp((1 + num_averaged) / (10 + num_averaged), max=self.decay).to(averaged.dtype)
        return averaged * d + current * (1 - d)


def _all_reduce(t: torch.Tensor, world: int) -> list[float]:
    if world > 1:
        dist.all_reduce(t)
    return t.tolist()


@torch.no_grad()
def evaluate_loss(model, loader, device, criterion, memory_format, use_amp=False,
                  amp_dtype=torch.bfloat16, world=1, normalise=None) -> tuple[float, float]:
    """Mean loss and accuracy over a loader of uint8 batches (summed over processes)."""
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for x, y, _, _ in loader:
        if not len(y):
            continue
        x = normalise(x.to(device, non_blocking=True)).contiguous(memory_format=memory_format)
        y = y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
            logits = model(x)
        totals += torch.stack([criterion(logits.float(), y).double() * len(y),
                               (logits.argmax(1) == y).sum().double(), torch.tensor(len(y), device=device).double()])
    loss, correct, n = _all_reduce(totals, world)
    return loss / max(n, 1), correct / max(n, 1)


def _save_epoch(out, model, optimizer, scheduler, ema, epoch, history, config, meta, device, improved):
    import pandas as pd
    ckpt = {"format": 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "ema": ema.state_dict() if ema is not None else None,
            "epoch": epoch, "history": history, "best_acc": max(r["val_acc"] for r in history),
            "config": config, **meta, "rng": {"torch": torch.get_rng_state()}}
    if ema is not None:  # predictions use the averaged weights
        ckpt["model_for_inference"] = ema.module.state_dict()
    atomic_write_text(out / "history.csv", pd.DataFrame(history).to_csv(index=False))
    atomic_save(ckpt, out / "last.pt")
    if improved:
        atomic_save(ckpt, out / "best.pt")


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild the trained network from a checkpoint dict (inference weights, eval mode)."""
    model = from_arch(ckpt["arch"])
    model.load_state_dict(ckpt.get("model_for_inference") or ckpt["model"])
    return model.eval()


def config_key(cfg: TrainConfig) -> str:
    """A short hash of everything that changes the result (not where it is written or how fast)."""
    import hashlib
    import json
    relevant = {k: v for k, v in asdict(cfg).items() if k not in ("out", "workers", "device")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:10]


def train_or_load(cfg: TrainConfig, progress: bool = True) -> Run:
    """Train, or read back a finished run of the same config in `cfg.out` (resuming a partial one)."""
    last = Path(cfg.out) / "last.pt"
    if last.exists():
        saved = load_checkpoint(last)["config"]
        if config_key(TrainConfig(**saved)) != config_key(replace(cfg, epochs=saved["epochs"])) \
                or saved["epochs"] > cfg.epochs:
            raise CheckpointError(f"{last}: holds a run of another config; choose another out folder")
    return fit(cfg, resume=last.exists(), progress=progress)
