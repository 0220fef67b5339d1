"""Training: a named recipe, a folder of images, a run folder with history and checkpoints.

Recipes (`RECIPES`):
- ``seed``: the practitioner's experiment this workbook reproduces. SGD lr 0.01, momentum 0.9,
  weight decay 1e-4, cosine annealing over the epochs (stepped once per epoch, as
  ``CosineAnnealingLR``), cross-entropy, dropout 0.2, BatchNorm eps 1e-3 momentum 0.1.
- ``paper``: the EfficientNet paper on ImageNet, as its official TensorFlow code runs it
  (tensorflow/tpu, models/official/efficientnet; `PAPER_SOURCES` names the source of each value).
  TensorFlow's RMSProp (decay 0.9, momentum 0.9, eps 1e-3 inside the square root; `optim.RMSpropTF`,
  which says why PyTorch's RMSprop is another optimizer), lr 0.016 per 256 images (0.256 per 4096)
  scaled linearly to the batch used, 5 warm-up epochs, x0.97 every 2.4 epochs, L2 weight decay
  1e-5 on every weight but BatchNorm's, label smoothing 0.1, BatchNorm momentum 0.01 (TF's 0.99)
  and eps 1e-3, stochastic depth 0.2 rising linearly by block (survival 0.8 at the last), the
  variant's dropout (0.2 for B0 to 0.5 for B7), AutoAugment (ImageNet policy), a weight EMA of
  0.9999 with the official ramp min(0.9999, (1 + n) / (10 + n)) at update n, and evaluation on a
  centre crop of 87.5% (bicubic).
- ``short``: short CPU budgets, the scaling study's recipe (see `RECIPES`).

Everything a run makes goes into its folder: ``history.csv`` (one row per epoch), ``last.pt``
(every epoch) and ``best.pt`` (best validation accuracy), written atomically. A checkpoint holds
model, optimizer, scheduler, EMA, epoch, history, class names and the full config, so ``resume``
continues exactly: each epoch's shuffle and augmentation depend only on (seed, epoch).

Runs under ``torchrun`` use DistributedDataParallel: each process trains on its shard, metrics are
all-reduced, and only rank 0 writes files.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from . import data as D
from . import datasets
from .io import CheckpointError, atomic_save, atomic_write_text, load_checkpoint, provenance
from .model import VARIANTS, arch_of, build_model, from_arch, load_pretrained
from .optim import RMSpropTF


@dataclass(frozen=True)
class Recipe:
    optimizer: str  # "sgd" | "rmsprop_tf"
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
    zero_init_residual: bool = False  # residual blocks start as the identity (see model.EfficientNet)
    init: str = "torchvision"  # or "official": depthwise fan-out per group, as the TF code
    decay_batchnorm: bool = True  # False: no weight decay on BatchNorm's weights and biases
    eval_crop: float | None = None  # centre-crop fraction at evaluation; None: torchvision's per variant


RECIPES = {
    "seed": Recipe("sgd", 0.01, 1e-4, "cosine", "seed"),
    # Short CPU budgets (the scaling study): a higher rate after a one-epoch warm-up, no dropout or
    # stochastic depth (tiny networks underfit in a few epochs), residual blocks that start as the
    # identity so that extra depth does not start behind, and the official code's depthwise
    # initialisation so that one learning rate suits every width (data/results/REGIME.md).
    "short": Recipe("sgd", 0.05, 1e-4, "cosine", "seed", warmup_epochs=1, dropout=0.0, stochastic_depth=0.0,
                    zero_init_residual=True, init="official"),
    "paper": Recipe("rmsprop_tf", 0.256, 1e-5, "step", "tf", lr_batch=4096, dropout=None, autoaugment=True,
                    warmup_epochs=5, ema=0.9999, label_smoothing=0.1, decay_batchnorm=False, eval_crop=0.875),
}


# Where each value of the paper recipe comes from. "main.py" and "utils.py" are the official code's
# files (tensorflow/tpu, models/official/efficientnet/), "builder" its efficientnet_builder.py.
PAPER_SOURCES = {
    "optimizer": ("TF RMSProp, decay 0.9, momentum 0.9, eps 1e-3", "paper sec. 5.2; utils.py build_optimizer"),
    "learning rate": ("0.016 per 256 images = 0.256 per 4096", "main.py --base_learning_rate, scaled by batch / 256"),
    "warm-up": ("5 epochs, linear", "main.py --lr_warmup_epochs; utils.py build_learning_rate"),
    "decay": ("x0.97 every 2.4 epochs (staircase)", "paper sec. 5.2; main.py --lr_decay_factor, --lr_decay_epoch"),
    "weight decay": ("1e-5 L2, all weights but BatchNorm's", "paper sec. 5.2; main.py --weight_decay and the "
                     "'batch_normalization' filter of the loss"),
    "label smoothing": ("0.1", "main.py --label_smoothing"),
    "BatchNorm": ("momentum 0.99 (PyTorch 0.01), eps 1e-3", "paper sec. 5.2; builder efficientnet()"),
    "dropout": ("0.2 (B0) rising to 0.5 (B7)", "paper sec. 5.2; builder efficientnet_params"),
    "stochastic depth": ("survival 0.8 at the last block, linear in the block index", "paper sec. 5.2; builder "
                         "survival_prob=0.8; efficientnet_model.py"),
    "AutoAugment": ("ImageNet policy", "paper sec. 5.2; main.py --augment_name=autoaugment"),
    "weight EMA": ("0.9999, decay min(0.9999, (1 + n) / (10 + n))", "main.py --moving_average_decay, "
                   "tf.train.ExponentialMovingAverage(num_updates=global_step)"),
    "evaluation crop": ("centre 87.5%, bicubic", "preprocessing.py CROP_FRACTION = 0.875, resize_bicubic"),
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

    def __post_init__(self):
        _validate(self)

    def recipe_(self) -> Recipe:
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; choose one of {sorted(RECIPES)}")
        r = RECIPES[self.recipe]
        overrides = {k: getattr(self, k) for k in ("lr", "warmup_epochs", "label_smoothing", "ema", "dropout",
                                                   "stochastic_depth") if getattr(self, k) is not None}
        return replace(r, **overrides)


# (field, the command-line option, test, what it must be)
_RULES = (
    ("width", "--width", lambda v: v is None or v > 0, "above 0 (e.g. 0.25 for a tiny model)"),
    ("depth", "--depth", lambda v: v is None or v > 0, "above 0 (e.g. 0.34)"),
    ("image_size", "--image-size", lambda v: v is None or v >= 1, "a positive number of pixels (e.g. 64)"),
    ("epochs", "--epochs", lambda v: v >= 1, "at least 1"),
    ("batch_size", "--batch-size", lambda v: v >= 1, "at least 1"),
    ("lr", "--lr", lambda v: v is None or 0 < v < math.inf, "a positive number"),
    ("warmup_epochs", "--warmup-epochs", lambda v: v is None or v >= 0, "0 or more"),
    ("label_smoothing", "--label-smoothing", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1"),
    ("ema", "--ema", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1 (0 turns it off)"),
    ("dropout", "--dropout", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1"),
    ("stochastic_depth", "--stochastic-depth", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1"),
    ("val_fraction", "--val-fraction", lambda v: 0 <= v < 1, "at least 0 and below 1 (e.g. 0.2)"),
    ("workers", "--workers", lambda v: v >= 0, "0 or more"),
    ("cache_mb", "--cache-mb", lambda v: v >= 0, "0 or more"),
    ("max_steps_per_epoch", "--max-steps-per-epoch", lambda v: v is None or v >= 1, "at least 1"),
)


def _validate(cfg: "TrainConfig"):
    """Refuse a setting that cannot be meant, before anything runs (no silent defaults)."""
    for name, option, ok, what in _RULES:
        value = getattr(cfg, name)
        if isinstance(value, float) and math.isnan(value) or not ok(value):
            raise ValueError(f"{option} {value}: must be {what}")
    if cfg.model is not None and cfg.model not in VARIANTS:
        raise ValueError(f"--model {cfg.model}: choose one of {', '.join(VARIANTS)} (or give --width/--depth)")
    if cfg.recipe not in RECIPES:
        raise ValueError(f"--recipe {cfg.recipe}: choose one of {', '.join(sorted(RECIPES))}")


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
    root = datasets.resolve(cfg.data)
    folder = D.open_image_folder(root, val_fraction=cfg.val_fraction, seed=cfg.seed)
    if len(folder.classes) < 2:
        raise D.DataError(f"{folder.root}: one class ({folder.classes[0]}); a classifier needs at least two "
                          f"class folders")
    own = datasets.transform_settings(root)
    if own is not None:  # a built-in set: its own crop settings
        tf = D.Transforms(size, **own)
    elif cfg.recipe_().eval_crop:  # the official code: crop padding round(size * (1 / fraction - 1))
        tf = D.Transforms(size, resize_ratio=(size + round(size * (1 / cfg.recipe_().eval_crop - 1))) / size)
    else:
        named = cfg.model in VARIANTS and cfg.width is None and cfg.depth is None
        tf = D.Transforms(size, resize_ratio=D.EVAL_RESIZE_RATIO[cfg.model] if named else 256 / 224)
    return folder, replace(tf, autoaugment=cfg.recipe_().autoaugment)


def make_model(cfg: TrainConfig, num_classes: int, load_weights: bool = True) -> nn.Module:
    r = cfg.recipe_()
    kwargs = dict(num_classes=num_classes, stochastic_depth_prob=r.stochastic_depth, bn=r.bn,
                  zero_init_residual=r.zero_init_residual, init=r.init)
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
    params = _decay_groups(model, r.weight_decay, r.decay_batchnorm)
    if r.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=r.momentum, foreach=True)  # one kernel per op (CPU too)
    elif r.optimizer == "rmsprop_tf":
        opt = RMSpropTF(params, lr=lr, decay=0.9, momentum=r.momentum, eps=1e-3)
    else:
        raise ValueError(f"recipe optimizer {r.optimizer!r}: choose sgd or rmsprop_tf")
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, Schedule(r.schedule, steps_per_epoch, cfg.epochs, r.warmup_epochs, r.decay, r.decay_epochs))
    return opt, sched


def _decay_groups(model: nn.Module, weight_decay: float, decay_batchnorm: bool) -> list[dict]:
    """Parameter groups with and without weight decay; BatchNorm's own parameters go without it
    when `decay_batchnorm` is False (the official code leaves out every 'batch_normalization'
    variable and decays all others, biases included)."""
    bn = {id(p) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
          for p in m.parameters(recurse=False)}
    trainable = [p for p in model.parameters() if p.requires_grad]
    if decay_batchnorm:
        return [{"params": trainable, "weight_decay": weight_decay}]
    return [{"params": [p for p in trainable if id(p) not in bn], "weight_decay": weight_decay},
            {"params": [p for p in trainable if id(p) in bn], "weight_decay": 0.0}]


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


# What a run folder holds; a fresh run replaces these (see `fit`), and resume reads last.pt.
RUN_FILES = ("last.pt", "best.pt", "history.csv", "classes.txt", "split.json")
RUN_OUTPUTS = ("eval-val", "eval-test", "batch_test.csv", "batch_test.png", "demo.json")
# Settings a resume may change: where and how fast it runs, and how far it goes.
RESUMABLE = {"epochs", "out", "device", "workers", "cache_mb", "compile", "amp", "channels_last", "augment_on",
             "quick", "data", "max_steps_per_epoch"}


class RunExistsError(FileExistsError):
    """A fresh run was asked for in a folder that already holds one."""


def fit(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, progress: bool = True) -> Run:
    """Train as `cfg` says, writing history and checkpoints into `cfg.out`; see the module doc.

    A folder that holds a run is refused unless `resume` (continue it to `cfg.epochs`) or
    `overwrite` (replace it: the old files go only once the new run has saved its first epoch).
    A run that fails leaves its folder as it was (an empty folder it made is removed again)."""
    out = Path(cfg.out)
    made = not out.exists()
    try:
        return _fit(cfg, resume, overwrite, progress)
    except BaseException:
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def _check_folder(out: Path, resume: bool, overwrite: bool) -> list[Path]:
    """Clean what an interrupted save left; refuse to train over a run; list what a new run replaces."""
    for name in RUN_FILES:  # a kill during an atomic write leaves its hidden temporary file
        for tmp in out.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    existing = [out / n for n in RUN_FILES + RUN_OUTPUTS if (out / n).exists()]
    held = [p for p in existing if p.name in ("last.pt", "best.pt", "history.csv")]
    if resume and not (out / "last.pt").exists():
        raise CheckpointError(f"{out / 'last.pt'}: no run to resume here; start one without --resume")
    if held and not resume and not overwrite:
        raise RunExistsError(f"{out}: holds a run ({', '.join(p.name for p in held)}); continue it with --resume, "
                             f"replace it with --overwrite, or choose another --out")
    return [] if resume else existing


def resume_config(cfg: TrainConfig, saved: dict, last: Path) -> TrainConfig:
    """`cfg` checked against the run in `last`: settings that change what is trained must agree
    (the differences are named); `RESUMABLE` ones may differ. Returns the run's config with those."""
    known = {f.name for f in fields(TrainConfig)}
    saved = {k: v for k, v in saved.items() if k in known}
    diff = [f"{k} {getattr(cfg, k)!r} (the run: {saved[k]!r})" for k in sorted(saved)
            if k not in RESUMABLE and _differs(getattr(cfg, k), saved[k])]
    if diff:
        raise CheckpointError(f"{last}: the run was trained with other settings: {'; '.join(diff)}; resume without "
                              f"changing them, or train a new run into another --out")
    return replace(TrainConfig(**saved), **{k: getattr(cfg, k) for k in RESUMABLE})


def _differs(a, b) -> bool:
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return list(a or []) != list(b or [])
    return a != b


def _fit(cfg: TrainConfig, resume: bool, overwrite: bool, progress: bool) -> Run:
    device = resolve_device(cfg.device)
    if device.type == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)  # before the process group, so NCCL sets up on this GPU
    rank, world = _distributed()
    out = Path(cfg.out)
    stale: list[Path] = []
    if rank == 0:
        stale = _check_folder(out, resume, overwrite)
        _check_writable(out)
    ckpt = None
    if resume:
        ckpt = load_checkpoint(out / "last.pt")
        cfg = resume_config(cfg, ckpt["config"], out / "last.pt")
        if cfg.epochs < len(ckpt["history"]):
            raise ValueError(f"{out / 'last.pt'}: the run has already trained {len(ckpt['history'])} epochs; "
                             f"--epochs {cfg.epochs} would undo them (give {len(ckpt['history'])} or more)")
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
    if train_cache is not None:
        _check_decoded(folder, train_cache, val_cache)
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
        _load_schedule(scheduler, ckpt["scheduler"], steps, cfg)
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
    lr_now = scheduler.base_lrs[0]  # the run's rate before warm-up and decay, as --lr gives it

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
                        raise TrainingStopped(_diverged(out, epoch, history, lr_now, f"step {step + 1}"))
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
            if stats[2] == 0:
                raise D.DataError(f"{folder.root}: no training image of this epoch could be read "
                                  f"({len(bad_files)} unreadable); check the files")
            if not math.isfinite(stats[0]):
                raise TrainingStopped(_diverged(out, epoch, history, lr_now, "training"))
            val = evaluate_loss(ema.module if ema is not None else net, val_loader, device, criterion,
                                memory_format, use_amp, amp_dtype, world, tf.normalise_batch)
            if not math.isfinite(val[0]) or not _finite(model):
                raise TrainingStopped(_diverged(out, epoch, history, lr_now, "validation"))
            row = {"epoch": epoch + 1, "train_loss": stats[0] / stats[2], "train_acc": stats[1] / stats[2],
                   "val_loss": val[0], "val_acc": val[1], "lr": epoch_lr,
                   "seconds": train_seconds, "img_per_s": stats[2] / train_seconds, "skipped_files": len(bad_files)}
            history.append(row)
            if rank == 0:
                if epoch == start and ckpt is None:  # a fresh run: its own class list and split
                    atomic_write_text(out / "classes.txt", "\n".join(folder.classes) + "\n")
                    if folder.manifest:
                        atomic_write_text(out / "split.json", Path(folder.manifest).read_text())
                _save_epoch(out, model, optimizer, scheduler, ema, epoch, history, config, meta, device,
                            improved=row["val_acc"] > best_acc)
                # An overwritten run's leftovers go once the new run has its first epoch on disk.
                rewritten = {"last.pt", "best.pt", "history.csv", "classes.txt"} | ({"split.json"} if folder.manifest else set())
                _remove([p for p in stale if p.name not in rewritten])
                stale = []
            best_acc = max(best_acc, row["val_acc"])
            if progress and rank == 0:
                tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}: train loss {row['train_loss']:.3f} "
                           f"acc {row['train_acc']:.3f} | val loss {row['val_loss']:.3f} acc {row['val_acc']:.3f} "
                           f"| {row['img_per_s']:.0f} img/s")
    if bad_files and rank == 0:
        print(f"skipped {len(bad_files)} unreadable file(s) during training")
    best = out / "best.pt" if (out / "best.pt").exists() else None
    return Run(out, history, folder.classes, folder, tf, best)


def _remove(paths: list[Path]):
    import shutil
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _load_schedule(scheduler, state: dict, steps: int, cfg: TrainConfig):
    """The scheduler's position from a checkpoint, with the schedule of *this* run's plan.

    LambdaLR saves its Schedule's fields (the old horizon among them): put today's back, so a
    longer --epochs recomputes the cosine for the new number of epochs, and set the rate of the
    next step from it."""
    fresh = copy.copy(scheduler.lr_lambdas[0])  # load_state_dict writes into the object it holds
    scheduler.load_state_dict(state)
    scheduler.lr_lambdas[0] = fresh
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = base * fresh(scheduler.last_epoch)


def _finite(model: nn.Module) -> bool:
    return bool(torch.stack([torch.isfinite(t).all() for t in model.state_dict().values()
                             if t.is_floating_point()]).all())


def _check_decoded(folder: D.ImageFolder, train_cache, val_cache):
    import warnings
    if all(t is None for t in train_cache):
        raise D.DataError(f"{folder.root}: none of the {len(train_cache)} training images could be read "
                          f"(first: {D.unreadable_reason(folder.train[0][0])}); check the files")
    samples, cache = folder.train + folder.val, train_cache + (val_cache or [None] * len(folder.val))
    pairs = D.same_image_in_two_classes(samples, cache, folder.classes)
    if pairs:
        warnings.warn(f"{len(pairs)} image(s) are filed under two classes, e.g. {pairs[0][0]} and {pairs[0][1]}; "
                      f"remove the wrong copy", stacklevel=3)


def _report_bad(bad, samples, seen: set):
    import warnings
    for i in bad:
        if i not in seen:
            seen.add(i)
            warnings.warn(f"{samples[i][0]}: {D.unreadable_reason(samples[i][0])}; skipped", stacklevel=3)


def _diverged(out, epoch, history, lr, where):
    kept = (f"{out / 'last.pt'} holds epoch {history[-1]['epoch']}, the last with finite weights" if history
            else "no checkpoint was written")
    return (f"loss became NaN or infinite in epoch {epoch + 1} ({where}); stopped without saving it. {kept}; "
            f"try a lower --lr (this run: {lr:g}) or check the data")


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
    relevant["recipe_values"] = asdict(RECIPES[cfg.recipe])  # a changed recipe is another config
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
