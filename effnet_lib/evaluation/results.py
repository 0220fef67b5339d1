"""A network's predictions on a set of images, kept: `EvalResult` holds the paths, labels,
probabilities and (optionally) features of one evaluation, saves them as `predictions.csv`,
`probabilities.npy`, `features.npy` and `provenance.json`, and loads them back. Rows are matched
to the arrays by path, so a CSV re-sorted or filtered by hand still reads right; a CSV whose
predictions the stored probabilities do not give is refused.

`predict` computes an `EvalResult`; everything downstream (metrics, error analysis, the explorer,
the report) reads one.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, MissingInputError
from ..files import atomic_write_bytes, atomic_write_text
from .metrics import Report, report

__all__ = ["EvalResult", "topk_table"]


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
                p = (
                    pd.to_numeric(table[f"prob_{j}"].replace("", np.nan)).to_numpy()
                    if f"prob_{j}" in table
                    else np.full(len(table), 1.0 / j)
                )
                rows = np.flatnonzero(given.to_numpy())
                probs[rows, table[f"pred_{j}"][given].map(index).to_numpy()] = np.nan_to_num(p[rows])
        feats = folder / "features.npy"
        features = np.load(feats, allow_pickle=False).astype(np.float32)[rows] if full and feats.is_file() else None
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
            raise InputError(
                f"{csv}: {len(table)} rows, but {folder / 'probabilities.npy'} holds {n}; the CSV was "
                f"changed after the evaluation: evaluate again, or pass a copy of the CSV kept elsewhere"
            )
        return np.arange(n)
    where = {p: i for i, p in enumerate(json.loads(keyed.read_text()))}
    missing = [p for p in table["path"] if p not in where]
    if missing:
        raise InputError(
            f"{csv}: {len(missing)} image(s) are not in this evaluation's {keyed.name} (first: "
            f"{missing[0]}); evaluate again, or pass a copy of the CSV kept elsewhere"
        )
    return np.array([where[p] for p in table["path"]], dtype=np.int64)


def _check_agrees(csv: Path, table: pd.DataFrame, probs: np.ndarray, classes: list[str]):
    """Refuse a CSV whose top prediction the stored probabilities do not give (an edited file)."""
    index = {c: i for i, c in enumerate(classes)}
    named = table["pred_1"].map(index)
    if named.isna().any():
        raise InputError(
            f"{csv}: predicted class {table['pred_1'][named.isna()].iloc[0]!r} is not among the classes "
            f"of {csv.parent / 'classes.json'}"
        )
    given = probs[np.arange(len(probs)), named.to_numpy(dtype=np.int64)]
    wrong = np.flatnonzero(given < probs.max(1) - 1e-6)
    if len(wrong):
        i = wrong[0]
        raise InputError(
            f"{csv}: {len(wrong)} row(s) disagree with {csv.parent / 'probabilities.npy'} (first: "
            f"{table['path'].iloc[i]} is {table['pred_1'].iloc[i]!r} in the CSV, "
            f"{classes[int(probs[i].argmax())]!r} in the probabilities); the files were changed apart: "
            f"evaluate again"
        )


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
        raise InputError(
            f"{csv}: the file is empty; expected a header path, true, pred_1, prob_1, ... and one row per image"
        ) from None
    missing = {"path", "true", "pred_1"} - set(table.columns)
    if missing:
        raise InputError(
            f"{csv}: predictions CSV lacks columns {sorted(missing)}; expected path, true, pred_1, prob_1, ..."
        )
    if table.empty:
        raise InputError(f"{csv}: holds a header but no predictions; evaluate again or pass another file")
    unpredicted = table["pred_1"] == ""
    if unpredicted.any():
        warnings.warn(
            f"{csv}: {int(unpredicted.sum())} row(s) without a prediction left out "
            f"(first: {table.path[unpredicted].iloc[0]})",
            stacklevel=3,
        )
        table = table[~unpredicted].reset_index(drop=True)
    table.attrs["dropped"] = bool(unpredicted.any())
    return table


def topk_table(paths, probs, classes, k=5) -> pd.DataFrame:
    k = min(k, len(classes))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    table = {"path": list(paths)}
    for j in range(k):
        table[f"pred_{j + 1}"] = [classes[i] for i in order[:, j]]
        table[f"prob_{j + 1}"] = np.take_along_axis(probs, order[:, j : j + 1], 1)[:, 0].round(6)
    return pd.DataFrame(table)
