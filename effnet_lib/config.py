"""One run's settings: `TrainConfig`, shared by the command line, the notebooks and the sweeps,
with its validation, the rule of which settings a resume may change, its cache key, and what it
builds: the data folder with its transforms (`dataset_for`) and the network (`make_model`).

Every numeric setting is checked when the config is made (no silent defaults: width 0 is an
error, not 1.0), with the command-line option named in the message.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from torch import nn

from . import data as D
from . import transforms as T
from .checkpoint import CheckpointError
from .datasets import resolve, transform_settings
from .errors import ParameterError
from .model import VARIANTS, build_model, load_pretrained
from .recipes import RECIPES, Recipe

__all__ = ["TrainConfig", "RESUMABLE", "MIN_STEPS", "auto_batch_size", "config_key", "resume_config", "make_model",
           "dataset_for", "open_data"]

# An epoch of fewer optimiser steps than this trains a small folder into a network that predicts
# one class: BatchNorm's running statistics (momentum 0.1) barely leave their start, and in eval
# mode the signal shrinks stage by stage until every image gets the same logits.
MIN_STEPS = 10


def auto_batch_size(n_train: int, largest: int = 64, smallest: int = 8) -> int:
    """The batch size a run takes when none is given: `largest` (fastest per image on a CPU at
    64 px, benchmarks/cli_speed.md), halved while an epoch would have fewer than `MIN_STEPS` full
    batches, down to `smallest` (BatchNorm needs a few images per batch)."""
    size = largest
    while size > smallest and n_train // size < MIN_STEPS:
        size //= 2
    return size


@dataclass
class TrainConfig:
    data: str = "builtin"
    out: str = "runs/train"
    model: str | None = "b0"
    width: float | None = None
    depth: float | None = None
    image_size: int | None = None  # None: the variant's resolution (224 for custom sizes)
    epochs: int = 30
    batch_size: int | None = None  # None: `auto_batch_size` (64, less for a small folder); GPU: raise it
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
            raise ParameterError(f"`recipe={self.recipe}`: choose one of {', '.join(sorted(RECIPES))}")
        r = RECIPES[self.recipe]
        overrides = {k: getattr(self, k) for k in ("lr", "warmup_epochs", "label_smoothing", "ema", "dropout",
                                                   "stochastic_depth") if getattr(self, k) is not None}
        return replace(r, **overrides)


# (field, test, what it must be)
_RULES = (
    ("width", lambda v: v is None or v > 0, "above 0 (e.g. 0.25 for a tiny model)"),
    ("depth", lambda v: v is None or v > 0, "above 0 (e.g. 0.34)"),
    ("image_size", lambda v: v is None or v >= 1, "a positive number of pixels (e.g. 64)"),
    ("epochs", lambda v: v >= 1, "at least 1"),
    ("batch_size", lambda v: v is None or v >= 1, "at least 1"),
    ("lr", lambda v: v is None or 0 < v < math.inf, "a positive number"),
    ("warmup_epochs", lambda v: v is None or v >= 0, "0 or more"),
    ("label_smoothing", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1"),
    ("ema", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1 (0 turns it off)"),
    ("dropout", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1"),
    ("stochastic_depth", lambda v: v is None or 0 <= v < 1, "at least 0 and below 1"),
    ("val_fraction", lambda v: 0 <= v < 1, "at least 0 and below 1 (e.g. 0.2)"),
    ("workers", lambda v: v >= 0, "0 or more"),
    ("cache_mb", lambda v: v >= 0, "0 or more"),
    ("max_steps_per_epoch", lambda v: v is None or v >= 1, "at least 1"),
)


def _validate(cfg: TrainConfig):
    """Refuse a setting that cannot be meant, before anything runs (no silent defaults)."""
    for name, ok, what in _RULES:
        value = getattr(cfg, name)
        if isinstance(value, float) and math.isnan(value) or not ok(value):
            raise ParameterError(f"`{name}={value}`: must be {what}")
    if cfg.model is not None and cfg.model not in VARIANTS:
        raise ParameterError(f"`model={cfg.model}`: choose one of {', '.join(VARIANTS)} (or give `width` and `depth`)")
    if cfg.recipe not in RECIPES:
        raise ParameterError(f"`recipe={cfg.recipe}`: choose one of {', '.join(sorted(RECIPES))}")
    if cfg.augment_on not in ("auto", "loader", "device"):
        raise ParameterError(f"`augment_on={cfg.augment_on}`: choose auto, loader or device")


# Settings a resume may change: where and how fast it runs, and how far it goes.
RESUMABLE = {"epochs", "out", "device", "workers", "cache_mb", "compile", "amp", "channels_last", "augment_on",
             "quick", "data", "max_steps_per_epoch"}


def resume_config(cfg: TrainConfig, saved: dict, last: Path, given=None) -> TrainConfig:
    """`cfg` checked against the run in `last`: settings that change what is trained must agree
    (the differences are named); `RESUMABLE` ones may differ. Returns the run's config with those.
    `given` names the settings `cfg` sets (a command's options), the others being the run's own;
    None: all of them (a config written out whole)."""
    known = {f.name for f in fields(TrainConfig)}
    saved = {k: v for k, v in saved.items() if k in known}
    chosen = known if given is None else set(given)
    diff = [f"{k} {getattr(cfg, k)!r} (the run: {saved[k]!r})" for k in sorted(saved)
            if k in chosen and k not in RESUMABLE and _differs(getattr(cfg, k), saved[k])
            and not (k == "batch_size" and cfg.batch_size is None)]  # not given: the run's own
    if diff:
        raise CheckpointError(f"{last}: the run was trained with other settings: {'; '.join(diff)}; resume without "
                              f"changing them, or train a new run into another `out`")
    return replace(TrainConfig(**saved), **{k: getattr(cfg, k) for k in RESUMABLE & chosen})


def _differs(a, b) -> bool:
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return list(a or []) != list(b or [])
    return a != b


def config_key(cfg: TrainConfig) -> str:
    """A short hash of everything that changes the result (not where it is written or how fast)."""
    relevant = {k: v for k, v in asdict(cfg).items() if k not in ("out", "workers", "device")}
    relevant["recipe_values"] = asdict(RECIPES[cfg.recipe])  # a changed recipe is another config
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:10]


def make_model(cfg: TrainConfig, num_classes: int, load_weights: bool = True) -> nn.Module:
    """The network `cfg` describes, with its recipe's regularisation and initialisation."""
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


def dataset_for(cfg: TrainConfig, *, split: Path | None = None,
                write: bool = True) -> tuple[D.ImageFolder, T.Transforms]:
    """Open the data folder and choose transforms (a built-in set has its own crop settings).
    `split`: a run's own split.json (a resumed run keeps its split); `write=False` draws a new
    split without writing its manifest yet (`data.save_split` does, once a run has an epoch)."""
    size = cfg.image_size or (VARIANTS[cfg.model][2] if cfg.model in VARIANTS and cfg.width is None
                              and cfg.depth is None else 224)
    root = resolve(cfg.data)
    folder = D.open_image_folder(root, val_fraction=cfg.val_fraction, seed=cfg.seed, manifest=split, write=write)
    if len(folder.classes) < 2:
        raise D.DataError(f"{folder.root}: one class ({folder.classes[0]}); a classifier needs at least two "
                          f"class folders")
    own = transform_settings(root)
    if own is not None:  # a built-in set: its own crop settings
        tf = T.Transforms(size, **own)
    elif cfg.recipe_().eval_crop:  # the official code: crop padding round(size * (1 / fraction - 1))
        tf = T.Transforms(size, resize_ratio=(size + round(size * (1 / cfg.recipe_().eval_crop - 1))) / size)
    else:
        named = cfg.model in VARIANTS and cfg.width is None and cfg.depth is None
        tf = T.Transforms(size, resize_ratio=T.EVAL_RESIZE_RATIO[cfg.model] if named else 256 / 224)
    return folder, replace(tf, autoaugment=cfg.recipe_().autoaugment)


def open_data(cfg: TrainConfig, resumed: bool, rank: int = 0) -> tuple[D.ImageFolder, T.Transforms, TrainConfig]:
    """The data of a run about to train, and its config settled on it: a resumed run keeps its own
    split (its split.json); a new split's manifest waits for the run's first epoch; the batch size,
    when not given, comes from the training set's size (`auto_batch_size`); an `out` inside the
    data folder, where the run's files would be read as data, is refused."""
    own = Path(cfg.out) / "split.json"
    folder, tf = dataset_for(cfg, split=own if resumed and own.is_file() else None, write=False)
    if resumed and own.is_file() and folder.layout == "splits":  # its own split folders: used as they are now
        changed = D.split_changes(json.loads(own.read_text()), folder)
        if changed:
            warnings.warn(f"{folder.root}: the data changed since the run began ({changed}); the resumed run trains "
                          f"and validates on the folders as they are now", stacklevel=4)
    if Path(cfg.out).resolve().is_relative_to(folder.root.resolve()):
        raise D.DataError(f"`out={cfg.out}`: inside the data folder {folder.root}, where the run's files would be "
                          f"read as data; choose an `out` outside it")
    n = len(folder.train)
    if cfg.batch_size is None:  # recorded in the checkpoint as chosen, so a resume takes the same
        cfg = replace(cfg, batch_size=auto_batch_size(n))
    steps = n // cfg.batch_size if n > cfg.batch_size else 1  # the last partial batch is dropped
    if rank == 0 and steps < MIN_STEPS and cfg.batch_size > auto_batch_size(n):
        warnings.warn(f"{folder.root}: {n} training images in batches of {cfg.batch_size} give {steps} optimiser "
                      f"step(s) per epoch; so few steps can leave a network that predicts one class for every "
                      f"image: use `batch_size={auto_batch_size(n)}` or less", stacklevel=4)
    return folder, tf, cfg
