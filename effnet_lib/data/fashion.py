"""Fashion-MNIST as an ordinary image folder: a second built-in dataset, with real labels.

Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; MIT licence) holds 28 x 28 grey photos of
Zalando articles in ten classes (T-shirt/top, trouser, pullover, dress, coat, sandal, shirt,
sneaker, bag, ankle boot). Its confusions teach: shirts, T-shirts, pullovers and coats are
mistaken for each other, footwear for footwear, while trousers and bags are almost never wrong.

The workbook vendors a class-balanced subset of the original IDX files under
``data/fashion-mnist/`` (licence and data card next to them), so ``--data fashion`` works
offline from a fresh clone. The full set is read instead when given: Debian's
``dataset-fashion-mnist`` package, or ``python -m effnet_lib data fetch fashion-mnist``
(sha256-pinned download). `build` writes the usual tree::

    ROOT/train/<class>/<class>_00000.png     from the original training set
    ROOT/val/<class>/...                     from the original training set, disjoint from train
    ROOT/test/<class>/...                    from the original test set
    ROOT/fashion.json                        recipe, counts, source files and their sha256

Images stay at 28 px (PNG, mode L); the transforms resize them to the model's resolution, so
above 28 px a network sees the same detail on larger feature maps.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..errors import ExistsError, InputError, MissingInputError, ParameterError

__all__ = [
    "CLASSES",
    "FILES",
    "SUBSET_COUNTS",
    "DEFAULT_COUNTS",
    "default_root",
    "read_idx",
    "load_source",
    "build",
    "ensure",
    "vendor_subset",
]

# Folder names (the original label names, made file-system friendly), in label order 0..9.
CLASSES: tuple[str, ...] = (
    "tshirt_top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle_boot",
)
# The original files and their sha256 (as published by zalandoresearch and packaged by Debian).
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
DEBIAN = Path("/usr/share/datasets/fashion-mnist")
REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "data" / "fashion-mnist"
# Per class: the vendored subset holds this many training-set and test-set images.
SUBSET_COUNTS = {"train": 1000, "test": 500}
RECIPE_VERSION = 1
_MANIFEST = "fashion.json"


DEFAULT_COUNTS = (500, 100, 500)  # train, val, test per class


def default_root(counts) -> Path:
    """Where a build goes: ``$EFFNET_FASHION_DIR``, else ``data/fashion`` in a checkout, else the
    user cache; one folder per count triple, so several sizes can sit side by side."""
    name = "fashion" + ("" if tuple(counts) == DEFAULT_COUNTS else "-" + "-".join(map(str, counts)))
    env = os.environ.get("EFFNET_FASHION_DIR")
    if env:
        return Path(env).expanduser() / name
    if (REPO / "pyproject.toml").is_file():
        return REPO / "data" / name
    return Path.home() / ".cache" / "effnet_workbook" / name


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain) as a numpy array: uint8 images (n, 28, 28) or labels (n,)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise InputError(f"{path}: not an IDX file of unsigned bytes; expected the Fashion-MNIST files")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise InputError(f"{path}: IDX header says {shape}, the file holds {data.size} values; the file is cut short")
    return data.reshape(shape)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _source_dir(source) -> Path:
    if source is not None:
        return Path(source).expanduser()
    if (VENDORED / "train-images-idx3-ubyte.gz").is_file():
        return VENDORED
    return DEBIAN


def load_source(source=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'train': (images, labels), 'test': (images, labels)} from a folder of the four IDX files
    (default: the vendored subset, else Debian's package)."""
    folder = _source_dir(source)
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"
        for f in (images, labels):
            if not f.is_file():
                raise MissingInputError(
                    f"{f}: Fashion-MNIST file missing; pass a folder with the four IDX files, "
                    f"install Debian's dataset-fashion-mnist or run `python -m effnet_lib data "
                    f"fetch fashion-mnist`"
                )
        x, y = read_idx(images), read_idx(labels)
        if len(x) != len(y):
            raise InputError(f"{folder}: {len(x)} {split} images but {len(y)} labels")
        out[split] = (x, y)
    return out


def _draw(labels: np.ndarray, per_class: list[int], seed: int) -> list[np.ndarray]:
    """For each count in `per_class`, disjoint index sets with that many images of every class,
    drawn with a seeded permutation per class (so the first draw does not depend on the later)."""
    rng = np.random.default_rng(seed)
    picks = [[] for _ in per_class]
    for c in range(len(CLASSES)):
        idx = np.flatnonzero(labels == c)
        order = idx[rng.permutation(len(idx))]
        if sum(per_class) > len(order):
            raise ParameterError(
                f"class {CLASSES[c]!r} has {len(order)} images, {sum(per_class)} asked for; "
                f"use smaller counts or the full Fashion-MNIST files"
            )
        start = 0
        for j, n in enumerate(per_class):
            picks[j].append(np.sort(order[start : start + n]))
            start += n
    return [np.concatenate(p) for p in picks]


def _write_png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(arr, mode="L").save(path, format="PNG", optimize=False, compress_level=6)


def _recipe(counts, seed, source: Path) -> dict:
    return {
        "recipe_version": RECIPE_VERSION,
        "counts": [int(c) for c in counts],
        "seed": int(seed),
        "classes": list(CLASSES),
        "source_sha256": {f: _sha256(source / f) for f in sorted(FILES) if (source / f).is_file()},
    }


def build(root=None, *, counts=DEFAULT_COUNTS, seed: int = 0, source=None, force: bool = False) -> Path:
    """Write `counts` = (train, val, test) images per class as a PNG tree under `root`.

    Train and val are drawn, disjoint, from the original training set; test from the original
    test set. Idempotent (an identical recipe is left alone) and atomic (written to a hidden
    sibling and renamed into place), like the texture set's `builtin.build`.
    """
    counts = tuple(int(c) for c in counts)
    if len(counts) != 3 or min(counts) < 1:
        raise ParameterError(f"counts must be three positive ints (train, val, test per class), got {counts}")
    root = Path(root if root is not None else default_root(counts)).expanduser()
    src = _source_dir(source)
    recipe = _recipe(counts, seed, src)
    try:
        if not force and json.loads((root / _MANIFEST).read_text())["recipe"] == recipe:
            return root
    except (OSError, ValueError, KeyError):
        pass
    if root.exists() and not (root / _MANIFEST).is_file() and any(root.iterdir()):
        raise ExistsError(f"{root}: exists and is not a Fashion-MNIST build; refusing to replace it")
    data = load_source(src)
    (x_tr, y_tr), (x_te, y_te) = data["train"], data["test"]
    train_idx, val_idx = _draw(y_tr, [counts[0], counts[1]], seed)
    (test_idx,) = _draw(y_te, [counts[2]], seed + 1)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(f".{root.name}.tmp-{uuid.uuid4().hex[:8]}")
    old = root.with_name(f".{root.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        written = {}
        for split, (x, y, idx) in {
            "train": (x_tr, y_tr, train_idx),
            "val": (x_tr, y_tr, val_idx),
            "test": (x_te, y_te, test_idx),
        }.items():
            for c, name in enumerate(CLASSES):
                (tmp / split / name).mkdir(parents=True)
                mine = idx[y[idx] == c]
                for k, i in enumerate(mine):
                    _write_png(tmp / split / name / f"{name}_{k:05d}.png", x[i])
            written[split] = {
                "per_class": counts[("train", "val", "test").index(split)],
                "source_indices": idx.tolist(),
            }
        manifest = {
            "recipe": recipe,
            "source": str(src),
            "splits": written,
            "note": "train and val: disjoint draws from the original training set; "
            "test: from the original test set; source_indices index the source IDX files",
        }
        (tmp / _MANIFEST).write_text(json.dumps(manifest) + "\n")
        if root.exists():
            os.replace(root, old)
        os.replace(tmp, root)
    finally:
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)
    return root


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes, gzip-compressed without a timestamp (same bytes every time)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    Path(path).write_bytes(gzip.compress(header + np.ascontiguousarray(array, np.uint8).tobytes(), mtime=0))


def vendor_subset(source, out=VENDORED, counts=SUBSET_COUNTS, seed: int = 0) -> dict[str, str]:
    """Write the class-balanced subset that the repository carries: `counts` images per class
    from each original split, drawn with a seeded permutation per class, in the original IDX
    format. The source files must be the published ones (their sha256 is checked)."""
    source, out = Path(source), Path(out)
    for name, digest in FILES.items():
        if _sha256(source / name) != digest:
            raise InputError(f"{source / name}: sha256 differs from the published file; use the original files")
    data = load_source(source)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x, y = data[split]
        (idx,) = _draw(y, [counts[split]], seed)
        for kind, array in (("images-idx3", x[idx]), ("labels-idx1", y[idx])):
            path = out / f"{prefix}-{kind}-ubyte.gz"
            _write_idx(path, array)
            written[path.name] = _sha256(path)
    return written


def ensure(root=None, counts=DEFAULT_COUNTS) -> Path:
    """The default build, made if missing (what ``--data fashion`` calls)."""
    return build(root, counts=counts)
