"""The named networks: EfficientNet-B0 to B7 and any width, depth and dropout (`efficientnet`), a
network rebuilt from the few numbers a checkpoint keeps (`arch_of`, `from_arch`), and torchvision's
ImageNet weights loaded into ours (`load_pretrained`).

`network` holds the stage table and the blocks; this module only names and builds networks from
them, with the BatchNorm settings each source uses.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import InputError, MissingInputError, ParameterError
from .network import BATCHNORM, VARIANTS, EfficientNet, torchvision_batchnorm

__all__ = [
    "efficientnet",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "build_model",
    "arch_of",
    "from_arch",
    "count_parameters",
    "load_pretrained",
]


def _bn(bn: str | tuple[float, float], eps: float | None, momentum: float | None):
    if isinstance(bn, str):
        if bn not in BATCHNORM:
            raise ParameterError(f"unknown BatchNorm setting {bn!r}; choose one of {sorted(BATCHNORM)}")
        bn = BATCHNORM[bn]
    return (bn[0] if eps is None else eps, bn[1] if momentum is None else momentum)


def efficientnet(
    width=1.0,
    depth=1.0,
    *,
    num_classes=1000,
    dropout=0.2,
    stochastic_depth_prob=0.2,
    bn="torch",
    bn_eps=None,
    bn_momentum=None,
    in_channels=3,
    zero_init_residual=False,
    init="torchvision",
) -> EfficientNet:
    """An EfficientNet with any width/depth coefficients (below 1 too: tiny models for CPUs).

    `bn` names a BatchNorm setting from `BATCHNORM` (or is an (eps, momentum) pair);
    `bn_eps`/`bn_momentum` override one of its values.
    """
    if width <= 0 or depth <= 0:
        raise ParameterError(f"width and depth must be positive, got width={width}, depth={depth}")
    if init not in ("torchvision", "official"):
        raise ParameterError(f"init={init!r}: choose 'torchvision' or 'official'")
    return EfficientNet(
        width,
        depth,
        num_classes,
        dropout,
        stochastic_depth_prob,
        _bn(bn, bn_eps, bn_momentum),
        in_channels,
        zero_init_residual,
        init,
    )


def _variant_builder(variant: str):
    width, depth, res, dropout = VARIANTS[variant]

    def build(
        *,
        num_classes=1000,
        dropout=dropout,
        stochastic_depth_prob=0.2,
        bn=None,
        bn_eps=None,
        bn_momentum=None,
        in_channels=3,
        zero_init_residual=False,
        init="torchvision",
    ) -> EfficientNet:
        return efficientnet(
            width,
            depth,
            num_classes=num_classes,
            dropout=dropout,
            stochastic_depth_prob=stochastic_depth_prob,
            bn=bn or torchvision_batchnorm(variant),
            bn_eps=bn_eps,
            bn_momentum=bn_momentum,
            in_channels=in_channels,
            zero_init_residual=zero_init_residual,
            init=init,
        )

    build.__name__ = f"efficientnet_{variant}"
    build.__doc__ = (
        f"EfficientNet-{variant.upper()}: width {width}, depth {depth}, "
        f"{res} px, dropout {dropout}. BatchNorm defaults to torchvision's setting "
        f"for this variant ({torchvision_batchnorm(variant)!r})."
    )
    return build


efficientnet_b0 = _variant_builder("b0")


efficientnet_b1 = _variant_builder("b1")


efficientnet_b2 = _variant_builder("b2")


efficientnet_b3 = _variant_builder("b3")


efficientnet_b4 = _variant_builder("b4")


efficientnet_b5 = _variant_builder("b5")


efficientnet_b6 = _variant_builder("b6")


efficientnet_b7 = _variant_builder("b7")


def build_model(variant: str | None = None, *, width=None, depth=None, **kwargs) -> EfficientNet:
    """A named variant ('b0'..'b7') or, with `width`/`depth`, any coefficients."""
    if variant is not None and width is None and depth is None:
        if variant not in VARIANTS:
            raise ParameterError(f"`model={variant}`: choose one of b0..b7, or give `width` and `depth`")
        return _variant_builder(variant)(**kwargs)
    return efficientnet(width or 1.0, depth or 1.0, **kwargs)


def arch_of(model: EfficientNet) -> dict:
    """The constructor arguments that rebuild `model` (saved with checkpoints)."""
    bn = model.features[0][1]
    return {
        "width": model.width,
        "depth": model.depth,
        "num_classes": model.classifier[1].out_features,
        "dropout": model.classifier[0].p,
        "stochastic_depth_prob": model.stochastic_depth_prob,
        "bn": [bn.eps, bn.momentum],
        "in_channels": model.features[0][0].in_channels,
    }


def from_arch(arch: dict) -> EfficientNet:
    arch = dict(arch)
    return efficientnet(arch.pop("width"), arch.pop("depth"), bn=tuple(arch.pop("bn")), **arch)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_pretrained(model: EfficientNet, path: str | Path) -> EfficientNet:
    """Load a torchvision-format EfficientNet weights file from a local path.

    When only the number of classes differs, or the file holds no classifier (the features of
    another network, to start a new task from with a fresh classifier even where the class counts
    agree), the features are kept and the classifier stays freshly initialised (transfer learning).
    Any other mismatch is one error listing the keys.
    Nothing is downloaded: fetch the file first (e.g. torchvision's weight URL) and pass its path.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MissingInputError(f"{path}: no such weights file; pass the path of a .pth file") from None
    except Exception as e:
        raise InputError(f"{path}: not a loadable weights file ({type(e).__name__}: {e})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a training checkpoint of this library
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    head = {"classifier.1.weight", "classifier.1.bias"}
    if set(missing) - head or unexpected or set(wrong) - head:
        raise InputError(
            f"{path}: weights do not fit this model (width {model.width}, depth {model.depth}); "
            f"missing {missing[:8]}, unexpected {unexpected[:8]}, "
            f"shape mismatch {[(k, tuple(state[k].shape), tuple(own[k].shape)) for k in wrong][:8]}"
        )
    if wrong or missing:  # another class count, or no classifier given: keep the new one
        state = {k: v for k, v in state.items() if k not in head}
    model.load_state_dict(state, strict=not (wrong or missing))
    return model
