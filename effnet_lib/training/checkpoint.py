"""The run folder's checkpoints: saved atomically, loaded safely, turned back into a network.

Checkpoints are loaded with `weights_only=True`: a file from someone else can hold tensors and
plain containers, never code. A checkpoint holds the model (and the EMA's inference weights), the
optimizer, scheduler, epoch, history, class names, transforms, architecture and the full config,
so a run can be resumed exactly and a `Predictor` rebuilt from it. Prediction and error analysis
need only this module, never the training loop.
"""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ..errors import WorkbookError
from ..files import atomic_write_bytes, atomic_write_many
from ..model.variants import from_arch

__all__ = [
    "CheckpointError",
    "RunExistsError",
    "RUN_FILES",
    "RUN_OUTPUTS",
    "prepare_run_folder",
    "load_checkpoint",
    "RunFolderError",
    "save_epoch",
    "repair_best",
    "check_writable",
    "model_from_checkpoint",
    "check_finite",
]

# What a run folder holds; a fresh run replaces these, and resume reads last.pt.
RUN_FILES = ("last.pt", "best.pt", "history.csv", "classes.txt", "split.json")
RUN_OUTPUTS = ("eval-val", "eval-test", "batch_test.csv", "batch_test.png", "demo.json")


class CheckpointError(WorkbookError, ValueError):
    """A checkpoint that cannot be used; the message names the file and what to do."""


def load_checkpoint(path) -> dict:
    """Load a checkpoint safely (tensors and plain containers only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint; pass the best.pt or last.pt of a run folder")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # weights_only refused a Python object: code could run on load
        raise CheckpointError(
            f"{path}: refused: not a plain weights file (it holds Python objects that could run "
            f"code when loaded), so it will not be loaded; use a checkpoint written by this "
            f"library or a torchvision weights file"
        ) from None
    except Exception as e:  # RuntimeError and friends for a damaged or foreign file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{path}: unreadable checkpoint ({first[:200]}); the file is damaged or not a "
            f"PyTorch file: use the best.pt or last.pt of a run"
        ) from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise CheckpointError(
            f"{path}: not a training checkpoint of this library (for plain torchvision weights use `pretrained`)"
        )
    return ckpt


def save_epoch(out: Path, state: dict, history: list[dict], improved: bool, extra: dict | None = None):
    """One epoch as one write: best.pt (when the epoch is the best so far), last.pt, history.csv and
    `extra` ({name: text}) appear together or, when a write fails (a full disk), not at all."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    files = {out / "best.pt": buffer.getvalue()} if improved else {}
    files[out / "last.pt"] = buffer.getvalue()
    files.update({out / name: text.encode("utf-8") for name, text in (extra or {}).items()})
    files[out / "history.csv"] = pd.DataFrame(history).to_csv(index=False).encode("utf-8")
    atomic_write_many(files)


def repair_best(out: Path, history: list[dict], best_acc: float) -> float:
    """On resume: a best.pt that was never written (a full disk, an earlier version of this
    library) is rebuilt when last.pt is a best epoch; otherwise the best accuracy so far is
    forgotten, so the next epoch writes best.pt. Returns the best accuracy to resume with."""
    if (out / "best.pt").is_file():
        return best_acc
    if history and history[-1]["val_acc"] >= best_acc:  # last.pt is a best epoch: the same file
        atomic_write_bytes(out / "best.pt", (out / "last.pt").read_bytes())
        return best_acc
    warnings.warn(
        f"{out / 'best.pt'}: missing, and its epoch cannot be rebuilt; the next epoch writes it and it "
        f"holds the best epoch from then on",
        stacklevel=4,
    )
    return -1.0


def check_finite(ckpt: dict, path) -> dict:
    """The checkpoint's inference weights, refused when a diverged run left NaN or infinity in them."""
    weights = ckpt.get("model_for_inference") or ckpt["model"]
    if not all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point()):
        raise CheckpointError(
            f"{path}: holds NaN or infinite weights (the run diverged); use an earlier "
            f"checkpoint, or train again with a lower `lr`"
        )
    return weights


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """Rebuild the trained network from a checkpoint dict (inference weights, eval mode)."""
    model = from_arch(ckpt["arch"])
    model.load_state_dict(ckpt.get("model_for_inference") or ckpt["model"])
    return model.eval()


class RunExistsError(WorkbookError, FileExistsError):
    """A fresh run was asked for in a folder that already holds one."""


class RunFolderError(WorkbookError, PermissionError):
    """The run folder cannot be written."""


def prepare_run_folder(out: Path, resume: bool, overwrite: bool) -> list[Path]:
    """Clean what an interrupted save left, refuse to train over a run (unless resuming or
    overwriting), check the folder can be written; returns what a fresh run will replace."""
    for name in RUN_FILES:  # a kill during an atomic write leaves its hidden temporary file
        for tmp in out.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    existing = [out / n for n in RUN_FILES + RUN_OUTPUTS if (out / n).exists()]
    held = [p for p in existing if p.name in ("last.pt", "best.pt", "history.csv")]
    if resume and not (out / "last.pt").exists():
        raise CheckpointError(f"{out / 'last.pt'}: no run to resume here; start one without `resume=True`")
    if held and not resume and not overwrite:
        raise RunExistsError(
            f"{out}: holds a run ({', '.join(p.name for p in held)}); continue it with `resume=True`, "
            f"replace it with `overwrite=True`, or choose another `out`"
        )
    check_writable(out)
    return [] if resume else existing


def check_writable(out: Path):
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise RunFolderError(f"{out}: cannot write the run folder here ({e.strerror}); choose another `out`") from None
