"""Predictions from a trained checkpoint: for any image files, and for a labelled split.

`Predictor` rebuilds the network and its eval preprocessing from a checkpoint (through
`checkpoint`, never the training loop) and predicts images in batches; every image is predicted,
the last partial batch included, and unreadable files are reported and skipped. An evaluation
produces an `EvalResult` (`results`: true labels, probabilities, paths, class names), which is
saved as a predictions CSV (plus the probability matrix) and can be read back from such a CSV, so
results of any model can be inspected with the same tools.

Nothing here draws: the figures of an evaluation are `display.outputs.write_evaluation`'s.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..data import folders as D
from ..data import loaders as L
from ..data import transforms as T
from ..data.images import unreadable_reason
from ..data.layout import match_names
from ..errors import MissingInputError, ParameterError
from ..provenance import provenance
from ..training.checkpoint import (
    CheckpointError,
    check_finite,
    load_checkpoint,
    model_from_checkpoint,
)
from ..training.distributed import resolve_device
from .results import EvalResult, topk_table

__all__ = ["Predictor", "SPLITS", "EvaluationSet", "evaluation_samples", "seen_in_training", "expand_paths"]


class Predictor:
    """A trained network with its class names and preprocessing, ready for images on disk."""

    def __init__(
        self,
        model,
        classes,
        transforms: T.Transforms,
        device="cpu",
        config: dict | None = None,
        source: str | None = None,
    ):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.classes, self.transforms = list(classes), transforms
        self.config = config or {}  # the training config, e.g. to reopen the same split
        self.source = source  # the checkpoint it was read from, for the provenance of what it computes

    @classmethod
    def from_checkpoint(cls, path, device="auto") -> Predictor:
        ckpt = load_checkpoint(path)
        missing = sorted({"arch", "classes", "transforms"} - set(ckpt))
        if missing:
            raise CheckpointError(
                f"{path}: lacks {', '.join(missing)}, so it cannot predict; use the best.pt or "
                f"last.pt of a run of this library"
            )
        check_finite(ckpt, path)
        tf = ckpt["transforms"]
        tf = T.Transforms(
            **{**tf, "crop_scale": tuple(tf["crop_scale"]), "mean": tuple(tf["mean"]), "std": tuple(tf["std"])}
        )
        return cls(
            model_from_checkpoint(ckpt),
            ckpt["classes"],
            tf,
            resolve_device(device),
            ckpt["config"],
            source=str(Path(path).resolve()),
        )

    @torch.no_grad()
    def probabilities(self, samples, batch_size=64, workers=0, features: bool = False, progress: bool = False):
        """Softmax probabilities for (path, label) samples; returns (probs, kept indices, bad indices),
        and with `features` also the pooled features the classifier saw (same pass, no second one)."""
        loader = L.make_loader(
            samples,
            self.transforms.eval(normalise=False),
            batch_size=batch_size,
            working_size=self.transforms.working_size,
            workers=workers,
        )
        probs, feats, kept, bad = [], [], [], []
        for x, _, idx, bad_idx in tqdm(
            loader, desc="predicting", unit="batch", leave=False, disable=not progress or len(loader) < 2
        ):
            bad += bad_idx
            if len(idx):
                x = self.transforms.normalise_batch(x.to(self.device)).contiguous(memory_format=torch.channels_last)
                pooled = self.model.forward_features(x)
                probs.append(torch.softmax(self.model.classifier(pooled).float(), 1).cpu())
                if features:
                    feats.append(pooled.float().cpu())
                kept.append(idx)
        for i in bad:
            warnings.warn(f"{samples[i][0]}: {unreadable_reason(samples[i][0])}; skipped", stacklevel=2)
        if not probs:
            empty = np.zeros((0, len(self.classes)), np.float32), np.zeros(0, int), bad
            return (*empty, np.zeros((0, 0), np.float32)) if features else empty
        out = torch.cat(probs).numpy(), torch.cat(kept).numpy(), bad
        return (*out, torch.cat(feats).numpy()) if features else out

    def predict(self, paths, topk=5, batch_size=64, progress: bool = False) -> tuple[pd.DataFrame, list[str]]:
        """Top-k classes and probabilities per image. `paths` may name files or folders."""
        files = expand_paths(paths)
        probs, kept, bad = self.probabilities([(str(f), -1) for f in files], batch_size, progress=progress)
        table = topk_table([str(files[i]) for i in kept], probs, self.classes, topk)
        return table, [str(files[i]) for i in bad]

    def evaluate(self, samples, batch_size=64, workers=0, progress: bool = False) -> EvalResult:
        """Predictions and pooled features of every readable sample (unreadable ones are reported)."""
        probs, kept, bad, feats = self.probabilities(samples, batch_size, workers, features=True, progress=progress)
        made = {"checkpoint": self.source, "images": len(kept), "unreadable": len(bad), **provenance(str(self.device))}
        return EvalResult(
            self.classes,
            [samples[i][0] for i in kept],
            np.array([samples[i][1] for i in kept], dtype=int),
            probs,
            feats,
            made,
        )


SPLITS = ("train", "val", "test", "all")


def seen_in_training(config: dict, samples) -> list[str]:
    """The images among `samples` that the run of `config` trained on (compared by real path):
    their accuracy is not a test accuracy. Empty when the run's data folder is gone."""
    from ..data.datasets import resolve

    try:
        folder = D.open_image_folder(
            resolve(config["data"]),
            val_fraction=config.get("val_fraction", 0.2),
            seed=config.get("seed", 0),
            write=False,
        )
    except (OSError, ValueError, KeyError):
        return []
    trained = {os.path.realpath(p) for p, _ in folder.train}
    return [p for p, _ in samples if os.path.realpath(p) in trained]


@dataclass(frozen=True)
class EvaluationSet:
    """The images `evaluate` scores, labelled with the model's class indices, and where they are from."""

    samples: list  # (path, class index) pairs
    root: Path
    split: str  # train, val, test, or all
    own_split: bool  # whether the folder has a split of its own (split folders, or a run's manifest)

    @property
    def what(self) -> str:
        if self.split != "all":
            return f"the {self.split} split of {self.root}"
        return f"every image of {self.root}" + ("" if self.own_split else " (a folder without a split of its own)")


def evaluation_samples(
    data, classes: list[str], split: str | None = None, *, val_fraction: float = 0.2, seed: int = 0
) -> EvaluationSet:
    """The images `evaluate` scores and where they are from, labelled with the model's class indices.

    - A folder with splits of its own (``train/`` beside ``val/`` or ``test/``): `split`, by
      default ``test`` if there is one, else ``val``.
    - A folder that a training run split (its manifest is there): the same split, ``val`` by default.
    - Any other folder of class subfolders (a held-out test set): every image (``all``).

    Nothing is written into the data folder. The folder may lack some of the model's classes
    (their rows stay empty); a class the model does not know is refused by name.
    """
    from ..data.datasets import resolve

    root = resolve(data)
    if split is not None and split not in SPLITS:
        raise ParameterError(f"`split={split}`: choose one of {', '.join(SPLITS)}")
    own_split = D.has_split(root, val_fraction, seed)
    if own_split:
        folder = D.open_image_folder(root, val_fraction=val_fraction, seed=seed, write=False)
        split = split or ("test" if folder.test else "val")
        samples = folder.train + folder.val + folder.test if split == "all" else folder.split(split)
        names = folder.classes
    else:
        names, samples = D.labelled_images(root)
        if split not in (None, "all"):
            folder = D.open_image_folder(root, val_fraction=val_fraction, seed=seed, write=False)
            samples = folder.split(split)
        split = split or "all"
    if not samples:
        raise D.DataError(f"{root}: the {split} split holds no images; choose another `split`")
    index = {c: i for i, c in enumerate(classes)}
    matched, unknown, loose = match_names(classes, names)  # as a person reads the names
    if unknown:
        raise D.DataError(
            f"{root}: class folder(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} are "
            f"not among the {len(classes)} classes the model was trained on; evaluate on those classes"
        )
    if loose:
        warnings.warn(
            f"{root}: {len(loose)} class folder(s) matched to the model's classes except for case, spaces "
            f"or Unicode form: {'; '.join(f'{a!r} as {b!r}' for a, b in loose[:3])}",
            stacklevel=2,
        )
    return EvaluationSet([(p, index[matched[names[y]]]) for p, y in samples], root, split, own_split)


def expand_paths(paths) -> list[Path]:
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += D.list_images(p)
        elif p.exists():
            files.append(p)
        else:
            raise MissingInputError(f"{p}: no such file or folder; pass image files or folders")
    if not files:
        instead = "; ".join(f"{p}: {D.other_files(p)}" for p in map(Path, paths) if p.is_dir() and D.other_files(p))
        raise D.DataError(
            f"no image file in {', '.join(map(str, paths))}"
            + (f" ({instead})" if instead else "; pass image files or folders")
        )
    return files
