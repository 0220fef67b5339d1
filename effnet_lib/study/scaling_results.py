"""The scaling study's committed results: the full-mode table (`data/results/scaling_full.csv`)
written with how it was made beside it (command, commits, devices, seeds, epochs; `save_results`)
and read back (`load_results`), and the rows of the room experiment behind the verdicts on width
and depth (`load_room`, from `data/results/pilots/`).

`scaling_study` says which networks the study trains; this module only keeps what they gave.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MissingInputError
from ..files import atomic_write_text
from ..provenance import provenance
from .scaling_study import BASE

__all__ = ["RESULTS", "save_results", "load_results", "ROOM_FILES", "ROOM_STEPS", "load_room"]


RESULTS = Path(__file__).resolve().parents[2] / "data" / "results" / "scaling_full.csv"


def save_results(table: pd.DataFrame, command: str, path: Path = RESULTS) -> Path:
    atomic_write_text(path, table.to_csv(index=False))
    runs = table.drop_duplicates("key")
    meta = {
        "command": command,
        "rows": len(table),
        "trained_configs": len(runs),
        "data": sorted(runs.data.unique().tolist()),
        "recipe": sorted(runs.recipe.unique().tolist()),
        "seeds": sorted(int(s) for s in table.seed.unique()),
        "epochs": sorted(int(e) for e in table.epochs.unique()),
        "trained_at_commits": sorted(runs.prov_commit.unique().tolist()),
        "trained_on": sorted(runs.prov_device.unique().tolist()),
        "trained_between": [runs.prov_date.min(), runs.prov_date.max()],
        "total_train_seconds": round(float(runs.train_seconds.sum()), 1),
        **{f"table_written_{k}": v for k, v in provenance().items()},
    }
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1) + "\n")
    return path


def load_results(path: Path = RESULTS) -> tuple[pd.DataFrame, dict]:
    """The committed full-mode table and how it was made (command, commit, device, seeds)."""
    if not path.exists():
        raise MissingInputError(
            f"{path}: no full-mode results; make them with `python -m effnet_lib scaling --mode full`"
        )
    return pd.read_csv(path), json.loads(path.with_suffix(".json").read_text())


# The experiment behind the verdicts on width and depth: their first steps (width 0.38 at 1.7x the
# base's MACs, depth 0.76 at 1.5x) with the last stage on 1x1, 2x2 and 4x4 maps (32, 64 and 128 px;
# Fashion-MNIST's photos are 28 px, so the larger inputs add room, not detail). Trained by
# scripts/regime_pilot.py (candidates fm32-cause, fm64-study, fm128-cause), 3 seeds, 6 epochs; each
# row carries the command, commit, device and date it was made with.
ROOM_FILES = ("fm32-cause.csv", "fm64-study.csv", "fm128-cause.csv")


ROOM_STEPS = {"base": (BASE.width, BASE.depth), "width": (0.38, BASE.depth), "depth": (BASE.width, 0.76)}


def load_room(folder: Path = RESULTS.parent / "pilots") -> pd.DataFrame:
    """The room experiment's rows (one per network and seed), with `step` (base, width, depth)
    and `last_map` (the side of the last stage's feature map)."""
    files = [folder / name for name in ROOM_FILES if (folder / name).is_file()]
    if not files:
        raise MissingInputError(
            f"{folder}: none of {', '.join(ROOM_FILES)}; make them with "
            f"`python scripts/regime_pilot.py fm32-cause fm64-study fm128-cause --seeds 0 1 2`"
        )
    t = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    step = pd.Series(pd.NA, index=t.index, dtype="object")
    for name, (w, d) in ROOM_STEPS.items():
        step[np.isclose(t.width, w) & np.isclose(t.depth, d)] = name
    t = t.assign(step=step).dropna(subset=["step"])
    t = t[t.resolution.isin([32, 64, 128])]
    return t.assign(last_map=t.resolution // 32).reset_index(drop=True)
