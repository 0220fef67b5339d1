"""The workbook's built-in offline dataset: texture patches cut from real photos.

Why this exists: the workbook needs an image-classification folder that works
with no network and no licence worries, yet is hard enough that model width,
depth and *input resolution* make a visible difference. scikit-image ships a
dozen real photographs inside its wheel (``skimage/data/``); we cut 12 classes
of patches out of them (brick, grass, ..., rocket) and write an ordinary
image-folder tree::

    ROOT/train/<class>/<class>_00000.png
    ROOT/val/<class>/...
    ROOT/test/<class>/...
    ROOT/builtin.json          # recipe, counts, source boxes, build time

What makes it an honest benchmark rather than a trick:

* Train, val and test patches come from spatially disjoint horizontal bands of
  each photo (train on top, then val, then test), so a model cannot pass the
  test by recognising pixels it has already seen.
* Patches are cut at the photo's native resolution; downsampling the input
  therefore really throws information away.
* Cheap cues are removed: colour (everything is converted to grey), brightness
  and contrast (every patch gets the same grey-level histogram, Gaussian with
  mean ~128 and std ~48, by rank mapping) and orientation (random 90-degree
  rotation and flip). What is left is texture and local structure.

The classes are materials/photos, not species: this set is a stand-in for a
folder of bird photos. The build is deterministic (seeded numpy Generator,
pillow PNGs without metadata) and idempotent; see :func:`build`. Defaults:
96 px patches, 160/40/40 patches per class for train/val/test, which keeps the
tree under 20 MB.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

import numpy as np

from ..errors import ExistsError, ParameterError
from ..files import replace_folder

__all__ = ["CLASSES", "SOURCES", "SPLITS", "RECIPE_VERSION", "default_root", "build", "ensure"]

# Bump whenever the recipe changes in a way that changes the output files, so
# that an existing build on disk is recognised as stale and rebuilt.
RECIPE_VERSION = 1

SPLITS = ("train", "val", "test")

# Credit/licence text quoted from the docstrings of the skimage.data loaders
# (scikit-image 0.26; links inlined). The photos ship inside the scikit-image
# wheel, whose LICENSE.txt is BSD-3-Clause for the package as a whole.
SOURCES: dict[str, dict[str, str]] = {
    "brick": dict(
        function="skimage.data.brick",
        description="A small section of a brick wall.",
        licence="The original image was downloaded from CC0Textures "
        "(https://cc0textures.com/view.php?tex=Bricks25) and licensed under the "
        "Creative Commons CC0 License.",
    ),
    "grass": dict(
        function="skimage.data.grass",
        description="Some grass.",
        licence="The original image was downloaded from DeviantArt "
        "(https://www.deviantart.com/linolafett/art/Grass-01-434853879) and "
        "licensed under the Creative Commons CC0 License.",
    ),
    "gravel": dict(
        function="skimage.data.gravel",
        description="Grayscale gravel sample.",
        licence="The original image was downloaded from CC0Textures "
        "(https://cc0textures.com/view.php?tex=Gravel04) and licensed under the "
        "Creative Commons CC0 License.",
    ),
    "moon": dict(
        function="skimage.data.moon",
        description="Surface of the moon (a low-contrast image).",
        licence="Not stated: scikit-image's docstring gives no source, credit or "
        "licence for this image; it is distributed inside the scikit-image "
        "package (BSD-3-Clause).",
    ),
    "cell": dict(
        function="skimage.data.cell",
        description="Cell floating in saline: a quantitative phase image.",
        licence="This image is CC0, dedicated to the public domain. You may copy, "
        "modify, or distribute it without asking permission. (Data from Müller et "
        "al., Optics Express 26(8): 10729-10743, 2018.)",
    ),
    "hubble_deep_field": dict(
        function="skimage.data.hubble_deep_field",
        description="Hubble eXtreme Deep Field.",
        licence="This image was downloaded from HubbleSite "
        "(http://hubblesite.org/newscenter/archive/releases/2012/37/image/a/). "
        "The image was captured by NASA and may be freely used in the public domain.",
    ),
    "retina": dict(
        function="skimage.data.retina",
        description="Human retina (fundus photograph of a normal left eye).",
        licence="This image was downloaded from wikimedia "
        "(https://commons.wikimedia.org/wiki/File:Fundus_photograph_of_normal_left_eye.jpg). "
        "This file is made available under the Creative Commons CC0 1.0 Universal "
        "Public Domain Dedication. (Häggström, Mikael (2014), WikiJournal of Medicine 1(2).)",
    ),
    "immunohistochemistry": dict(
        function="skimage.data.immunohistochemistry",
        description="Immunohistochemical (IHC) staining with hematoxylin counterstaining.",
        licence="This image was acquired at the Center for Microscopy And Molecular "
        "Imaging (CMMI). No known copyright restrictions.",
    ),
    "camera": dict(
        function="skimage.data.camera",
        description='Gray-level "camera" image (the post-0.18 replacement of the classic cameraman photo).',
        licence="No copyright restrictions. CC0 by the photographer (Lav Varshney). "
        "(Changed in 0.18: this image was replaced due to copyright restrictions; "
        "see https://github.com/scikit-image/scikit-image/issues/3927.)",
    ),
    "astronaut": dict(
        function="skimage.data.astronaut",
        description="Color image of the astronaut Eileen Collins.",
        licence="This image was downloaded from the NASA Great Images database "
        "(https://flic.kr/p/r9qvLn). No known copyright restrictions, released "
        "into the public domain.",
    ),
    "coffee": dict(
        function="skimage.data.coffee",
        description="Coffee cup; courtesy of Pikolo Espresso Bar.",
        licence="No copyright restrictions. CC0 by the photographer (Rachel Michetti).",
    ),
    "rocket": dict(
        function="skimage.data.rocket",
        description="Launch photo of DSCOVR on Falcon 9 by SpaceX.",
        licence="This image was downloaded from SpaceX Photos "
        "(https://www.flickr.com/photos/spacexphotos/16511594820/in/photostream/). "
        "The image was captured by SpaceX and released in the public domain.",
    ),
}

CLASSES: tuple[str, ...] = tuple(SOURCES)

# Every patch gets the grey histogram of N(128, 48): std 48 uses most of the
# 8-bit range while only ~0.8% of the Gaussian falls outside [0, 255].
_TARGET_MEAN = 128.0
_TARGET_STD = 48.0
# Patches flatter than this (grey levels, before standardisation) are almost
# pure sensor/JPEG noise, e.g. the black corners around the retina; stretched
# to full contrast they would form a "flat noise" class cue, so are redrawn.
_MIN_SOURCE_STD = 2.0
_MAX_TRIES = 10_000
# Fractions of the photo height given to val and test (train gets the rest).
_VAL_FRAC = 0.2
_TEST_FRAC = 0.2
_MANIFEST = "builtin.json"


def default_root() -> Path:
    """Where the dataset lives unless told otherwise.

    ``$EFFNET_BUILTIN_DIR`` if set; else ``<repo>/data/builtin`` when running
    from a source checkout; else ``~/.cache/effnet_workbook/builtin`` (an
    installed package must not write into site-packages).
    """
    env = os.environ.get("EFFNET_BUILTIN_DIR")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():
        return repo / "data" / "builtin"
    return Path.home() / ".cache" / "effnet_workbook" / "builtin"


def _recipe(patch_size: int, counts: tuple[int, int, int], seed: int) -> dict:
    import skimage

    return {
        "recipe_version": RECIPE_VERSION,
        "patch_size": int(patch_size),
        "counts": [int(c) for c in counts],
        "seed": int(seed),
        "classes": list(CLASSES),
        "skimage_version": skimage.__version__,
    }


def _load_grey(name: str) -> tuple[np.ndarray, list[int]]:
    """Photo as float64 grey at native resolution, plus its original shape."""
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    shape = list(img.shape)
    if img.ndim == 3:
        # Colour must not be a cue. Rec. 709 luma, as skimage.color.rgb2gray.
        img = img[..., :3].astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721])
    return img.astype(np.float64), shape


def _regions(height: int, patch: int) -> dict[str, tuple[int, int]]:
    """Disjoint row bands [r0, r1) per split, each at least one patch tall."""
    val_h = max(patch, round(_VAL_FRAC * height))
    test_h = max(patch, round(_TEST_FRAC * height))
    train_h = height - val_h - test_h
    if train_h < patch:
        raise ValueError(f"photo of height {height} too small for three bands of {patch} px")
    return {"train": (0, train_h), "val": (train_h, train_h + val_h), "test": (train_h + val_h, height)}


@functools.lru_cache(maxsize=4)
def _gaussian_levels(n: int) -> np.ndarray:
    """The n sorted grey values every patch is given: quantiles of N(128, 48)."""
    from statistics import NormalDist

    q = (np.arange(n) + 0.5) / n
    z = np.array([NormalDist().inv_cdf(v) for v in q])
    return np.clip(np.rint(_TARGET_MEAN + _TARGET_STD * z), 0, 255).astype(np.uint8)


def _standardise(patch: np.ndarray, levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Give the patch a fixed grey-level histogram; keep only the pixel order.

    A linear rescale to mean 128 / std 48 followed by clipping to [0, 255]
    leaves class-specific residues (sparse bright stars clip, so Hubble
    patches end up darker and flatter); a logistic regression on
    (mean, std) alone then scored 0.22 on test (chance 0.083). Mapping ranks onto
    fixed Gaussian quantiles makes mean, std and the whole histogram identical
    for every patch, so only spatial structure (texture) is left.
    Equal source values are ordered by a blurred copy of the patch (so flat
    areas become gentle ramps, not noise; and the PNGs come out ~9% smaller),
    then by random noise; ordering them by position would paint a fake
    raster gradient into flat areas.
    """
    from scipy.ndimage import gaussian_filter

    smooth = gaussian_filter(patch, 3.0)
    order = np.lexsort((rng.random(patch.size), smooth.ravel(), patch.ravel()))
    out = np.empty(patch.size, dtype=np.uint8)
    out[order] = levels
    return out.reshape(patch.shape)


def _cut(img, band, patch, n, rng):
    """n random patches inside one band; returns (patches, boxes, ops)."""
    r0, r1 = band
    width = img.shape[1]
    patches, boxes, ops = [], [], []
    levels = _gaussian_levels(patch * patch)
    tries = 0
    while len(patches) < n:
        tries += 1
        if tries > _MAX_TRIES:
            raise RuntimeError("could not find enough non-flat patches")
        top = int(rng.integers(r0, r1 - patch + 1))  # whole patch stays in band
        left = int(rng.integers(0, width - patch + 1))
        k = int(rng.integers(4))
        flip = int(rng.integers(2))
        crop = img[top : top + patch, left : left + patch]
        if crop.std() < _MIN_SOURCE_STD:
            continue
        out = np.rot90(_standardise(crop, levels, rng), k)
        if flip:
            out = out[:, ::-1]
        patches.append(np.ascontiguousarray(out))
        boxes.append([top, left, top + patch, left + patch])
        ops.append([k, flip])
    return patches, boxes, ops


def _write_png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image

    # No pnginfo and optimize=False: output depends only on pixels + zlib.
    Image.fromarray(arr, mode="L").save(path, format="PNG", optimize=False, compress_level=6)


def _dump_json(obj: dict) -> str:
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    # Keep each short list of ints (a box, an op, a shape) on one line.
    return re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", text)


def _read_recipe(root: Path) -> dict | None:
    try:
        return json.loads((root / _MANIFEST).read_text(encoding="utf-8")).get("recipe")
    except (OSError, ValueError, AttributeError):
        return None


def _write_tree(out: Path, recipe: dict) -> dict:
    patch, counts, seed = recipe["patch_size"], recipe["counts"], recipe["seed"]
    t0 = time.perf_counter()
    manifest = {
        "recipe": recipe,
        "counts": {s: {} for s in SPLITS},
        "regions": {},
        "source_shapes": {},
        "boxes": {s: {} for s in SPLITS},
        "ops": {s: {} for s in SPLITS},
    }
    for ci, cls in enumerate(CLASSES):
        img, manifest["source_shapes"][cls] = _load_grey(cls)
        if img.shape[1] < patch:
            raise ValueError(f"{cls} is narrower than the patch size {patch}")
        bands = _regions(img.shape[0], patch)
        manifest["regions"][cls] = {s: [r0, 0, r1, img.shape[1]] for s, (r0, r1) in bands.items()}
        for si, split in enumerate(SPLITS):
            # Own stream per (seed, class, split): changing one count or
            # adding a class does not reshuffle every other folder.
            rng = np.random.default_rng([seed, ci, si])
            patches, boxes, ops = _cut(img, bands[split], patch, counts[si], rng)
            folder = out / split / cls
            folder.mkdir(parents=True)
            for i, arr in enumerate(patches):
                _write_png(folder / f"{cls}_{i:05d}.png", arr)
            manifest["counts"][split][cls] = len(patches)
            manifest["boxes"][split][cls] = boxes
            manifest["ops"][split][cls] = ops
    manifest["build_seconds"] = round(time.perf_counter() - t0, 3)
    manifest["box_format"] = "[top, left, bottom, right) in source-photo pixels, grey photo"
    manifest["ops_format"] = "[k, flip]: np.rot90(patch, k), then left-right flip if flip"
    manifest["sources"] = SOURCES
    manifest["versions"] = _versions()  # PNG bytes also depend on pillow/zlib
    return manifest


def _versions() -> dict[str, str]:
    import PIL
    import scipy
    from PIL import features

    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pillow": PIL.__version__,
        "pillow_zlib": str(features.version("zlib")),
    }


def build(root=None, *, patch_size: int = 96, counts=(160, 40, 40), seed: int = 0, force: bool = False) -> Path:
    """Build the dataset under ``root`` (default :func:`default_root`) and return it.

    Idempotent: if ``root/builtin.json`` records the same recipe (parameters,
    :data:`RECIPE_VERSION`, scikit-image version) nothing is touched. Otherwise
    the tree is written to a temporary sibling folder and renamed into place,
    so readers never see a half-written dataset. An existing ``root`` is only
    replaced if it is empty or is itself a previous build (has builtin.json).
    """
    root = Path(root if root is not None else default_root()).expanduser()
    counts = tuple(int(c) for c in counts)
    if len(counts) != 3 or min(counts) < 1 or patch_size < 1:
        raise ParameterError("counts must be three positive ints (train, val, test); patch_size > 0")
    recipe = _recipe(patch_size, counts, seed)
    if not force and _read_recipe(root) == recipe:
        return root
    if root.exists() and not (root / _MANIFEST).is_file() and any(root.iterdir()):
        raise ExistsError(f"{root} exists and is not a built-in dataset; refusing to replace it")

    root.parent.mkdir(parents=True, exist_ok=True)
    # A sibling of root, so the final rename stays on one filesystem (atomic); its own name, so a
    # concurrent build of the same set does not clear it.
    tmp = root.with_name(f".{root.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        manifest = _write_tree(tmp, recipe)
        (tmp / _MANIFEST).write_text(_dump_json(manifest) + "\n", encoding="utf-8")
        try:
            replace_folder(tmp, root)
        except OSError:
            if _read_recipe(root) != recipe:  # a concurrent build may have won the race: fine if it is ours
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def ensure(root=None) -> Path:
    """The default build, made if missing (what ``--data builtin`` calls)."""
    return build(root)
