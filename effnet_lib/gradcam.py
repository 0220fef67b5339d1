"""Grad-CAM (Selvaraju et al., 2017): where in the image the network looked for a class.

The gradient of the class score with respect to a convolutional layer's activations, averaged
over space, weights each channel; the weighted sum of the channels, passed through ReLU and scaled
to [0, 1], is the map. For EfficientNet the natural layer is the last one before pooling (the 1x1
head conv), whose 7x7 grid (at 224 px) is coarse but class-specific.

A short hook-based implementation: two hooks, one backward pass, no extra dependency.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["grad_cam", "overlay"]


def grad_cam(model: nn.Module, x: torch.Tensor, target: int | None = None,
             layer: nn.Module | None = None) -> tuple[torch.Tensor, int]:
    """Map (H x W, in [0, 1], at the input's size) for class `target` (default: the top class)."""
    layer = layer if layer is not None else model.features[-1]
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
    act, grad = saved["act"][0].detach(), saved["grad"][0].detach()
    weights = grad.mean(dim=(1, 2), keepdim=True)
    cam = F.relu((weights * act).sum(0))
    cam = F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    top = cam.max()
    return (cam / top if top > 0 else cam), target


def overlay(image_hwc, cam, ax=None, alpha=0.45, title=None):
    """Draw the map over the image (HWC in [0, 1])."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(3.5, 3.5))
    ax.imshow(image_hwc)
    ax.imshow(cam, cmap="jet", alpha=alpha, vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return ax
