"""One run's settings: `TrainConfig`, a record shared by the command line, the notebooks and the
sweeps, with its validation, the rule of which settings a resume may change and its cache key.
What a config builds (its data folder, its network) is `assemble`'s.

Every numeric setting is checked when the config is made (no silent defaults: width 0 is an
error, not 1.0), with the parameter named in the message.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..errors import ParameterError
from ..model.network import VARIANTS
from .checkpoint import CheckpointError
from .recipes import RECIPES, Recipe

__all__ = ["TrainConfig", "RESUMABLE", "MIN_STEPS", "auto_batch_size", "config_key", "resume_config"]

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
        overrides = {
            k: getattr(self, k)
            for k in ("lr", "warmup_epochs", "label_smoothing", "ema", "dropout", "stochastic_depth")
            if getattr(self, k) is not None
        }
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
RESUMABLE = {
    "epochs",
    "out",
    "device",
    "workers",
    "cache_mb",
    "compile",
    "amp",
    "channels_last",
    "augment_on",
    "quick",
    "data",
    "max_steps_per_epoch",
}


def resume_config(cfg: TrainConfig, saved: dict, last: Path, given=None) -> TrainConfig:
    """`cfg` checked against the run in `last`: settings that change what is trained must agree
    (the differences are named); `RESUMABLE` ones may differ. Returns the run's config with those.
    `given` names the settings `cfg` sets (a command's options), the others being the run's own;
    None: all of them (a config written out whole)."""
    known = {f.name for f in fields(TrainConfig)}
    saved = {k: v for k, v in saved.items() if k in known}
    chosen = known if given is None else set(given)
    diff = [
        f"{k} {getattr(cfg, k)!r} (the run: {saved[k]!r})"
        for k in sorted(saved)
        if k in chosen
        and k not in RESUMABLE
        and _differs(getattr(cfg, k), saved[k])
        and not (k == "batch_size" and cfg.batch_size is None)
    ]  # not given: the run's own
    if diff:
        raise CheckpointError(
            f"{last}: the run was trained with other settings: {'; '.join(diff)}; resume without "
            f"changing them, or train a new run into another `out`"
        )
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
