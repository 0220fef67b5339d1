"""Fixing the labels a user has checked: a relabel file, applied to a folder only when told.

`evaluate` writes `label_issues.csv` beside its predictions: the images whose label the model
finds least likely, ranked, each with the class the model believes, and an empty `new_label`
column. A user opens it, looks at the images, writes the right class into `new_label` where the
label is wrong and leaves the other rows empty. `python -m effnet_lib relabel FILE` then says what
it would move and moves nothing; with `--apply` it moves each file from its class folder into the
sibling folder of the new class (in whatever split it lies), and writes beside FILE a log of every
move, which undoes them when applied in reverse (`FILE.applied.csv`).

Every row is checked before the first file moves: the file exists and lies in the folder of the
label the row gives, the new class is a class of that split, nothing of that name is there yet.
One bad row stops the whole file, so a folder is never half relabelled by mistake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..files import atomic_write_text

__all__ = ["COLUMNS", "write_relabel_file", "Move", "plan", "apply"]

COLUMNS = ["rank", "path", "given", "suggested", "p_given", "p_suggested", "margin", "new_label"]


def write_relabel_file(issues: pd.DataFrame, path, n: int = 200) -> Path:
    """The first `n` rows of `diagnostics.label_issues(...)` (with class names), ready to edit."""
    table = issues.head(n).reset_index().assign(new_label="")
    return atomic_write_text(path, table[COLUMNS].to_csv(index=False, float_format="%.4f"))


@dataclass(frozen=True)
class Move:
    source: Path
    target: Path
    given: str
    new_label: str


def _read(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable CSV ({e})") from None
    missing = [c for c in ("path", "given", "new_label") if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: no column {', '.join(missing)}; start from the label_issues.csv that evaluate writes"
        )
    return table


def plan(path) -> list[Move]:
    """The moves the file asks for, every row checked; raises ValueError naming the first bad row."""
    path = Path(path)
    table = _read(path)
    moves, seen = [], set()
    for line, row in zip(range(2, len(table) + 2), table.itertuples(index=False)):  # line 1 is the header
        new = row.new_label.strip()
        if not new or new == row.given:
            continue
        where = f"{path}, line {line}"
        source = Path(row.path)
        if not source.is_file():
            raise InputError(
                f"{where}: {source} is not there (moved already, or another folder?); fix or clear the row"
            )
        if source.parent.name != row.given:
            raise InputError(
                f"{where}: {source} lies in folder {source.parent.name!r}, the row says "
                f"{row.given!r}; relabel files from the evaluation of this folder"
            )
        target_dir = source.parent.parent / new
        if not target_dir.is_dir():
            known = sorted(p.name for p in source.parent.parent.iterdir() if p.is_dir())
            raise InputError(
                f"{where}: no class {new!r} beside {row.given!r} in {source.parent.parent} (classes: "
                f"{', '.join(known[:8])}{', ...' if len(known) > 8 else ''}); check the spelling"
            )
        target = target_dir / source.name
        if target.exists() or target in seen:
            raise InputError(f"{where}: {target} exists already; rename one of the two files first")
        seen.add(target)
        moves.append(Move(source, target, row.given, new))
    return moves


def apply(path, moves: list[Move]) -> Path:
    """Move the files (each an atomic rename) and keep the log true however far the moves get: a
    row is written as "moving" before its file moves and as "moved" after, so a crash in between
    leaves one row to check, never an unlogged move."""
    log = Path(f"{path}.applied.csv")
    rows: list[dict] = []

    def write(status):
        rows[-1]["status"] = status
        atomic_write_text(log, pd.DataFrame(rows).to_csv(index=False))

    for m in moves:
        rows.append({"from": str(m.source), "to": str(m.target), "given": m.given, "new_label": m.new_label})
        write("moving")
        os.replace(m.source, m.target)
        write("moved")
    return log
