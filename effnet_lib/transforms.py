"""Augmentation and preprocessing, as plain settings that are saved with a run.

`Transforms` holds the input resolution, the eval resize ratio, the crop scale, flips,
AutoAugment and the normalisation; it builds torchvision v2 pipelines for training and
evaluation, or splits training augmentation in two (`crop_params` per image, `crop_batch` for the
whole batch on its device). Normalisation happens once per batch on the device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torchvision.ops import roi_align
from torchvision.transforms import v2

__all__ = ["EVAL_RESIZE_RATIO", "IMAGENET_MEAN", "IMAGENET_STD", "Transforms", "CropParams"]

# The ratio of resize to centre crop in torchvision's eval preprocessing per variant (its B2 crops
# 288 px; the paper's, and this library's, B2 resolution is 260: the ratio is what carries over).
EVAL_RESIZE_RATIO = {"b0": 256 / 224, "b1": 256 / 240, "b2": 1.0, "b3": 320 / 300, "b4": 384 / 380,
                     "b5": 1.0, "b6": 1.0, "b7": 1.0}
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
