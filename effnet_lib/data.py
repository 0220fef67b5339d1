"""Folders of images -> datasets and loaders, the same way for the built-in set and a user's photos.

Two layouts are read as they are:
- split folders: ``ROOT/train/<class>/...``, ``ROOT/val|valid|validation/<class>/...`` and an
  optional ``ROOT/test/<class>/...`` (the BIRDS-400 layout);
- one folder of class subfolders, ``ROOT/<class>/...``, split per class into train and validation
  with ``int(0.2 * n)`` validation images drawn with a seed (the practitioner's rule: 58,388 images
  -> 46,853 + 11,535). The split goes to a JSON manifest that later runs reuse, so a validation
  image never becomes a training image because a run was started again.

Images are decoded with Pillow (EXIF orientation applied, any mode converted to 8-bit RGB), reduced
once to a working resolution, and optionally kept in memory as uint8 tensors so that each epoch
costs only augmentation and the model. Unreadable files are skipped and reported, never fatal.

This module knows nothing of the model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.transforms import v2

from .io import atomic_write_text

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
VAL_FOLDERS = ("val", "valid", "validation")
# The ratio of resize to centre crop in torchvision's eval preprocessing per variant (its B2 crops
# 288 px; the paper's, and this library's, B2 resolution is 260: the ratio is what carries over).
EVAL_RESIZE_RATIO = {"b0": 256 / 224, "b1": 256 / 240, "b2": 1.0, "b3": 320 / 300, "b4": 384 / 380,
                     "b5": 1.0, "b6": 1.0, "b7": 1.0}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
if os.environ.get("EFFNET_MAX_IMAGE_PIXELS"):  # a trusted folder of huge scans: raise Pillow's bomb limit
    Image.MAX_IMAGE_PIXELS = int(os.environ["EFFNET_MAX_IMAGE_PIXELS"])
IMAGENET_STD = (0.229, 0.224, 0.225)


class DataError(ValueError):
    """A folder that cannot be trained on; the message names the path and the fix."""


# -----------------------------------------------------------------------------
# Finding images


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name != "__pycache__"


def list_classes(folder: Path) -> list[str]:
    """Class names: the visible subfolders, sorted (so indices do not depend on the file system)."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _visible(p))


def list_images(folder: Path) -> list[Path]:
    """Image files under `folder`, nested subfolders included, hidden files and folders skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return found


def _scan(folder: Path, classes: list[str]) -> list[tuple[str, int]]:
    return [(str(p), i) for i, c in enumerate(classes) if (folder / c).is_dir()
            for p in list_images(folder / c)]


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
    manifest: Path | None = None

    def split(self, name: str) -> list[tuple[str, int]]:
        if name not in ("train", "val", "test"):
            raise DataError(f"unknown split {name!r}; choose train, val or test")
        return getattr(self, name)

    def counts(self):
        """Images per class and split, as a DataFrame (classes as rows)."""
        import pandas as pd
        return pd.DataFrame({split: pd.Series([self.classes[y] for _, y in self.split(split)]).value_counts()
                             for split in ("train", "val", "test") if self.split(split)})

    def examples(self, split: str = "train") -> list[tuple[str, int]]:
        """The first sample of each class in `split`, in class order."""
        first: dict[int, str] = {}
        for path, label in self.split(split):
            first.setdefault(label, path)
        return [(first[k], k) for k in sorted(first)]

    def summary(self) -> str:
        return (f"{self.root}: {len(self.classes)} classes, {len(self.train)} train / "
                f"{len(self.val)} val / {len(self.test)} test images ({self.layout} layout)")


def _manifest_path(root: Path, val_fraction: float, seed: int) -> Path:
    name = f"split-val{val_fraction:g}-seed{seed}.json"
    if os.access(root, os.W_OK):
        return root / f".effnet-{name}"
    # A read-only data folder (a shared drive): keep the manifest in the user's cache instead.
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("EFFNET_CACHE", Path.home() / ".cache" / "effnet_workbook"))
    return cache / "splits" / f"{key}-{name}"


def open_image_folder(root: str | Path, *, val_fraction: float = 0.2, seed: int = 0,
                      manifest: str | Path | None = None, write: bool = True) -> ImageFolder:
    """Read a dataset folder in either layout; split a single folder reproducibly (see module doc)."""
    root = _existing_folder(root)
    if not 0 <= val_fraction < 1:
        raise DataError(f"val_fraction = {val_fraction:g}: must be at least 0 and below 1 (e.g. 0.2 for 20%)")
    if (root / "train").is_dir():
        classes = _nonempty_classes(root / "train")
        train = _scan(root / "train", classes)
        test = _scan(root / "test", classes) if (root / "test").is_dir() else []
        val_dir = next((root / v for v in VAL_FOLDERS if (root / v).is_dir()), None)
        for other in [d for d in (val_dir, root / "test") if d is not None and d.is_dir()]:
            _warn_unknown_classes(other, classes)
        if val_dir is not None:
            folder = ImageFolder(root, classes, train, _scan(val_dir, classes), test, "splits")
        else:
            folder = _split_with_manifest(root, classes, train, val_fraction, seed, manifest, write)
            folder.test = test
    else:
        classes = _nonempty_classes(root)
        folder = _split_with_manifest(root, classes, _scan(root, classes), val_fraction, seed, manifest, write)
    if not folder.train:
        raise DataError(f"{root}: the training split is empty; put images in the class folders")
    if not folder.val:
        raise DataError(f"{root}: the validation split is empty; add images (a class of n images "
                        f"gives int({val_fraction} * n) to validation) or a val/ folder")
    return folder


def _existing_folder(root) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; pass a folder of class subfolders "
                        f"(or with train/ and val/ inside), or --data builtin")
    return root


def _warn_unknown_classes(folder: Path, classes: list[str]):
    """Class folders of val/ or test/ that train/ lacks are not used: say so, with their sizes."""
    extra = [c for c in list_classes(folder) if c not in classes]
    if extra:
        sizes = ", ".join(f"{c} ({len(list_images(folder / c))} images)" for c in extra[:10])
        warnings.warn(f"{folder}: {len(extra)} class folder(s) not in train/ are left out: {sizes}"
                      + (" ..." if len(extra) > 10 else ""), stacklevel=3)


def labelled_images(root) -> tuple[list[str], list[tuple[str, int]]]:
    """Every image of a folder of class subfolders, unsplit: (classes, samples).

    For a held-out set (a user's test/ folder): nothing is drawn and nothing is written."""
    root = _existing_folder(root)
    classes = _nonempty_classes(root)
    return classes, _scan(root, classes)


def _nonempty_classes(folder: Path) -> list[str]:
    classes = list_classes(folder)
    if not classes:
        raise DataError(f"{folder}: no class folders found; expected {folder}/<class name>/<images>")
    empty = [c for c in classes if not list_images(folder / c)]
    for c in empty:
        warnings.warn(f"{folder / c}: class folder holds no images; skipped", stacklevel=3)
    classes = [c for c in classes if c not in empty]
    if not classes:
        raise DataError(f"{folder}: every class folder is empty; put image files in them")
    return classes


def has_split(root, val_fraction: float = 0.2, seed: int = 0) -> bool:
    """Whether `root` has a split of its own: split folders, or a manifest a training run drew."""
    root = Path(root).expanduser()
    return (root / "train").is_dir() or _manifest_path(root, val_fraction, seed).is_file()


def _split_with_manifest(root, classes, samples, val_fraction, seed, manifest, write=True) -> ImageFolder:
    path = Path(manifest) if manifest else _manifest_path(root, val_fraction, seed)
    rel = [(os.path.relpath(p, root), y) for p, y in samples]
    if path.exists():
        saved = json.loads(path.read_text())
        listed = {tuple(s) for s in saved["train"] + saved["val"]}
        if saved["classes"] != classes or listed != set(rel):
            raise DataError(f"{path}: split manifest does not match the files under {root}: "
                            f"{_changes(saved['classes'], classes, listed, set(rel))}; put the files back, "
                            f"or delete the manifest to draw a new split")
        train, val = saved["train"], saved["val"]
    else:
        train, val = split_per_class(rel, val_fraction, seed)
        record = {"root": str(root.resolve()), "rule": "int(val_fraction * n) per class, "
                  "numpy default_rng(seed).permutation over each class's sorted files",
                  "val_fraction": val_fraction, "seed": seed, "classes": classes,
                  "train": train, "val": val}
        if not write:  # drawn the same way, kept in memory (a folder that must not be written into)
            path = None
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(record))
    absolute = lambda items: [(str(root / p), int(y)) for p, y in items]  # noqa: E731
    return ImageFolder(root, classes, absolute(train), absolute(val), [], "single", path)


def _changes(old_classes, new_classes, old_files, new_files) -> str:
    """What differs between a manifest and the folder, in a few words."""
    parts = []
    for what, old, new in (("classes", set(old_classes), set(new_classes)),
                           ("files", {f for f, _ in old_files}, {f for f, _ in new_files})):
        for verb, names in (("added", sorted(new - old)), ("removed", sorted(old - new))):
            if names:
                parts.append(f"{len(names)} {what} {verb} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
    return "; ".join(parts) or "files moved between classes"


# -----------------------------------------------------------------------------
# Decoding


def load_image(path: str | Path, max_side: int | None = None) -> torch.Tensor | None:
    """An 8-bit RGB CHW tensor, or None when the file cannot be read as an image.

    EXIF orientation is applied; 16-bit, greyscale, CMYK, palette and alpha images are converted.
    With `max_side`, the image is reduced (never enlarged) so its shorter side is `max_side`.
    """
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max_side, max_side) if max_side else img.size)  # cheap JPEG downscale
            img = ImageOps.exif_transpose(img)
            img.load()
            img = _to_rgb(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError):
        return None
    if max_side and min(img.size) > max_side:
        scale = max_side / min(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.BICUBIC, reducing_gap=None)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def unreadable_reason(path: str | Path) -> str:
    """Why `load_image` gave None for `path`, in words a user can act on."""
    try:
        with Image.open(path) as img:
            img.load()
    except Image.DecompressionBombError as e:
        return (f"larger than Pillow's decompression-bomb limit ({e}); if the file is trusted, raise "
                f"Pillow's MAX_IMAGE_PIXELS (now {Image.MAX_IMAGE_PIXELS:,}; images over twice it are refused) "
                f"with the environment variable EFFNET_MAX_IMAGE_PIXELS")
    except FileNotFoundError:
        return "no such file"
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        return f"not a readable image ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
    return "not a readable image"


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit / float greyscale
        a = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        img = Image.fromarray(np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


# -----------------------------------------------------------------------------
# Transforms


@dataclass(frozen=True)
class Transforms:
    """Augmentation and preprocessing, as plain settings so they can be saved with a run."""

    image_size: int = 224
    resize_ratio: float = 256 / 224  # eval: resize shorter side to size * ratio, then centre crop
    crop_scale: tuple[float, float] = (0.08, 1.0)
    hflip: bool = True
    autoaugment: bool = False
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @property
    def resize_size(self) -> int:
        return max(self.image_size, round(self.image_size * self.resize_ratio))

    @property
    def working_size(self) -> int:
        """Images are reduced once to this shorter side (a quarter above the eval resize)."""
        return math.ceil(self.resize_size * 1.25)

    def train(self, normalise: bool = True) -> v2.Compose:
        """Random crop and flip (AutoAugment in the paper recipe); uint8 out when not `normalise`."""
        steps = [v2.RandomResizedCrop(self.image_size, scale=self.crop_scale, antialias=True)]
        if self.hflip:
            steps.append(v2.RandomHorizontalFlip())
        if self.autoaugment:
            steps.append(v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET))
        return v2.Compose(steps + (self._normalise() if normalise else []))

    def eval(self, normalise: bool = True) -> v2.Compose:
        # Bicubic, as torchvision's EfficientNet weights were evaluated.
        steps = [v2.Resize(self.resize_size, interpolation=v2.InterpolationMode.BICUBIC, antialias=True),
                 v2.CenterCrop(self.image_size)]
        return v2.Compose(steps + (self._normalise() if normalise else []))

    def crop_params(self) -> CropParams:
        """The train augmentation split in two: draw each image's crop and flip (per sample, cheap),
        then cut and resize the whole batch at once on its device (`crop_batch`)."""
        return CropParams(self.crop_scale, self.hflip)

    def crop_batch(self, canvas: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """uint8 images (padded to one size) and their (top, left, height, width, flip) -> float
        crops at `image_size`, still unnormalised. One roi_align call does every crop-and-resize;
        its adaptive sampling averages over each output pixel's area, like an antialiased resize."""
        from torchvision.ops import roi_align
        p = params.to(canvas.device, torch.float32)
        boxes = torch.stack([torch.arange(len(p), device=p.device, dtype=p.dtype),
                             p[:, 1], p[:, 0], p[:, 1] + p[:, 3], p[:, 0] + p[:, 2]], 1)
        out = roi_align(canvas.float(), boxes, self.image_size, spatial_scale=1.0, sampling_ratio=-1, aligned=True)
        return torch.where(p[:, 4, None, None, None] > 0, out.flip(-1), out)

    def normalise_batch(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 batch -> normalised float, once per batch on its device (cheaper than per image)."""
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1) * 255  # uint8 or 0-255 float
        inv_std = 1 / (torch.tensor(self.std, device=x.device).view(1, 3, 1, 1) * 255)
        return (x.float() - mean) * inv_std

    def to_image(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation of one CHW tensor: HWC in [0, 1], ready for imshow."""
        mean, std = torch.tensor(self.mean)[:, None, None], torch.tensor(self.std)[:, None, None]
        return (x * std + mean).clamp(0, 1).permute(1, 2, 0)

    def _normalise(self):
        return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(self.mean, self.std)]


class CropParams:
    """RandomResizedCrop's choice of box (area in `scale`, aspect ratio in [3/4, 4/3], ten tries,
    then the centre) and a coin for the flip, drawn from torch's default generator; the image
    itself is left untouched for `Transforms.crop_batch`."""

    def __init__(self, scale=(0.08, 1.0), hflip=True, ratio=(3 / 4, 4 / 3)):
        self.scale, self.hflip, self.log_ratio = scale, hflip, (math.log(ratio[0]), math.log(ratio[1]))

    def __call__(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = img.shape[-2:]
        area = height * width
        box = None
        for _ in range(10):
            target = area * torch.empty(1).uniform_(*self.scale).item()
            aspect = math.exp(torch.empty(1).uniform_(*self.log_ratio).item())
            w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                top = torch.randint(0, height - h + 1, (1,)).item()
                left = torch.randint(0, width - w + 1, (1,)).item()
                box = (top, left, h, w)
                break
        if box is None:  # fall back to the largest centred box within the ratio range
            ratio = width / height
            lo, hi = math.exp(self.log_ratio[0]), math.exp(self.log_ratio[1])
            w, h = (width, round(width / lo)) if ratio < lo else (round(height * hi), height) if ratio > hi else (width, height)
            box = ((height - h) // 2, (width - w) // 2, h, w)
        flip = float(self.hflip and torch.rand(1).item() < 0.5)
        return img, torch.tensor([*box, flip])


# -----------------------------------------------------------------------------
# Datasets and loaders


class ImageDataset(Dataset):
    """(image, label, index) per sample; (None, label, index) for a file that cannot be read.

    With `seed`, each sample's augmentation draws from its own generator state, a function of
    (seed, epoch, index): the same images come out whatever the number of workers or processes.
    """

    def __init__(self, samples, transform=None, working_size: int | None = None, cache=None, seed=None):
        self.samples, self.transform, self.working_size, self.cache = samples, transform, working_size, cache
        self.seed, self.epoch = seed, 0

    def __len__(self):
        return len(self.samples)

    def decoded(self, i: int) -> torch.Tensor | None:
        if self.cache is not None:
            return self.cache[i]
        return load_image(self.samples[i][0], self.working_size)

    def __getitem__(self, key):
        # A training sampler yields (index, epoch): persistent workers never see `self.epoch` change.
        i, epoch = key if isinstance(key, tuple) else (key, self.epoch)
        img = self.decoded(i)
        label = self.samples[i][1]
        if img is None:
            return None, label, i
        if self.transform is None:
            return img, label, i
        if self.seed is None:
            return self.transform(img), label, i
        with torch.random.fork_rng(devices=[]):
            # The CPU generator only: torch.manual_seed would also queue CUDA seeding, at a cost of
            # a stack trace per call (ms per image).
            torch.default_generator.manual_seed((self.seed * 1_000_003 + epoch * 100_003 + i) % 2**63)
            return self.transform(img), label, i


def collate(batch):
    """Stack the readable samples; report the indices of unreadable ones instead of failing.

    Samples of `CropParams` give (image, params): the images are padded to the batch's largest
    size and x is (canvas, params), ready for `Transforms.crop_batch`."""
    good = [b for b in batch if b[0] is not None]
    bad = [b[2] for b in batch if b[0] is None]
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long), bad
    if isinstance(good[0][0], tuple):
        images = [b[0][0] for b in good]
        height, width = max(i.shape[1] for i in images), max(i.shape[2] for i in images)
        canvas = torch.zeros(len(images), 3, height, width, dtype=torch.uint8)
        for c, img in zip(canvas, images):
            c[:, :img.shape[1], :img.shape[2]] = img
        x = (canvas, torch.stack([b[0][1] for b in good]))
    else:
        x = torch.stack([b[0] for b in good])
    return x, torch.tensor([b[1] for b in good]), torch.tensor([b[2] for b in good]), bad


def to_device(x, transforms: Transforms, device, memory_format=torch.contiguous_format) -> torch.Tensor:
    """A collated batch -> normalised float on `device`, cropping there when x is (canvas, params)."""
    if isinstance(x, (tuple, list)):
        canvas, params = x
        x = transforms.crop_batch(canvas.to(device, non_blocking=True), params.to(device, non_blocking=True))
    else:
        x = x.to(device, non_blocking=True)
    return transforms.normalise_batch(x).contiguous(memory_format=memory_format)


def decode_all(samples, working_size: int, max_bytes: int, workers: int = 0, desc="decoding"):
    """Decode every image once into a list of uint8 tensors, or None when they would not fit.

    The estimate assumes 4:3 images at the working size; the actual total is checked as we go.
    """
    estimate = len(samples) * 3 * working_size * working_size * 4 // 3
    if estimate > max_bytes:
        return None
    from tqdm.auto import tqdm

    ds = ImageDataset(samples, None, working_size)
    loader = DataLoader(ds, batch_size=64, num_workers=workers, collate_fn=list)
    cache: list[torch.Tensor | None] = [None] * len(samples)
    total = 0
    for batch in tqdm(loader, desc=desc, leave=False, disable=len(samples) < 2000):
        for img, _, i in batch:
            cache[i] = img
            total += img.numel() if img is not None else 0
        if total > max_bytes:
            return None
    return cache


def same_image_in_two_classes(samples, cache, classes) -> list[tuple[str, str]]:
    """Pairs of files (one pair per class conflict) whose decoded pixels are identical but whose
    labels differ: a copy filed under two classes. Needs the decoded cache (`decode_all`)."""
    first: dict[bytes, int] = {}
    pairs = []
    for i, img in enumerate(cache):
        if img is None:
            continue
        key = hashlib.blake2b(img.numpy().tobytes(), digest_size=16).digest()
        j = first.setdefault(key, i)
        if j != i and samples[j][1] != samples[i][1]:
            pairs.append((f"{samples[j][0]} ({classes[samples[j][1]]})", f"{samples[i][0]} ({classes[samples[i][1]]})"))
    return pairs


class EpochSampler(Sampler):
    """A shuffle that depends only on (seed, epoch): resuming at epoch k replays epoch k's order.

    Shuffling, it yields (index, epoch) so that the dataset's augmentation knows the epoch even in
    a persistent worker; in order (evaluation), plain indices."""

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True):
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, 0

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter([(i, self.epoch) for i in torch.randperm(self.n, generator=g).tolist()])

    def __len__(self):
        return self.n


def make_loader(samples, transform, *, batch_size: int, working_size: int, shuffle=False,
                seed=0, workers=0, cache=None, sampler=None, pin_memory=False, drop_last=False):
    ds = ImageDataset(samples, transform, working_size, cache, seed if shuffle else None)
    sampler = sampler or EpochSampler(len(ds), seed, shuffle)
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      collate_fn=collate, pin_memory=pin_memory, drop_last=drop_last,
                      persistent_workers=workers > 0,  # no worker start-up every epoch
                      generator=torch.Generator().manual_seed(seed),
                      multiprocessing_context="fork" if workers and os.name == "posix" else None)


def seed_epoch(loader: DataLoader, seed: int, epoch: int):
    """Make epoch `epoch`'s order and augmentation a function of (seed, epoch) alone."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    loader.dataset.epoch = epoch
    loader.generator.manual_seed(seed * 100_003 + epoch)  # workers' seeds are drawn from this
    torch.manual_seed(seed * 100_003 + epoch)  # augmentation in the main process (workers=0)
