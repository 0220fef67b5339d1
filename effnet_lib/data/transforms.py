"""Augmentation and preprocessing, as plain settings that are saved with a run.

`Transforms` holds the input resolution, the eval resize ratio, the crop scale, flips,
AutoAugment and the normalisation; it builds the pipelines for training and evaluation, or splits
training augmentation in two (`crop_params` per image, `crop_batch` for the whole batch on its
device). Normalisation happens once per batch on the device.

The crop, resize and flip are torchvision's RandomResizedCrop / Resize / CenterCrop /
RandomHorizontalFlip done with torch alone (same random draws, same uint8 antialiased resize,
identical pixels): importing torchvision costs a command-line run seconds of start-up, so it is
imported only for AutoAugment and the batched crop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["EVAL_RESIZE_RATIO", "IMAGENET_MEAN", "IMAGENET_STD", "Transforms", "CropParams", "Pipeline"]

# The ratio of resize to centre crop in torchvision's eval preprocessing per variant (its B2 crops
# 288 px; the paper's, and this library's, B2 resolution is 260: the ratio is what carries over).
EVAL_RESIZE_RATIO = {
    "b0": 256 / 224,
    "b1": 256 / 240,
    "b2": 1.0,
    "b3": 320 / 300,
    "b4": 384 / 380,
    "b5": 1.0,
    "b6": 1.0,
    "b7": 1.0,
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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

    def train(self, normalise: bool = True) -> Pipeline:
        """Random crop and flip (AutoAugment in the paper recipe); uint8 out when not `normalise`."""
        steps = [_RandomResizedCrop(self.image_size, self.crop_scale, self.hflip)]
        if self.autoaugment:
            from torchvision.transforms import v2

            steps.append(v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET))
        return Pipeline(steps + ([_Normalise(self.mean, self.std)] if normalise else []))

    def eval(self, normalise: bool = True) -> Pipeline:
        # Bicubic, as torchvision's EfficientNet weights were evaluated.
        steps = [_ResizeCentreCrop(self.resize_size, self.image_size)]
        return Pipeline(steps + ([_Normalise(self.mean, self.std)] if normalise else []))

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
        boxes = torch.stack(
            [
                torch.arange(len(p), device=p.device, dtype=p.dtype),
                p[:, 1],
                p[:, 0],
                p[:, 1] + p[:, 3],
                p[:, 0] + p[:, 2],
            ],
            1,
        )
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


class Pipeline:
    """Steps applied in turn to one CHW uint8 image tensor."""

    def __init__(self, steps):
        self.steps = list(steps)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            img = step(img)
        return img

    def __repr__(self):
        return f"Pipeline({self.steps})"


def _resize(img: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    return F.interpolate(img[None], size=size, mode=mode, antialias=True, align_corners=False)[0]


class _RandomResizedCrop:
    """A random box of the image (`CropParams`), resized to `size` (bilinear, antialiased), flipped
    on a coin."""

    def __init__(self, size: int, scale, hflip: bool):
        self.size, self.params = size, CropParams(scale, hflip)

    def __call__(self, img):
        _, (top, left, h, w, flip) = self.params(img)
        top, left, h, w = int(top), int(left), int(h), int(w)
        out = _resize(img[..., top : top + h, left : left + w], (self.size, self.size), "bilinear")
        return out.flip(-1) if flip else out


class _ResizeCentreCrop:
    """Shorter side to `resize` (bicubic, antialiased), then the centred `size` x `size` square."""

    def __init__(self, resize: int, size: int):
        self.resize, self.size = resize, size

    def __call__(self, img):
        h, w = img.shape[-2:]
        short, long = (h, w) if h <= w else (w, h)
        if short != self.resize:
            other = int(self.resize * long / short)
            img = _resize(img, (self.resize, other) if h <= w else (other, self.resize), "bicubic")
            h, w = img.shape[-2:]
        top, left = int(round((h - self.size) / 2.0)), int(round((w - self.size) / 2.0))
        return img[..., top : top + self.size, left : left + self.size]


class _Normalise:
    def __init__(self, mean, std):
        self.mean, self.std = torch.tensor(mean).view(3, 1, 1), torch.tensor(std).view(3, 1, 1)

    def __call__(self, img):
        return (img.float() / 255 - self.mean) / self.std


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
            w, h = (
                (width, round(width / lo))
                if ratio < lo
                else (round(height * hi), height)
                if ratio > hi
                else (width, height)
            )
            box = ((height - h) // 2, (width - w) // 2, h, w)
        flip = float(self.hflip and torch.rand(1).item() < 0.5)
        return img, torch.tensor([*box, flip])
