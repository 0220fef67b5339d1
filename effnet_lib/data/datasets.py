"""The built-in datasets by name, and the preprocessing each one is read with.

``--data builtin`` is the texture set (`effnet_lib.data.builtin`), ``--data fashion`` the vendored
Fashion-MNIST subset (`effnet_lib.data.fashion`; ``fashion-TRAIN-VAL-TEST`` builds another size, e.g.
``fashion-200-50-200`` images per class); any other value is a folder. A folder that one of
them built carries its marker file (``builtin.json``, ``fashion.json``), so a copy elsewhere, or a
build of another size, is read with the same settings.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["NAMES", "resolve", "transform_settings"]

NAMES = ("builtin", "fashion", "fashion-TRAIN-VAL-TEST")

# Per marker file: settings for `data.Transforms`. Textures keep the scale of the material (mild
# crops) and are evaluated on the whole patch. Fashion-MNIST's 28 px articles fill the frame: a
# crop cuts the article itself, so training sees the whole image, flipped at random (crops of
# half the area or more cost 8 points of test accuracy in 6 epochs; data/results/REGIME.md).
_SETTINGS = {
    "builtin.json": {"resize_ratio": 1.0, "crop_scale": (0.25, 1.0)},
    "fashion.json": {"resize_ratio": 1.0, "crop_scale": (1.0, 1.0)},
}


def resolve(data: str | Path) -> Path:
    """A dataset name or folder -> its folder (building a named one if it is not there yet)."""
    if data == "builtin":
        from .builtin import ensure

        return ensure()
    if data == "fashion":
        from .fashion import ensure

        return ensure()
    sized = re.fullmatch(r"fashion-(\d+)-(\d+)-(\d+)", str(data))
    if sized and not Path(data).exists():
        from .fashion import ensure

        return ensure(counts=tuple(int(n) for n in sized.groups()))
    return Path(data).expanduser()


def transform_settings(root: Path) -> dict | None:
    """`Transforms` settings of a folder built by this library, or None for a user's folder."""
    for marker, settings in _SETTINGS.items():
        if (Path(root) / marker).is_file():
            return dict(settings)
    return None
