"""Sweeps of training runs for the scaling experiments, cached on disk by their full config.

A config is a `TrainConfig`, the same record a command-line run and a notebook use; its key is
`config.config_key` (everything that changes a result, the recipe's values included, not where it
is written or how fast). `sweep` trains each config that
has no cached result, measures its parameters and multiply-adds, evaluates it on the validation
and test splits, and returns one tidy row per config. Re-running a sweep reads finished configs
back instantly; a changed config re-runs only itself; a sweep stopped half-way resumes (finished
configs are cached, a config stopped mid-training resumes from its last epoch). Every row carries
how it was made: commit, torch version, device, host, threads, date, seed, quick or full.

Where configs train is the executor's business (`effnet_lib.study.executors`: sequential, a local
process pool, a Dask cluster, a SLURM queue). A result depends on the number of torch threads it
was computed with, so `threads` is a setting of the sweep, not of the executor: the same sweep
gives the same rows, bit for bit on CPU, whatever runs it. Only the driver writes the cache of
results (atomically), so two sweeps or a crashed worker cannot corrupt it.
"""

from __future__ import annotations

import json
import socket
import traceback
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..errors import WorkbookError
from ..files import atomic_write_text
from ..model.scaling import measure
from ..provenance import provenance
from ..training.config import TrainConfig, config_key
from ..training.presets import runs_dir
from ..training.stopping import Interrupted
from .executors import resubmitting
from .pipeline import train_and_evaluate

__all__ = ["ROW_SETTINGS", "SweepError", "default_cache", "train_config", "sweep"]

# The settings each row repeats (resolution is the config's image_size).
ROW_SETTINGS = ("width", "depth", "resolution", "epochs", "seed", "recipe", "data", "batch_size", "lr", "quick")


class SweepError(WorkbookError, RuntimeError):
    """Some configs failed; the others are cached. The message names each with its error."""


def default_cache() -> Path:
    return runs_dir() / "experiments"


def train_config(cfg: TrainConfig, runs: str | Path, threads: int = 1, progress: bool = False) -> dict:
    """Train and evaluate one config in `runs/<key>` (resuming a partial run) with `threads`
    torch threads, and return its row. Runs in any worker; it writes no result cache."""
    key = config_key(cfg)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        done = train_and_evaluate(
            replace(cfg, out=str(Path(runs) / key)), ("val", "test"), write=False, reuse=True, progress=progress
        )
        run, predictor = done.run, done.predictor
        cost = measure(predictor.model, cfg.image_size)
        val = done.reports["val"].summary["accuracy"]
        test = done.reports["test"].summary["accuracy"] if "test" in done.reports else None
        prov = provenance(str(predictor.device), seed=cfg.seed, quick=cfg.quick)
    finally:
        torch.set_num_threads(before)
    settings = {k: cfg.image_size if k == "resolution" else getattr(cfg, k) for k in ROW_SETTINGS}
    return {
        **settings,
        "key": key,
        "params": cost.params,
        "macs": cost.macs,
        "train_seconds": sum(r["seconds"] for r in run.history),
        "val_acc": val,
        "test_acc": test,
        "best_epoch": max(run.history, key=lambda r: r["val_acc"])["epoch"],
        **{f"prov_{k}": v for k, v in prov.items() if k not in ("seed", "quick")},
        "prov_host": socket.gethostname(),
        "prov_threads": threads,
    }


def sweep(
    configs, cache: str | Path | None = None, progress: bool = True, executor=None, threads: int = 1
) -> pd.DataFrame:
    """One row per config (cached results read back, the others trained), in the given order.

    `executor`: None trains one config after another here; otherwise any object with
    `concurrent.futures.Executor`'s `submit` (see `effnet_lib.study.executors.open_executor`), and rows
    are collected as they finish. A config that fails is reported by name with its traceback
    after the others have finished (`SweepError`); a worker that dies has its config run again
    (the executor's own retry, or the next call of `sweep`)."""
    configs = list({config_key(c): c for c in configs}.values())  # the same config twice is one run
    cache = Path(cache or default_cache())
    cache.mkdir(parents=True, exist_ok=True)
    rows = {
        config_key(c): json.loads((cache / f"{config_key(c)}.json").read_text())
        for c in configs
        if (cache / f"{config_key(c)}.json").exists()
    }
    todo = [c for c in configs if config_key(c) not in rows]
    failed: dict[str, str] = {}
    bar = tqdm(total=len(configs), initial=len(rows), desc="configs", disable=not progress)
    for cfg, row, error in _results(todo, cache / "runs", threads, executor):
        if error is None:
            atomic_write_text(cache / f"{config_key(cfg)}.json", json.dumps(row, indent=1))
            rows[config_key(cfg)] = row
        else:
            failed[_name(cfg)] = error
        bar.update()
    bar.close()
    if failed:
        report = "\n".join(f"--- {name}\n{tb}" for name, tb in failed.items())
        raise SweepError(
            f"{len(failed)} of {len(configs)} config(s) failed ({', '.join(failed)}); the others are "
            f"cached in {cache}, and the next call retries only these:\n{report}"
        )
    return pd.DataFrame([rows[config_key(c)] for c in configs])


def _name(cfg: TrainConfig) -> str:
    return f"w={cfg.width:g} d={cfg.depth:g} r={cfg.image_size} seed={cfg.seed} epochs={cfg.epochs} [{config_key(cfg)}]"


def _results(todo, runs, threads, executor):
    """(config, row, None) or (config, None, traceback text) for each config, as they finish."""
    if executor is None:
        for cfg in todo:
            try:
                yield cfg, train_config(cfg, runs, threads), None
            except Interrupted:  # the user stops the sweep, not one config of it
                raise
            except Exception:  # noqa: BLE001 - reported by name; the others go on
                yield cfg, None, traceback.format_exc()
        return
    yield from resubmitting(executor, train_config, todo, runs, threads)
