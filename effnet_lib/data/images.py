"""Reading one image: `load_image` opens a file as an 8-bit RGB tensor (EXIF orientation applied;
16-bit, greyscale, CMYK, palette and transparent images converted, transparency onto white),
optionally reduced to a shorter side; `unreadable_reason` says why a file gave None, in words a user
can act on (no such file, over Pillow's decompression-bomb limit, or Pillow's own reason).

`folders` lists the files; the loaders and the predictor decode them through here. The environment
variable EFFNET_MAX_IMAGE_PIXELS raises Pillow's limit for a trusted folder of huge scans.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

if os.environ.get("EFFNET_MAX_IMAGE_PIXELS"):  # a trusted folder of huge scans: raise Pillow's bomb limit
    Image.MAX_IMAGE_PIXELS = int(os.environ["EFFNET_MAX_IMAGE_PIXELS"])

__all__ = ["load_image", "unreadable_reason"]


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
        img = img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BICUBIC, reducing_gap=None
        )
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def unreadable_reason(path: str | Path) -> str:
    """Why `load_image` gave None for `path`, in words a user can act on."""
    try:
        with Image.open(path) as img:
            img.load()
    except Image.DecompressionBombError as e:
        return (
            f"larger than Pillow's decompression-bomb limit ({e}); if the file is trusted, raise "
            f"Pillow's MAX_IMAGE_PIXELS (now {Image.MAX_IMAGE_PIXELS:,}; images over twice it are refused) "
            f"with the environment variable EFFNET_MAX_IMAGE_PIXELS"
        )
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
