"""What a `TrainConfig` builds: the data folder it names, with its transforms (`dataset_for`, and
`open_data` for a run about to train), and the network it describes (`make_model`).

`config` holds the record and its rules; this module turns a record into things, so that a
config can be made, checked, compared and cached without opening a folder or building a network.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

from torch import nn

from ..data import folders as D
from ..data import transforms as T
from ..data.datasets import resolve, transform_settings
from ..model.network import VARIANTS
from ..model.variants import build_model, load_pretrained
from .config import MIN_STEPS, TrainConfig, auto_batch_size

__all__ = ["make_model", "dataset_for", "open_data"]


def make_model(cfg: TrainConfig, num_classes: int, load_weights: bool = True) -> nn.Module:
    """The network `cfg` describes, with its recipe's regularisation and initialisation."""
    r = cfg.recipe_()
    kwargs = dict(
        num_classes=num_classes,
        stochastic_depth_prob=r.stochastic_depth,
        bn=r.bn,
        zero_init_residual=r.zero_init_residual,
        init=r.init,
    )
    if r.dropout is not None:
        kwargs["dropout"] = r.dropout
    model = build_model(cfg.model, width=cfg.width, depth=cfg.depth, **kwargs)
    if cfg.pretrained and load_weights:  # a resumed run takes its weights from the checkpoint
        load_pretrained(model, cfg.pretrained)
    if cfg.freeze_features:
        for p in model.features.parameters():
            p.requires_grad_(False)
    return model


def dataset_for(
    cfg: TrainConfig, *, split: Path | None = None, write: bool = True
) -> tuple[D.ImageFolder, T.Transforms]:
    """Open the data folder and choose transforms (a built-in set has its own crop settings).
    `split`: a run's own split.json (a resumed run keeps its split); `write=False` draws a new
    split without writing its manifest yet (`folders.save_split` does, once a run has an epoch)."""
    size = cfg.image_size or (
        VARIANTS[cfg.model][2] if cfg.model in VARIANTS and cfg.width is None and cfg.depth is None else 224
    )
    root = resolve(cfg.data)
    folder = D.open_image_folder(root, val_fraction=cfg.val_fraction, seed=cfg.seed, manifest=split, write=write)
    if len(folder.classes) < 2:
        raise D.DataError(
            f"{folder.root}: one class ({folder.classes[0]}); a classifier needs at least two class folders"
        )
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
            warnings.warn(
                f"{folder.root}: the data changed since the run began ({changed}); the resumed run trains "
                f"and validates on the folders as they are now",
                stacklevel=4,
            )
    if Path(cfg.out).resolve().is_relative_to(folder.root.resolve()):
        raise D.DataError(
            f"`out={cfg.out}`: inside the data folder {folder.root}, where the run's files would be "
            f"read as data; choose an `out` outside it"
        )
    n = len(folder.train)
    if cfg.batch_size is None:  # recorded in the checkpoint as chosen, so a resume takes the same
        cfg = replace(cfg, batch_size=auto_batch_size(n))
    steps = n // cfg.batch_size if n > cfg.batch_size else 1  # the last partial batch is dropped
    if rank == 0 and steps < MIN_STEPS and cfg.batch_size > auto_batch_size(n):
        warnings.warn(
            f"{folder.root}: {n} training images in batches of {cfg.batch_size} give {steps} optimiser "
            f"step(s) per epoch; so few steps can leave a network that predicts one class for every "
            f"image: use `batch_size={auto_batch_size(n)}` or less",
            stacklevel=4,
        )
    return folder, tf, cfg
