"""Folders of images: which images, which class, which split.

Two layouts are read as they are:
- split folders: ``ROOT/train/<class>/...``, ``ROOT/val|valid|validation/<class>/...`` and an
  optional ``ROOT/test/<class>/...`` (the BIRDS-400 layout; other spellings and capitals, and
  class names written two ways, are read as `layout` says);
- one folder of class subfolders, ``ROOT/<class>/...``, split per class into train and validation
  with ``int(0.2 * n)`` validation images drawn with a seed (the practitioner's rule: 58,388 images
  -> 46,853 + 11,535). The split goes to a JSON manifest that later runs reuse, so a validation
  image never becomes a training image because a run was started again.

Reading one image is `images`' job (unreadable files are skipped and reported, never fatal; the
reason is given in words). Augmentation lives in `transforms`, batching in `loaders`. This module
knows nothing of the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import WorkbookError
from ..files import atomic_write_text
from .layout import check_distinct, find_splits, is_run_folder, match_names

__all__ = [
    "IMAGE_EXTENSIONS",
    "DataError",
    "ImageFolder",
    "list_classes",
    "list_images",
    "split_per_class",
    "other_files",
    "open_image_folder",
    "save_split",
    "split_changes",
    "labelled_images",
    "has_split",
]

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class DataError(WorkbookError, ValueError):
    """A folder that cannot be trained on; the message names the path and the fix."""


# -----------------------------------------------------------------------------
# Finding images


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name != "__pycache__"


def list_classes(folder: Path) -> list[str]:
    """Class names: the visible subfolders that are not run folders, sorted (so indices do not
    depend on the file system)."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _visible(p) and not is_run_folder(p))


def list_images(folder: Path) -> list[Path]:
    """Image files under `folder`, nested subfolders included, hidden files and folders skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return found


def other_files(folder: Path) -> str:
    """What a folder without images holds instead, in a few words: '5 .heic files', or ''."""
    found: dict[str, int] = {}
    for _, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith("."):
                suffix = Path(name).suffix.lower() or "(no extension)"
                found[suffix] = found.get(suffix, 0) + 1
    if not found:
        return ""
    kinds = ", ".join(f"{n} {s} file{'s' if n > 1 else ''}" for s, n in sorted(found.items(), key=lambda kv: -kv[1]))
    return (
        f"{kinds}; this library reads {', '.join(sorted(IMAGE_EXTENSIONS))} (convert the others, e.g. "
        f"HEIC photos to JPEG)"
    )


def _scan(folder: Path, classes: list[str]) -> list[tuple[str, int]]:
    return [(str(p), i) for i, c in enumerate(classes) if (folder / c).is_dir() for p in list_images(folder / c)]


def split_per_class(samples: list[tuple[str, int]], val_fraction: float = 0.2, seed: int = 0):
    """Draw ``int(val_fraction * n)`` validation samples from each class with a seeded generator."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[tuple[str, int]]] = {}
    for s in samples:
        by_class.setdefault(s[1], []).append(s)
    train, val = [], []
    for label in sorted(by_class):
        items = sorted(by_class[label])
        chosen = set(rng.permutation(len(items))[: int(val_fraction * len(items))].tolist())
        for i, s in enumerate(items):
            (val if i in chosen else train).append(s)
    return train, val


@dataclass
class ImageFolder:
    """The samples of each split of one dataset folder, and its class names."""

    root: Path
    classes: list[str]
    train: list[tuple[str, int]]
    val: list[tuple[str, int]]
    test: list[tuple[str, int]] = field(default_factory=list)
    layout: str = "splits"
    manifest: Path | None = None  # the split's manifest on disk (single layout), once written
    split_record: dict | None = field(default=None, repr=False)  # that split as drawn or read (single layout)
    manifest_target: Path | None = field(default=None, repr=False)  # where `save_split` writes it

    def split(self, name: str) -> list[tuple[str, int]]:
        if name not in ("train", "val", "test"):
            raise DataError(f"unknown split {name!r}; choose train, val or test")
        return getattr(self, name)

    def counts(self):
        """Images per class and split, as a DataFrame (classes as rows)."""
        import pandas as pd  # only for this table; the loaders' worker processes never need it

        return pd.DataFrame(
            {
                split: pd.Series([self.classes[y] for _, y in self.split(split)]).value_counts()
                for split in ("train", "val", "test")
                if self.split(split)
            }
        )

    def examples(self, split: str = "train") -> list[tuple[str, int]]:
        """The first sample of each class in `split`, in class order."""
        first: dict[int, str] = {}
        for path, label in self.split(split):
            first.setdefault(label, path)
        return [(first[k], k) for k in sorted(first)]

    def summary(self) -> str:
        return (
            f"{self.root}: {len(self.classes)} classes, {len(self.train)} train / "
            f"{len(self.val)} val / {len(self.test)} test images ({self.layout} layout)"
        )


def _manifest_path(root: Path, val_fraction: float, seed: int) -> Path:
    name = f"split-val{val_fraction:g}-seed{seed}.json"
    if os.access(root, os.W_OK):
        return root / f".effnet-{name}"
    # A read-only data folder (a shared drive): keep the manifest in the user's cache instead.
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("EFFNET_CACHE", Path.home() / ".cache" / "effnet_workbook"))
    return cache / "splits" / f"{key}-{name}"


def open_image_folder(
    root: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    manifest: str | Path | None = None,
    write: bool = True,
) -> ImageFolder:
    """Read a dataset folder in either layout; split a single folder reproducibly (see module doc)."""
    root = _existing_folder(root)
    if not 0 <= val_fraction < 1:
        raise DataError(f"val_fraction = {val_fraction:g}: must be at least 0 and below 1 (e.g. 0.2 for 20%)")
    splits = find_splits(root)
    if splits:
        classes = _nonempty_classes(splits["train"])
        train = _scan(splits["train"], classes)
        test = _scan_matched(splits["test"], classes) if "test" in splits else []
        if "val" in splits:
            folder = ImageFolder(root, classes, train, _scan_matched(splits["val"], classes), test, "splits")
            rel = lambda items: [(os.path.relpath(p, root), y) for p, y in items]  # noqa: E731
            folder.split_record = {
                "layout": "splits",
                "root": str(root.resolve()),
                "classes": classes,
                "train": rel(folder.train),
                "val": rel(folder.val),
            }  # a run's record of its data
        else:
            folder = _split_with_manifest(root, classes, train, val_fraction, seed, manifest, write)
            folder.test = test
    else:
        classes = _nonempty_classes(root)
        folder = _split_with_manifest(root, classes, _scan(root, classes), val_fraction, seed, manifest, write)
    if not folder.train:
        raise DataError(f"{root}: the training split is empty; put images in the class folders")
    if not folder.val:
        raise DataError(
            f"{root}: the validation split is empty; add images (a class of n images "
            f"gives int({val_fraction} * n) to validation) or a val/ folder"
        )
    return folder


def _existing_folder(root) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(
            f"{root}: no such folder; pass a folder of class subfolders "
            f"(or with train/ and val/ inside), or `data='builtin'`"
        )
    return root


def _scan_matched(folder: Path, classes: list[str]) -> list[tuple[str, int]]:
    """The images of a val/ or test/ folder, its class folders matched to train/'s by name (exactly,
    else as a person reads the name: `layout.match_names`); folders train/ lacks are left out, said."""
    names = list_classes(folder)
    check_distinct(folder, names)
    matched, extra, loose = match_names(classes, names)
    if loose:
        pairs = "; ".join(f"{a!r} as {b!r}" for a, b in loose[:3])
        warnings.warn(
            f"{folder}: {len(loose)} class folder(s) named as in train/ except for case, spaces or Unicode "
            f"form are matched to them: {pairs}{' ...' if len(loose) > 3 else ''}",
            stacklevel=3,
        )
    if extra:
        sizes = ", ".join(f"{c} ({len(list_images(folder / c))} images)" for c in extra[:10])
        warnings.warn(
            f"{folder}: {len(extra)} class folder(s) not in train/ are left out: {sizes}"
            + (" ..." if len(extra) > 10 else ""),
            stacklevel=3,
        )
    index = {c: i for i, c in enumerate(classes)}
    order = sorted(matched, key=lambda name: index[matched[name]])
    return [(str(p), index[matched[name]]) for name in order for p in list_images(folder / name)]


def labelled_images(root) -> tuple[list[str], list[tuple[str, int]]]:
    """Every image of a folder of class subfolders, unsplit: (classes, samples).

    For a held-out set (a user's test/ folder): nothing is drawn and nothing is written."""
    root = _existing_folder(root)
    classes = _nonempty_classes(root)
    return classes, _scan(root, classes)


def _nonempty_classes(folder: Path) -> list[str]:
    runs = [p.name for p in folder.iterdir() if p.is_dir() and _visible(p) and is_run_folder(p)]
    if runs:
        warnings.warn(
            f"{folder}: {', '.join(runs[:3])} {'is a run folder' if len(runs) == 1 else 'are run folders'} "
            f"(last.pt, history.csv), not a class; left out: keep run folders outside the data folder",
            stacklevel=3,
        )
    classes = list_classes(folder)
    check_distinct(folder, classes)
    if not classes:
        raise DataError(f"{folder}: no class folders found; expected {folder}/<class name>/<images>")
    empty = [c for c in classes if not list_images(folder / c)]
    for c in empty:
        instead = other_files(folder / c)
        warnings.warn(
            f"{folder / c}: class folder holds no images{': only ' + instead if instead else ''}; skipped", stacklevel=3
        )
    classes = [c for c in classes if c not in empty]
    if not classes:
        raise DataError(f"{folder}: every class folder is empty; put image files in them")
    return classes


def has_split(root, val_fraction: float = 0.2, seed: int = 0) -> bool:
    """Whether `root` has a split of its own: split folders, or a manifest a training run drew."""
    root = Path(root).expanduser()
    return bool(find_splits(root)) or _manifest_path(root, val_fraction, seed).is_file()


def _split_with_manifest(root, classes, samples, val_fraction, seed, manifest, write=True) -> ImageFolder:
    path = Path(manifest) if manifest else _manifest_path(root, val_fraction, seed)
    rel = [(os.path.relpath(p, root), y) for p, y in samples]
    if path.exists():
        saved = json.loads(path.read_text())
        listed = {tuple(s) for s in saved["train"] + saved["val"]}
        if saved["classes"] != classes or listed != set(rel):
            changes = _changes(saved["classes"], classes, listed, set(rel))
            if manifest:  # a run's own split (its split.json): deleting anything would mix the splits
                raise DataError(
                    f"{path}: the run's split does not match the files under {root}: {changes}; a "
                    f"resumed run keeps the split it trained on: resume on the same data (put the files "
                    f"back), or train a new run (another `out`, or `overwrite=True`) on the changed folder"
                )
            raise DataError(
                f"{path}: split manifest does not match the files under {root}: {changes}; put the "
                f"files back, or delete the manifest to draw a new split for new runs (a run "
                f"already trained keeps its own split.json and must not be resumed on the new one)"
            )
        train, val, record = saved["train"], saved["val"], saved
    else:
        train, val = split_per_class(rel, val_fraction, seed)
        record = {
            "root": str(root.resolve()),
            "rule": "int(val_fraction * n) per class, "
            "numpy default_rng(seed).permutation over each class's sorted files",
            "val_fraction": val_fraction,
            "seed": seed,
            "classes": classes,
            "train": train,
            "val": val,
        }
        if write:
            _write_manifest(path, record)
    absolute = lambda items: [(str(root / p), int(y)) for p, y in items]  # noqa: E731
    return ImageFolder(
        root, classes, absolute(train), absolute(val), [], "single", path if path.exists() else None, record, path
    )


def _write_manifest(path: Path, record: dict):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(record))
    except OSError as e:
        where = (
            f"the data folder {record['root']} is read-only, so it goes to the cache: set EFFNET_CACHE to a "
            f"writable folder"
            if path.parent.resolve() != Path(record["root"])
            else "make the folder writable"
        )
        raise DataError(f"{path}: cannot write the split manifest ({e.strerror}); {where}") from None


def save_split(folder: ImageFolder) -> Path | None:
    """Write a drawn split's manifest where later runs find it, if it is not there yet (a training
    run does this once it has an epoch on disk, so an inspection or a failed run leaves nothing)."""
    if folder.split_record is not None and folder.manifest is None and folder.manifest_target is not None:
        _write_manifest(folder.manifest_target, folder.split_record)
        folder.manifest = folder.manifest_target
    return folder.manifest


def split_changes(saved: dict, folder: ImageFolder) -> str:
    """What differs between a run's record of its data (its split.json) and the folder now, in a
    few words; '' when nothing does."""
    if folder.split_record is None:
        return ""
    now = folder.split_record
    listed = lambda r: {tuple(x) for x in r["train"] + r["val"]}  # noqa: E731
    if saved["classes"] == now["classes"] and listed(saved) == listed(now):
        return ""
    return _changes(saved["classes"], now["classes"], listed(saved), listed(now))


def _changes(old_classes, new_classes, old_files, new_files) -> str:
    """What differs between a manifest and the folder, in a few words."""
    parts = []
    for what, old, new in (
        ("classes", set(old_classes), set(new_classes)),
        ("files", {f for f, _ in old_files}, {f for f, _ in new_files}),
    ):
        for verb, names in (("added", sorted(new - old)), ("removed", sorted(old - new))):
            if names:
                parts.append(f"{len(names)} {what} {verb} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
    return "; ".join(parts) or "files moved between classes"


# -----------------------------------------------------------------------------
# Decoding
