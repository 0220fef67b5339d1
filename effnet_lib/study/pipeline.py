"""Train, then evaluate the best checkpoint: the walk every command and study takes, in one place.

`train_and_evaluate` trains a config (or reads its finished run back), then evaluates the run's
best checkpoint on the splits asked for, writing each evaluation into the run folder
(`eval-<split>/`, see `display.outputs.write_evaluation`) or only returning its metrics. `train`, the
demo and each configuration of a sweep go through it. `demo` is the main job on the built-in data:
a small network trained, evaluated on validation and test, and the reference experiment's batch
test of five images of one class, with a record of how it was made (`demo.json`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..display.outputs import batch_test, write_evaluation
from ..evaluation.metrics import Report
from ..evaluation.predict import Predictor
from ..files import atomic_write_text
from ..provenance import provenance
from ..training.config import TrainConfig
from ..training.loop import Run, fit, train_or_load
from ..training.presets import QUICK

__all__ = ["Evaluated", "train_and_evaluate", "demo_config", "demo"]


@dataclass
class Evaluated:
    """A run, the predictor of its best checkpoint and one report per split evaluated (none on the
    processes of a distributed run other than the first, nor for a run with no checkpoint)."""

    run: Run
    predictor: Predictor | None = None
    reports: dict[str, Report] = field(default_factory=dict)


def train_and_evaluate(
    cfg: TrainConfig,
    splits=("val",),
    *,
    write: bool = True,
    reuse: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    given=None,
) -> Evaluated:
    """Train `cfg` (`fit`, with its `resume` and `overwrite`), or with `reuse` read back a finished
    run of the same config (`train_or_load`); then evaluate the best checkpoint on each of `splits`
    that holds images. With `write`, each evaluation leaves its files in `<out>/eval-<split>/`.
    `given`: on resume, the settings of `cfg` to apply, as `fit` takes it."""
    run = (
        train_or_load(cfg, progress=progress)
        if reuse
        else fit(cfg, resume=resume, overwrite=overwrite, progress=progress, given=given)
    )
    import torch.distributed as dist

    if dist.is_initialized():  # torchrun: the first process evaluates, the others are done
        rank = dist.get_rank()
        dist.destroy_process_group()
        if rank:
            return Evaluated(run)
    if run.best is None:
        return Evaluated(run)
    done = Evaluated(run, Predictor.from_checkpoint(run.best))
    for split in splits:
        samples = run.folder.split(split)
        if not samples:
            continue
        result = done.predictor.evaluate(samples)
        done.reports[split] = (
            write_evaluation(
                result,
                run.out / f"eval-{split}",
                history=run.history if split == "val" else None,
                title="" if split == "val" else f"{split} split",
            )
            if write
            else result.report()
        )
    return done


def demo_config(epochs: int | None = None, out: Path | str | None = None) -> TrainConfig:
    """The demo's settings: `presets.QUICK`, with `epochs` and `out` where given."""
    return replace(
        QUICK, out=str(out) if out is not None else QUICK.out, epochs=epochs if epochs is not None else QUICK.epochs
    )


def demo(
    out: Path,
    epochs: int | None = None,
    progress: bool = True,
    command: str = "python -m effnet_lib demo",
    recorded_out: Path | None = None,
) -> tuple[dict, Evaluated]:
    """The main job in `out`: `presets.QUICK` (or `epochs` of it) trained on the built-in data,
    evaluated on its validation and test splits, and five test images of its first class predicted
    in one batch (`batch_test.csv/.png`). Writes the record `demo.json` and returns it with the
    evaluations; `recorded_out` is the folder the record names (where `out` goes once it is whole)."""
    cfg = demo_config(epochs, out)
    done = train_and_evaluate(cfg, ("val", "test"), progress=progress)
    run, predictor, val, test = done.run, done.predictor, done.reports["val"], done.reports["test"]
    first = run.classes[0]  # the reference batch test: five images of one class in one batch
    table = batch_test(predictor, [p for p, y in run.folder.test if y == 0][:5], first, out)
    record = {
        "command": command,
        "provenance": provenance(str(predictor.device), seed=cfg.seed, quick=True),
        "config": {**asdict(cfg), "out": str(recorded_out or out)},
        "chance": 1 / len(run.classes),
        "train_seconds": sum(r["seconds"] for r in run.history),
        "val": val.summary,
        "test": test.summary,
        "batch_test": {"class": first, "right": int((table["pred_1"] == first).sum()), "of": len(table)},
        "test_per_class": test.per_class.round(4).reset_index().to_dict(orient="records"),
    }
    atomic_write_text(Path(out) / "demo.json", json.dumps(record, indent=1, default=float))
    return record, done
