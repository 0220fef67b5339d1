"""Predictions from a trained checkpoint: for any image files, and for a labelled split.

`Predictor` rebuilds the network and its eval preprocessing from a checkpoint (through
`checkpoint`, never the training loop) and predicts images in batches; every image is predicted,
the last partial batch included, and unreadable files are reported and skipped. `EvalResult` is
what an evaluation produces (true labels, probabilities, paths, class names); it is saved as a
predictions CSV (plus the probability matrix) and can be read back from such a CSV, so results of
any model can be inspected with the same tools.
Nothing here draws: the figures of an evaluation are `display.outputs.write_evaluation`'s.
"""

from __future__ import annotations

import io
import json
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
from ..data.layout import match_names
from ..errors import InputError, MissingInputError, ParameterError
from ..files import atomic_write_bytes, atomic_write_text
from ..provenance import provenance
from ..training.checkpoint import (
    CheckpointError,
    check_finite,
    load_checkpoint,
    model_from_checkpoint,
)
from ..training.distributed import resolve_device
from .metrics import Report, report

__all__ = ["Predictor", "SPLITS", "EvaluationSet", "evaluation_samples", "seen_in_training", "expand_paths",
           "topk_table", "EvalResult"]


class Predictor:
    """A trained network with its class names and preprocessing, ready for images on disk."""

    def __init__(self, model, classes, transforms: T.Transforms, device="cpu", config: dict | None = None,
                 source: str | None = None):
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
            raise CheckpointError(f"{path}: lacks {', '.join(missing)}, so it cannot predict; use the best.pt or "
                                  f"last.pt of a run of this library")
        check_finite(ckpt, path)
        tf = ckpt["transforms"]
        tf = T.Transforms(**{**tf, "crop_scale": tuple(tf["crop_scale"]), "mean": tuple(tf["mean"]),
                             "std": tuple(tf["std"])})
        return cls(model_from_checkpoint(ckpt), ckpt["classes"], tf, resolve_device(device), ckpt["config"],
                   source=str(Path(path).resolve()))

    @torch.no_grad()
    def probabilities(self, samples, batch_size=64, workers=0, features: bool = False, progress: bool = False):
        """Softmax probabilities for (path, label) samples; returns (probs, kept indices, bad indices),
        and with `features` also the pooled features the classifier saw (same pass, no second one)."""
        loader = L.make_loader(samples, self.transforms.eval(normalise=False), batch_size=batch_size,
                               working_size=self.transforms.working_size, workers=workers)
        probs, feats, kept, bad = [], [], [], []
        for x, _, idx, bad_idx in tqdm(loader, desc="predicting", unit="batch", leave=False,
                                       disable=not progress or len(loader) < 2):
            bad += bad_idx
            if len(idx):
                x = self.transforms.normalise_batch(x.to(self.device)).contiguous(memory_format=torch.channels_last)
                pooled = self.model.forward_features(x)
                probs.append(torch.softmax(self.model.classifier(pooled).float(), 1).cpu())
                if features:
                    feats.append(pooled.float().cpu())
                kept.append(idx)
        for i in bad:
            warnings.warn(f"{samples[i][0]}: {D.unreadable_reason(samples[i][0])}; skipped", stacklevel=2)
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
        made = {"checkpoint": self.source, "images": len(kept), "unreadable": len(bad),
                **provenance(str(self.device))}
        return EvalResult(self.classes, [samples[i][0] for i in kept],
                          np.array([samples[i][1] for i in kept], dtype=int), probs, feats, made)


SPLITS = ("train", "val", "test", "all")


def seen_in_training(config: dict, samples) -> list[str]:
    """The images among `samples` that the run of `config` trained on (compared by real path):
    their accuracy is not a test accuracy. Empty when the run's data folder is gone."""
    from ..data.datasets import resolve
    try:
        folder = D.open_image_folder(resolve(config["data"]), val_fraction=config.get("val_fraction", 0.2),
                                     seed=config.get("seed", 0), write=False)
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


def evaluation_samples(data, classes: list[str], split: str | None = None, *, val_fraction: float = 0.2,
                       seed: int = 0) -> EvaluationSet:
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
        raise D.DataError(f"{root}: class folder(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} are "
                          f"not among the {len(classes)} classes the model was trained on; evaluate on those classes")
    if loose:
        warnings.warn(f"{root}: {len(loose)} class folder(s) matched to the model's classes except for case, spaces "
                      f"or Unicode form: {'; '.join(f'{a!r} as {b!r}' for a, b in loose[:3])}", stacklevel=2)
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
        raise D.DataError(f"no image file in {', '.join(map(str, paths))}" + (f" ({instead})" if instead else
                                                                                "; pass image files or folders"))
    return files


def topk_table(paths, probs, classes, k=5) -> pd.DataFrame:
    k = min(k, len(classes))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    table = {"path": list(paths)}
    for j in range(k):
        table[f"pred_{j + 1}"] = [classes[i] for i in order[:, j]]
        table[f"prob_{j + 1}"] = np.take_along_axis(probs, order[:, j:j + 1], 1)[:, 0].round(6)
    return pd.DataFrame(table)


@dataclass
class EvalResult:
    """Predictions on a labelled split: the input to metrics, plots and the explorer."""

    classes: list[str]
    paths: list[str]
    y_true: np.ndarray
    probs: np.ndarray  # n x classes; for results read from a CSV only the top-k are known
    features: np.ndarray | None = None  # n x d pooled features (the penultimate layer), when known
    made: dict | None = None  # how it was made (checkpoint, commit, device, date), when known

    @property
    def y_pred(self) -> np.ndarray:
        return self.probs.argmax(1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probs.max(1)

    def report(self, k=5) -> Report:
        return report(self.y_true, self.y_pred, self.classes, self.probs, k)

    def table(self, k=5) -> pd.DataFrame:
        t = topk_table(self.paths, self.probs, self.classes, k)
        t.insert(1, "true", [self.classes[i] for i in self.y_true])
        return t

    def save(self, out_dir) -> Path:
        """predictions.csv, probabilities.npy, features.npy (float16), classes.json, paths.json
        (the image of each row of the arrays, so they are read back by path, not by position) and
        provenance.json (how the predictions were made, when known)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "paths.json").unlink(missing_ok=True)  # arrays without their key are never read as keyed
        (out / "provenance.json").unlink(missing_ok=True)  # nor an earlier evaluation's record as theirs
        _save_array(out / "probabilities.npy", self.probs.astype(np.float32))
        if self.features is not None:
            _save_array(out / "features.npy", self.features.astype(np.float16))
        else:
            (out / "features.npy").unlink(missing_ok=True)
        atomic_write_text(out / "classes.json", json.dumps(self.classes))
        atomic_write_text(out / "paths.json", json.dumps(list(map(str, self.paths))))
        atomic_write_text(out / "predictions.csv", self.table().to_csv(index=False))
        if self.made is not None:
            atomic_write_text(out / "provenance.json", json.dumps(self.made, indent=1))
        return out

    @classmethod
    def load(cls, path) -> EvalResult:
        """From a folder written by `save`, or from any predictions CSV (path, true, pred_1, prob_1...).

        Labels are read as text, so classes called "0", "001" or "NA" stay what they are; a row
        without a prediction (an empty pred_1) is left out with a warning."""
        path = Path(path)
        csv = path / "predictions.csv" if path.is_dir() else path
        table = _read_predictions(csv)
        folder = csv.parent
        if (folder / "classes.json").exists():
            classes = [str(c) for c in json.loads((folder / "classes.json").read_text())]
        else:
            preds = [c for c in table.columns if c.startswith("pred_")]
            classes = sorted((set(table["true"]).union(*(set(table[c]) for c in preds))) - {""})
        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted(set(table["true"]) - set(index))
        if unknown:
            raise InputError(f"{csv}: true labels {unknown[:5]} are not among the classes of {folder / 'classes.json'}")
        rows = _array_rows(folder, table, csv)
        full = rows is not None
        if full:
            probs = np.load(folder / "probabilities.npy", allow_pickle=False)[rows]
            _check_agrees(csv, table, probs, classes)
        else:  # only the top-k are known: spread them, the rest stays 0
            probs = np.zeros((len(table), len(classes)), np.float32)
            for j in range(1, 1 + sum(c.startswith("pred_") for c in table.columns)):
                given = table[f"pred_{j}"] != ""
                p = (pd.to_numeric(table[f"prob_{j}"].replace("", np.nan)).to_numpy() if f"prob_{j}" in table
                     else np.full(len(table), 1.0 / j))
                rows = np.flatnonzero(given.to_numpy())
                probs[rows, table[f"pred_{j}"][given].map(index).to_numpy()] = np.nan_to_num(p[rows])
        feats = folder / "features.npy"
        features = (np.load(feats, allow_pickle=False).astype(np.float32)[rows] if full and feats.is_file() else None)
        made = folder / "provenance.json"
        made = json.loads(made.read_text()) if full and made.is_file() else None
        return cls(classes, table["path"].tolist(), table["true"].map(index).to_numpy(), probs, features, made)


def _array_rows(folder: Path, table: pd.DataFrame, csv: Path) -> np.ndarray | None:
    """For each row of the CSV, its row in probabilities.npy: by path through paths.json, so a CSV
    re-sorted or filtered by hand still reads right; None when only the CSV's top-k can be used."""
    if not (folder / "probabilities.npy").is_file():
        return None
    keyed = folder / "paths.json"
    if not keyed.is_file():  # an older evaluation: rows by position, if the counts agree
        if csv.name != "predictions.csv" or table.attrs["dropped"]:
            return None
        n = len(np.load(folder / "probabilities.npy", mmap_mode="r", allow_pickle=False))
        if n != len(table):
            raise InputError(f"{csv}: {len(table)} rows, but {folder / 'probabilities.npy'} holds {n}; the CSV was "
                             f"changed after the evaluation: evaluate again, or pass a copy of the CSV kept elsewhere")
        return np.arange(n)
    where = {p: i for i, p in enumerate(json.loads(keyed.read_text()))}
    missing = [p for p in table["path"] if p not in where]
    if missing:
        raise InputError(f"{csv}: {len(missing)} image(s) are not in this evaluation's {keyed.name} (first: "
                         f"{missing[0]}); evaluate again, or pass a copy of the CSV kept elsewhere")
    return np.array([where[p] for p in table["path"]], dtype=np.int64)


def _check_agrees(csv: Path, table: pd.DataFrame, probs: np.ndarray, classes: list[str]):
    """Refuse a CSV whose top prediction the stored probabilities do not give (an edited file)."""
    index = {c: i for i, c in enumerate(classes)}
    named = table["pred_1"].map(index)
    if named.isna().any():
        raise InputError(f"{csv}: predicted class {table['pred_1'][named.isna()].iloc[0]!r} is not among the classes "
                         f"of {csv.parent / 'classes.json'}")
    given = probs[np.arange(len(probs)), named.to_numpy(dtype=np.int64)]
    wrong = np.flatnonzero(given < probs.max(1) - 1e-6)
    if len(wrong):
        i = wrong[0]
        raise InputError(f"{csv}: {len(wrong)} row(s) disagree with {csv.parent / 'probabilities.npy'} (first: "
                         f"{table['path'].iloc[i]} is {table['pred_1'].iloc[i]!r} in the CSV, "
                         f"{classes[int(probs[i].argmax())]!r} in the probabilities); the files were changed apart: "
                         f"evaluate again")


def _save_array(path: Path, array: np.ndarray):
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def _read_predictions(csv: Path) -> pd.DataFrame:
    if not csv.is_file():
        raise MissingInputError(f"{csv}: no such predictions file; pass an evaluation folder or a predictions CSV")
    try:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{csv}: the file is empty; expected a header path, true, pred_1, prob_1, ... "
                         f"and one row per image") from None
    missing = {"path", "true", "pred_1"} - set(table.columns)
    if missing:
        raise InputError(f"{csv}: predictions CSV lacks columns {sorted(missing)}; "
                         f"expected path, true, pred_1, prob_1, ...")
    if table.empty:
        raise InputError(f"{csv}: holds a header but no predictions; evaluate again or pass another file")
    unpredicted = table["pred_1"] == ""
    if unpredicted.any():
        warnings.warn(f"{csv}: {int(unpredicted.sum())} row(s) without a prediction left out "
                      f"(first: {table.path[unpredicted].iloc[0]})", stacklevel=3)
        table = table[~unpredicted].reset_index(drop=True)
    table.attrs["dropped"] = bool(unpredicted.any())
    return table
