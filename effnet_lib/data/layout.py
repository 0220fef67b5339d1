"""How people name their folders: which subfolders are splits, which are run folders, and which
class names are the same name written two ways.

- **Splits** are recognised in any case and in the usual spellings (`train`/`training`,
  `val`/`valid`/`validation`/`dev`, `test`/`testing`), but only when the training folder holds
  class folders: a folder of class folders one of which is called `train` is a class, not a split.
  Two folders for one split, or split folders beside class folders, are refused by name.
- **Run folders** (a folder holding `last.pt`, `best.pt` or `history.csv`) inside a data folder are
  not classes: their figures would otherwise be read as images of a class called `run`.
- **Class names** that look the same to a person are matched across split folders: the same
  letters after Unicode normalisation (NFC), ignoring case and runs of spaces. The BIRDS-400 set
  itself needs this: its train/ folder has `BLACK & YELLOW  BROADBILL` (two spaces) where valid/
  and test/ have one. Two class folders of one split whose names match this way are refused.

Nothing here reads an image or knows of the model; `folders` uses it to open a folder.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ..errors import WorkbookError

__all__ = [
    "SPLIT_NAMES",
    "RUN_MARKERS",
    "LayoutError",
    "name_key",
    "is_run_folder",
    "find_splits",
    "match_names",
    "check_distinct",
]

SPLIT_NAMES = {
    "train": ("train", "training"),
    "val": ("val", "valid", "validation", "dev"),
    "test": ("test", "testing"),
}
RUN_MARKERS = ("last.pt", "best.pt", "history.csv")
_ALIAS = {alias: split for split, aliases in SPLIT_NAMES.items() for alias in aliases}


class LayoutError(WorkbookError, ValueError):
    """A folder whose layout cannot be read one way only; the message names what was found."""


def name_key(name: str) -> str:
    """What a person reads in a name: NFC letters, case and runs of spaces ignored."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def is_run_folder(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in RUN_MARKERS)


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "__pycache__")


def find_splits(root: Path) -> dict[str, Path]:
    """{'train': ..., 'val': ..., 'test': ...} for the split folders of `root` (those present), or
    {} when `root` is a folder of class folders."""
    found: dict[str, list[Path]] = {}
    for sub in _subfolders(root):
        split = _ALIAS.get(name_key(sub.name))
        if split:
            found.setdefault(split, []).append(sub)
    for split, dirs in found.items():
        if len(dirs) > 1:
            raise LayoutError(
                f"{root}: {' and '.join(d.name + '/' for d in dirs)} are both the {split} split; keep one of them"
            )
    train = found.get("train", [None])[0]
    if train is None or not [d for d in _subfolders(train) if not is_run_folder(d)]:
        return {}  # no split layout (a class may be called "train")
    others = [d.name for d in _subfolders(root) if _ALIAS.get(name_key(d.name)) is None and not is_run_folder(d)]
    if others:
        raise LayoutError(
            f"{root}: has the split folder {train.name}/ beside folders that are no split "
            f"({', '.join(others[:3])}{' ...' if len(others) > 3 else ''}); use split folders "
            f"(train/, val/, test/, each with class folders) or class folders, not both"
        )
    return {split: dirs[0] for split, dirs in found.items()}


def match_names(known: list[str], names: list[str]) -> tuple[dict[str, str], list[str], list[tuple[str, str]]]:
    """Names of another folder matched to `known` class names: exactly, else by `name_key`.
    Returns ({name: known name}, the names that match none, the (name, known) pairs matched only
    by key, which the caller reports)."""
    exact = set(known)
    by_key = {name_key(k): k for k in known}
    matched, unmatched, loose = {}, [], []
    for name in names:
        if name in exact:
            matched[name] = name
        elif name_key(name) in by_key:
            matched[name] = by_key[name_key(name)]
            loose.append((name, matched[name]))
        else:
            unmatched.append(name)
    return matched, unmatched, loose


def check_distinct(folder: Path, names: list[str]):
    """Refuse two class folders whose names a person reads as one."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name_key(name), name)
        if other != name:
            raise LayoutError(
                f"{folder}: class folders {other!r} and {name!r} differ only in case, spaces or "
                f"Unicode form; merge them or rename one"
            )
