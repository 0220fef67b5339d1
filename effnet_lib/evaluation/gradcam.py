"""Grad-CAM (Selvaraju et al., 2017): where in the image the network looked for a class.

The gradient of the class score with respect to a convolutional layer's activations, averaged
over space, weights each channel; the weighted sum of the channels, passed through ReLU and scaled
to [0, 1], is the map. For EfficientNet the natural layer is the last one before pooling (the 1x1
head conv), whose 7x7 grid (at 224 px) is coarse but class-specific. At a small input that grid
shrinks to 1x1 (32 px) and the map is one value spread over the image: it says nothing about
where. So by default the map comes from the last stage whose output is still at least
`MIN_SIDE` x `MIN_SIDE` (`cam_layer`): the head at 224 px, an earlier, less class-specific
stage at 32 px.

A short hook-based implementation: two hooks, one backward pass, no extra dependency. It computes
the maps only (`grad_cam`; `cam_maps` for one image file as a predictor sees it); `display.plots`
draws them (`overlay`, `cam_figure`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.images import load_image

__all__ = ["MIN_SIDE", "cam_layer", "cam_from", "grad_cam", "cam_maps"]

MIN_SIDE = 4  # the smallest map a Grad-CAM can show a place on


@torch.no_grad()
def cam_layer(model: nn.Module, image_size: int, min_side: int = MIN_SIDE, channels: int = 3) -> tuple[int, int]:
    """(index into `model.features`, its output side) of the last stage whose output map is at
    least `min_side` pixels wide at `image_size`; the first stage if none is."""
    device = next(model.parameters()).device
    sides, x = [], torch.zeros(1, channels, image_size, image_size, device=device)
    was_training = model.training
    model.eval()
    for block in model.features:
        x = block(x)
        sides.append(x.shape[-1])
    model.train(was_training)
    wide = [i for i, side in enumerate(sides) if side >= min_side]
    index = wide[-1] if wide else 0
    return index, sides[index]


def _weighted(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
    weights = gradients.mean(dim=(1, 2), keepdim=True)  # one number per channel: its push on the class
    return F.relu((weights * activations).sum(0))


def cam_from(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
    """The map on the layer's own grid (H x W, in [0, 1]) from one image's activations and the
    gradients of the class score with respect to them (both C x H x W)."""
    cam = _weighted(activations, gradients)
    top = cam.max()
    return cam / top if top > 0 else cam


def grad_cam(
    model: nn.Module, x: torch.Tensor, target: int | None = None, layer: nn.Module | None = None
) -> tuple[torch.Tensor, int]:
    """Map (H x W, in [0, 1], at the input's size) for class `target` (default: the top class),
    from `layer` (default: `cam_layer`'s choice for this input size)."""
    layer = layer if layer is not None else model.features[cam_layer(model, x.shape[-1], channels=x.shape[1])[0]]
    saved = {}

    def keep(module, inputs, out):
        saved["act"] = out
        out.register_hook(lambda grad: saved.__setitem__("grad", grad))

    hook = layer.register_forward_hook(keep)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)  # a graph exists even when the layer's weights are frozen
            logits = model(x)
            target = int(logits[0].argmax()) if target is None else target
            model.zero_grad(set_to_none=True)
            logits[0, target].backward()
    finally:
        hook.remove()
        model.train(was_training)
    cam = _weighted(saved["act"][0].detach(), saved["grad"][0].detach())
    cam = F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    top = cam.max()
    return (cam / top if top > 0 else cam), target


def cam_maps(predictor, path: str, classes) -> tuple:
    """The image as the network sees it (HWC in [0, 1]) and one Grad-CAM map per class name."""
    tf = predictor.transforms
    x = tf.eval()(load_image(path, tf.working_size))[None].to(predictor.device)
    maps = [grad_cam(predictor.model, x, predictor.classes.index(c))[0].cpu().numpy() for c in classes]
    return tf.to_image(x[0].cpu()).numpy(), maps
