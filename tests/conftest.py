import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# CPU runs are deterministic and small: pin threads so numbers do not depend on the machine's load.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def write_class_images(folder: Path, classes=("circles", "stripes", "noise"), per_class=12, size=48,
                       seed=0, fmt="png"):
    """A real image folder: each class has its own learnable pattern, with noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for k, name in enumerate(classes):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            phase = rng.uniform(0, 2 * np.pi)
            if k % 3 == 0:
                base = np.sin(np.hypot(yy - size / 2, xx - size / 2) / 2 + phase)
            elif k % 3 == 1:
                base = np.sin(xx / 2 + phase)
            else:
                base = rng.normal(size=(size, size))
            img = np.clip(128 + 60 * base[..., None] + rng.normal(0, 20, (size, size, 3)), 0, 255)
            img[..., k % 3] = np.clip(img[..., k % 3] + 30, 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(folder / name / f"{name}_{i:03d}.{fmt}")
    return folder


@pytest.fixture(scope="session")
def single_folder(tmp_path_factory):
    """One folder of class subfolders (split 80/20 by the library)."""
    return write_class_images(tmp_path_factory.mktemp("single"), per_class=15)


@pytest.fixture(scope="session")
def split_folder(tmp_path_factory):
    """The BIRDS-400 layout: train/ valid/ test/ with class subfolders."""
    root = tmp_path_factory.mktemp("birdslike")
    write_class_images(root / "train", per_class=16, seed=1)
    write_class_images(root / "valid", per_class=4, seed=2, fmt="jpg")
    write_class_images(root / "test", per_class=5, seed=3, fmt="jpg")
    return root


TINY = dict(model=None, width=0.25, depth=0.25, image_size=32, batch_size=8, cache_mb=64)
