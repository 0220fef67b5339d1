"""Training: a `TrainConfig`, a folder of images, a run folder with history and checkpoints.

`fit` sets a run up (`_setup`: device, data and caches, loaders, model, optimizer, resume) and
trains it one epoch at a time (`_train_epoch`, then `session.finish_epoch`: validation, the
finite-weights check and the save). Everything a run makes goes into its folder: ``history.csv`` (one row per
epoch), ``last.pt`` (every epoch), ``best.pt`` (best validation accuracy), ``classes.txt`` and
``split.json`` (the images it trains and validates on), one epoch's files written as one. A checkpoint
holds model, optimizer, scheduler, EMA, epoch, history, class names and the full config, so
``resume`` continues exactly: each epoch's shuffle and augmentation depend only on (seed, epoch).

Nothing trained is lost by accident: a folder that holds a run is refused without ``resume`` or
``overwrite``; a diverged epoch (non-finite loss or weights) is never saved and the run stops with
the epoch named; an interrupt (SIGINT, SIGTERM) stops after the current step with the last
finished epoch on disk; a second process training into the same folder is refused (a lock), and
a full disk leaves the last whole epoch. Runs under ``torchrun`` use DistributedDataParallel
(`distributed`): each process trains on its shard, metrics are summed, and only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from ..data import folders as D
from ..data import loaders as L
from ..data import transforms as T
from ..errors import ParameterError
from ..files import folder_lock
from . import distributed as dist
from .assemble import make_model, open_data
from .checkpoint import (
    CheckpointError,
    check_writable,
    load_checkpoint,
    prepare_run_folder,
    repair_best,
)
from .config import TrainConfig, config_key, resume_config
from .recipes import EmaRamp, make_optimizer
from .session import Session, check_step, finish_epoch, report_bad
from .stopping import Interrupted, StopOnSignal, TrainingStopped

__all__ = ["TrainingStopped", "Run", "fit", "train_or_load"]


@dataclass
class Run:
    """What `fit` returns: the run folder, its history and the data it trained on."""

    out: Path
    history: list[dict]
    classes: list[str]
    folder: D.ImageFolder = field(repr=False)
    transforms: T.Transforms = field(repr=False)
    best: Path | None = None

    def history_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.history)


# -----------------------------------------------------------------------------
# Setting a run up


def _open_run(
    cfg: TrainConfig, resume: bool, overwrite: bool, rank: int, given=None
) -> tuple[TrainConfig, dict | None, list]:
    """Check the run folder and, on resume, the config against the run's; returns (cfg, ckpt, stale)."""
    out = Path(cfg.out)
    stale = prepare_run_folder(out, resume, overwrite) if rank == 0 else []
    if not resume:
        return cfg, None, stale
    ckpt = load_checkpoint(out / "last.pt")
    cfg = resume_config(cfg, ckpt["config"], out / "last.pt", given)
    if cfg.epochs < len(ckpt["history"]):
        raise ParameterError(
            f"{out / 'last.pt'}: the run has already trained {len(ckpt['history'])} epochs; "
            f"`epochs={cfg.epochs}` would undo them (give {len(ckpt['history'])} or more)"
        )
    return cfg, ckpt, stale


def _setup(cfg: TrainConfig, resume: bool, overwrite: bool, progress: bool = True, given=None) -> Session:
    device = dist.resolve_device(cfg.device)
    if device.type == "cuda" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)  # before the process group, so NCCL sets up on this GPU
    rank, world = dist.init()
    cfg, ckpt, stale = _open_run(cfg, resume, overwrite, rank, given)
    torch.manual_seed(cfg.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    folder, tf, cfg = open_data(cfg, resumed=ckpt is not None, rank=rank)
    if ckpt is not None and ckpt["classes"] != folder.classes:
        raise CheckpointError(
            f"{Path(cfg.out) / 'last.pt'}: trained on classes {ckpt['classes'][:5]}..., "
            f"but {folder.root} has {folder.classes[:5]}...; resume on the same data"
        )
    model = make_model(cfg, len(folder.classes), load_weights=ckpt is None)
    finished = ckpt is not None and ckpt["epoch"] + 1 >= cfg.epochs
    train_loader, val_loader = L.training_loaders(cfg, folder, tf, device, rank, world, finished, progress)
    steps = min(len(train_loader), cfg.max_steps_per_epoch or len(train_loader))
    model = model.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.contiguous_format)
    optimizer, scheduler = make_optimizer(cfg, model, steps)
    ema = (
        torch.optim.swa_utils.AveragedModel(model, avg_fn=EmaRamp(cfg.recipe_().ema), use_buffers=True)
        if cfg.recipe_().ema
        else None
    )
    fp16 = cfg.amp and device.type == "cuda" and not torch.cuda.is_bf16_supported()  # only fp16 needs loss scaling
    s = Session(
        cfg,
        Path(cfg.out),
        device,
        rank,
        world,
        folder,
        tf,
        model,
        model,
        optimizer,
        scheduler,
        ema,
        train_loader,
        val_loader,
        steps,
        fresh=ckpt is None,
        scaler=torch.amp.GradScaler("cuda", enabled=fp16),
        stale=stale,
    )
    if ckpt is not None:
        _restore(s, ckpt)
    if world > 1:
        s.net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:  # after DDP, so the compiler sees DDP's buckets
        s.net = torch.compile(s.net)
    return s


def _restore(s: Session, ckpt: dict):
    s.model.load_state_dict(ckpt["model"])
    s.optimizer.load_state_dict(ckpt["optimizer"])
    # LambdaLR saves its Schedule's fields (the old horizon among them) into the object it holds:
    # keep a copy of today's, put it back, and set the next step's rate from it, so a longer
    # --epochs recomputes the cosine for the new number of epochs.
    fresh = copy.copy(s.scheduler.lr_lambdas[0])
    s.scheduler.load_state_dict(ckpt["scheduler"])
    s.scheduler.lr_lambdas[0] = fresh
    for group, base in zip(s.optimizer.param_groups, s.scheduler.base_lrs):
        group["lr"] = base * fresh(s.scheduler.last_epoch)
    if s.ema is not None and ckpt.get("ema"):
        s.ema.load_state_dict(ckpt["ema"])
    s.start, s.history, s.best_acc = ckpt["epoch"] + 1, ckpt["history"], ckpt["best_acc"]
    if s.rank == 0:
        s.best_acc = repair_best(s.out, s.history, s.best_acc)


# -----------------------------------------------------------------------------
# The loop


def fit(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, progress: bool = True, given=None) -> Run:
    """Train as `cfg` says, writing history and checkpoints into `cfg.out`; see the module doc.

    A folder that holds a run is refused unless `resume` (continue it to `cfg.epochs`) or
    `overwrite` (replace it: the old files go only once the new run has saved its first epoch).
    On resume, `given` names the settings of `cfg` to apply (a command's options: the others are
    the run's own, read from its `last.pt` once); None applies all of them.
    A run that fails leaves its folder as it was (an empty folder it made is removed again)."""
    out = Path(cfg.out)
    made = not out.exists()
    try:
        writer = int(os.environ.get("RANK", "0")) == 0  # one writer per run folder: rank 0 writes
        if writer:
            check_writable(out)  # makes the folder
        with folder_lock(out) if writer else contextlib.nullcontext():
            s = _setup(cfg, resume, overwrite, progress, given)
            with StopOnSignal() as stop:
                for epoch in range(s.start, s.cfg.epochs):
                    stats, seconds, lr = _train_epoch(s, epoch, stop, progress)
                    finish_epoch(s, epoch, stats, seconds, lr, progress)
    except BaseException:
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise
    if s.bad_files and s.rank == 0:
        print(f"skipped {len(s.bad_files)} unreadable file(s) during training")
    best = out / "best.pt" if (out / "best.pt").exists() else None
    return Run(out, s.history, s.folder.classes, s.folder, s.tf, best)


def _train_epoch(s: Session, epoch: int, stop: StopOnSignal, progress: bool) -> tuple[list[float], float, float]:
    """One pass over the training shard: the summed (loss, correct, seen), the seconds and the rate."""
    cfg, device = s.cfg, s.device
    L.seed_epoch(s.train_loader, cfg.seed, epoch)
    s.net.train()
    if cfg.freeze_features:  # frozen means frozen: BatchNorm statistics too
        s.model.features.eval()
    use_amp, amp_dtype = s.amp
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.recipe_().label_smoothing)
    sync_every = 10 if device.type == "cpu" else 50  # .item() waits for the device: not every step
    epoch_lr = s.optimizer.param_groups[0]["lr"]
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = torch.zeros((), device=device, dtype=torch.long)
    bar = tqdm(
        total=s.steps,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        disable=not progress or s.rank,
        leave=False,
        dynamic_ncols=True,
    )
    t0 = time.perf_counter()
    for step, (x, y, _, bad) in enumerate(s.train_loader):
        if step >= s.steps:
            break
        report_bad(bad, s.folder.train, s.bad_files)
        if len(y):
            x, y = L.to_device(x, s.tf, device, s.memory_format), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                logits = s.net(x)
                loss = criterion(logits, y)
            s.optimizer.zero_grad(set_to_none=True)
            s.scaler.scale(loss).backward()
            s.scaler.step(s.optimizer)
            s.scaler.update()
            s.scheduler.step()
            if s.ema is not None:
                s.ema.update_parameters(s.model)
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            bar.update()
        if step % sync_every == 0:
            check_step(s, epoch, step, (loss_sum, correct, seen), t0, bar)
        if dist.agree(stop.signal is not None, s.world, step % sync_every == 0):
            raise Interrupted(
                f"{stop.signal or 'stop request'} at epoch {epoch + 1} step {step + 1}: "
                f"{s.out / 'last.pt'} holds the last finished epoch ({len(s.history)} of "
                f"{cfg.epochs}); continue with `resume=True`"
            )
    bar.close()
    seconds = time.perf_counter() - t0
    return (
        dist.all_reduce(torch.stack([loss_sum.double(), correct.double(), seen.double()]), s.world),
        seconds,
        epoch_lr,
    )


def train_or_load(cfg: TrainConfig, progress: bool = True) -> Run:
    """Train, or read back a finished run of the same config in `cfg.out` (resuming a partial one)."""
    last = Path(cfg.out) / "last.pt"
    if last.exists():
        saved = load_checkpoint(last)["config"]
        mine = {**asdict(cfg), "epochs": saved["epochs"]}
        if cfg.batch_size is None:  # chosen by the run from its data: the run's choice
            mine["batch_size"] = saved["batch_size"]
        if config_key(TrainConfig(**saved)) != config_key(TrainConfig(**mine)) or saved["epochs"] > cfg.epochs:
            raise CheckpointError(f"{last}: holds a run of another config; choose another out folder")
    return fit(cfg, resume=last.exists(), progress=progress)
