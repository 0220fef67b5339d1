"""One training run in progress: everything it holds while it trains (`Session`: the network, the
optimiser and schedule, the loaders, the history), and what happens at the end of each epoch: the
validation loss (`evaluate_loss`), the history row and the checkpoints written as one (`best.pt`
when validation improved, `last.pt` always), and the checks that stop a run that diverged (a loss
or weight that is not finite) with the last good checkpoint kept.

`loop` sets a session up, runs its epochs and calls `finish_epoch` after each; the layout of a
run folder is `checkpoint`'s.
"""

from __future__ import annotations

import json
import math
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from ..data import folders as D
from ..data import transforms as T
from ..data.images import unreadable_reason
from ..model.variants import arch_of
from ..provenance import provenance
from . import distributed as dist
from .checkpoint import (
    save_epoch,
)
from .config import TrainConfig
from .stopping import TrainingStopped

__all__ = ["Session", "check_step", "finish_epoch", "report_bad", "evaluate_loss"]


@dataclass
class Session:
    """Everything one run holds while it trains."""

    cfg: TrainConfig
    out: Path
    device: torch.device
    rank: int
    world: int
    folder: D.ImageFolder
    tf: T.Transforms
    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    ema: nn.Module | None
    train_loader: object
    val_loader: object
    steps: int
    fresh: bool  # not a resumed run
    scaler: torch.amp.GradScaler
    start: int = 0
    history: list = field(default_factory=list)
    best_acc: float = -1.0
    stale: list = field(default_factory=list)  # an overwritten run's files, removed after the first save
    bad_files: set = field(default_factory=set)

    @property
    def memory_format(self):
        return torch.channels_last if self.cfg.channels_last else torch.contiguous_format

    @property
    def amp(self) -> tuple[bool, torch.dtype]:
        on = self.cfg.amp and self.device.type == "cuda"
        return on, torch.bfloat16 if on and torch.cuda.is_bf16_supported() else torch.float16

    @property
    def base_lr(self) -> float:
        return self.scheduler.base_lrs[0]  # the run's rate before warm-up and decay, as --lr gives it


def check_step(s: Session, epoch, step, totals, t0, bar):
    loss_sum, correct, seen = (t.item() for t in totals)  # a wait for the device, every few steps only
    if not math.isfinite(loss_sum):
        raise TrainingStopped(_diverged(s, epoch, f"step {step + 1}"))
    bar.set_postfix(
        loss=f"{loss_sum / max(1, seen):.3f}",
        acc=f"{correct / max(1, seen):.3f}",
        img_s=f"{seen * s.world / (time.perf_counter() - t0):.0f}",
    )


def finish_epoch(s: Session, epoch: int, stats: list[float], seconds: float, lr: float, progress: bool):
    """Validate, refuse non-finite results, record the epoch and save it (rank 0)."""
    loss_sum, correct, seen = stats
    if seen == 0:
        raise D.DataError(
            f"{s.folder.root}: no training image of this epoch could be read "
            f"({len(s.bad_files)} unreadable); check the files"
        )
    if not math.isfinite(loss_sum):
        raise TrainingStopped(_diverged(s, epoch, "training"))
    use_amp, amp_dtype = s.amp
    criterion = nn.CrossEntropyLoss(label_smoothing=s.cfg.recipe_().label_smoothing)
    t0 = time.perf_counter()
    val_loss, val_acc = evaluate_loss(
        s.ema.module if s.ema is not None else s.net,
        s.val_loader,
        s.device,
        criterion,
        s.memory_format,
        use_amp,
        amp_dtype,
        s.world,
        s.tf.normalise_batch,
    )
    if not math.isfinite(val_loss) or not _finite(s.model):
        raise TrainingStopped(_diverged(s, epoch, "validation"))
    row = {
        "epoch": epoch + 1,
        "train_loss": loss_sum / seen,
        "train_acc": correct / seen,
        "val_loss": val_loss,
        "val_acc": val_acc,
        "lr": lr,
        "seconds": seconds,
        "img_per_s": seen / seconds,
        "val_seconds": time.perf_counter() - t0,
        "skipped_files": len(s.bad_files),
    }
    s.history.append(row)
    if s.rank == 0:
        _save(s, epoch, improved=row["val_acc"] > s.best_acc)
    s.best_acc = max(s.best_acc, row["val_acc"])
    if progress and s.rank == 0:
        tqdm.write(
            f"epoch {epoch + 1}/{s.cfg.epochs}: train loss {row['train_loss']:.3f} acc {row['train_acc']:.3f} "
            f"| val loss {row['val_loss']:.3f} acc {row['val_acc']:.3f} | {row['img_per_s']:.0f} img/s"
        )


def _save(s: Session, epoch: int, improved: bool):
    first = epoch == s.start and s.fresh
    extra = {}
    if first:  # a fresh run: its own class list and split, in the same write as its first epoch
        extra["classes.txt"] = "\n".join(s.folder.classes) + "\n"
        if s.folder.split_record is not None:
            extra["split.json"] = json.dumps(s.folder.split_record)
    ckpt = {
        "format": 1,
        "model": s.model.state_dict(),
        "optimizer": s.optimizer.state_dict(),
        "scheduler": s.scheduler.state_dict(),
        "ema": s.ema.state_dict() if s.ema is not None else None,
        "epoch": epoch,
        "history": s.history,
        "best_acc": max(r["val_acc"] for r in s.history),
        "config": asdict(s.cfg),
        "arch": arch_of(s.model),
        "transforms": asdict(s.tf),
        "classes": s.folder.classes,
        "rng": {"torch": torch.get_rng_state()},
        "provenance": provenance(str(s.device), seed=s.cfg.seed, quick=s.cfg.quick),
    }
    if s.ema is not None:  # predictions use the averaged weights
        ckpt["model_for_inference"] = s.ema.module.state_dict()
    try:
        save_epoch(s.out, ckpt, s.history, improved, extra)
    except OSError as e:
        s.history.pop()
        kept = (
            f"{s.out / 'last.pt'} holds epoch {s.history[-1]['epoch']}; free space and continue with `resume=True`"
            if s.history and not first
            else "the folder's earlier run is kept as it was; free space and run again with --overwrite"
            if s.stale
            else "no epoch was saved; free space and run again"
        )
        raise TrainingStopped(
            f"{e.filename or s.out}: could not write epoch {epoch + 1} ({e.strerror}); nothing of "
            f"that epoch was saved: {kept}"
        ) from None
    if first and s.folder.split_record is not None:
        try:  # the data folder's manifest, now that a run trained on the split
            D.save_split(s.folder)
        except D.DataError as e:
            warnings.warn(f"{e} (this run keeps its split in {s.out / 'split.json'})", stacklevel=2)
    # An overwritten run's leftovers go once the new run has its first epoch on disk.
    rewritten = {"last.pt", "best.pt", "history.csv", "classes.txt"} | (
        {"split.json"} if s.folder.split_record else set()
    )
    for p in (p for p in s.stale if p.name not in rewritten):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    s.stale = []


def _finite(model: nn.Module) -> bool:
    return bool(
        torch.stack([torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point()]).all()
    )


def report_bad(bad, samples, seen: set):
    for i in bad:
        if i not in seen:
            seen.add(i)
            warnings.warn(f"{samples[i][0]}: {unreadable_reason(samples[i][0])}; skipped", stacklevel=4)


def _diverged(s: Session, epoch: int, where: str) -> str:
    kept = (
        f"{s.out / 'last.pt'} holds epoch {s.history[-1]['epoch']}, the last with finite weights"
        if s.history
        else "no checkpoint was written"
    )
    return (
        f"loss became NaN or infinite in epoch {epoch + 1} ({where}); stopped without saving it. {kept}; "
        f"try a lower `lr` (this run: {s.base_lr:g}) or check the data"
    )


@torch.no_grad()
def evaluate_loss(
    model, loader, device, criterion, memory_format, use_amp=False, amp_dtype=torch.bfloat16, world=1, normalise=None
) -> tuple[float, float]:
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
        totals += torch.stack(
            [
                criterion(logits.float(), y).double() * len(y),
                (logits.argmax(1) == y).sum().double(),
                torch.tensor(len(y), device=device).double(),
            ]
        )
    loss, correct, n = dist.all_reduce(totals, world)
    return loss / max(n, 1), correct / max(n, 1)
