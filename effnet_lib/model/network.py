"""EfficientNet (Tan & Le, ICML 2019): the stage table and the blocks.

The network is the B0 stage table (paper Table 1) scaled by two numbers: a width multiplier on
every channel count and a depth multiplier on every stage's number of layers. Resolution, the
third dimension of compound scaling, is a property of the input, not of the weights, so it lives
in `effnet_lib.model.scaling` and the data transforms.

Module names and their order follow torchvision's `efficientnet.py` on purpose: a torchvision
weights file loads into this model with `strict=True`, and both give the same logits. That makes
"is this really EfficientNet?" a test instead of a claim. B0-B7 by name, and torchvision's weights
loaded into them, are `variants`'.

The model knows nothing of files, datasets or training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "Stage",
    "B0_STAGES",
    "STEM_CHANNELS",
    "HEAD_CHANNELS",
    "VARIANTS",
    "BATCHNORM",
    "torchvision_batchnorm",
    "round_filters",
    "round_repeats",
    "scaled_stages",
    "stage_table",
    "ConvBNAct",
    "SqueezeExcitation",
    "MBConv",
    "EfficientNet",
]

# -----------------------------------------------------------------------------
# The B0 stage table (paper Table 1). Stage 1 (the stem) and stage 9 (the head) are built
# separately; these are the seven MBConv stages in between.


@dataclass(frozen=True)
class Stage:
    expand_ratio: int  # MBConv1 or MBConv6
    kernel: int
    stride: int  # of the first layer; the others have stride 1
    in_channels: int
    out_channels: int
    layers: int


B0_STAGES: tuple[Stage, ...] = (
    Stage(1, 3, 1, 32, 16, 1),
    Stage(6, 3, 2, 16, 24, 2),
    Stage(6, 5, 2, 24, 40, 2),
    Stage(6, 3, 2, 40, 80, 3),
    Stage(6, 5, 1, 80, 112, 3),
    Stage(6, 5, 2, 112, 192, 4),
    Stage(6, 3, 1, 192, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280

# Published per-model coefficients: (width, depth, resolution, dropout). They are not exactly
# 1.1**phi, 1.2**phi, 1.15**phi; see `effnet_lib.model.scaling`.
VARIANTS: dict[str, tuple[float, float, int, float]] = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}

# BatchNorm as a named choice: (eps, momentum) in PyTorch's convention, where momentum is the
# weight of the *new* batch statistic. TF's "momentum 0.99" is PyTorch's 0.01, a common mistake.
BATCHNORM: dict[str, tuple[float, float]] = {
    "torch": (1e-5, 0.1),  # PyTorch defaults; torchvision's B0-B4
    "seed": (1e-3, 0.1),  # the practitioner's experiment this workbook reproduces
    "tf": (1e-3, 0.01),  # the paper's TensorFlow code; torchvision's B5-B7
}


def torchvision_batchnorm(variant: str) -> str:
    """The BatchNorm setting torchvision uses for a variant (needed for identical logits)."""
    return "tf" if variant in ("b5", "b6", "b7") else "torch"


# -----------------------------------------------------------------------------
# Scaling of channels and layers (the official rounding rules)


def round_filters(channels: float, width: float, divisor: int = 8) -> int:
    """Scale a channel count by `width`, rounded to a multiple of `divisor` (never down by >10%)."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(layers: int, depth: float) -> int:
    """Scale a stage's number of layers by `depth`, rounded up."""
    return int(math.ceil(layers * depth))


def scaled_stages(width: float = 1.0, depth: float = 1.0) -> list[Stage]:
    """The B0 stage table with channels scaled by `width` and layers by `depth`."""
    return [
        Stage(
            s.expand_ratio,
            s.kernel,
            s.stride,
            round_filters(s.in_channels, width),
            round_filters(s.out_channels, width),
            round_repeats(s.layers, depth),
        )
        for s in B0_STAGES
    ]


def stage_table(width: float = 1.0, depth: float = 1.0, resolution: int = 224) -> list[dict]:
    """Paper Table 1 for any coefficients: operator, input resolution, channels, layers per stage."""
    stages = scaled_stages(width, depth)
    res = resolution
    rows = [
        {
            "stage": 1,
            "operator": "Conv3x3",
            "resolution": res,
            "channels": stages[0].in_channels,
            "layers": 1,
            "stride": 2,
            "kernel": 3,
            "expand": "-",
        }
    ]
    res = -(-res // 2)
    for i, s in enumerate(stages, start=2):
        rows.append(
            {
                "stage": i,
                "operator": f"MBConv{s.expand_ratio}, k{s.kernel}x{s.kernel}",
                "resolution": res,
                "channels": s.out_channels,
                "layers": s.layers,
                "stride": s.stride,
                "kernel": s.kernel,
                "expand": s.expand_ratio,
            }
        )
        res = -(-res // s.stride)
    rows.append(
        {
            "stage": 9,
            "operator": "Conv1x1 & Pooling & FC",
            "resolution": res,
            "channels": 4 * stages[-1].out_channels,
            "layers": 1,
            "stride": "-",
            "kernel": 1,
            "expand": "-",
        }
    )
    return rows


# -----------------------------------------------------------------------------
# Building blocks


class ConvBNAct(nn.Sequential):
    """Conv -> BatchNorm -> optional SiLU, 'same' padding. Conv has no bias (BN has one)."""

    def __init__(self, cin, cout, kernel=1, stride=1, groups=1, bn=(1e-5, 0.1), act=True):
        layers = [
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=bn[0], momentum=bn[1]),
        ]
        if act:
            layers.append(nn.SiLU(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention: pool to one value per channel, squeeze, excite, rescale the channels.

    The squeeze width is a quarter of the *block's input* channels, not of the expanded ones.
    """

    def __init__(self, channels: int, squeeze_channels: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.SiLU(inplace=True)
        self.scale_activation = nn.Sigmoid()

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """One weight in (0, 1) per channel: squeeze (pool), excite (bottleneck), sigmoid."""
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(x) * x


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, kxk depthwise, SE, 1x1 linear projection.

    The residual (with stochastic depth) exists only where input and output shapes agree.
    """

    def __init__(self, cin, cout, kernel, stride, expand_ratio, sd_prob=0.0, bn=(1e-5, 0.1)):
        super().__init__()
        self.use_residual = stride == 1 and cin == cout
        self.sd_prob = sd_prob
        hidden = round_filters(cin, expand_ratio)
        layers: list[nn.Module] = []
        if hidden != cin:  # MBConv1 has no expansion layer
            layers.append(ConvBNAct(cin, hidden, 1, bn=bn))
        layers += [
            ConvBNAct(hidden, hidden, kernel, stride, groups=hidden, bn=bn),
            SqueezeExcitation(hidden, max(1, cin // 4)),
            ConvBNAct(hidden, cout, 1, bn=bn, act=False),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_residual:
            out = drop_connect(out, self.sd_prob, self.training) + x
        return out


def drop_connect(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth ("drop connect" in the official code): in training, each sample's residual
    branch is dropped with probability `p` and kept ones are scaled by 1 / (1 - p), so the expected
    output is unchanged; in evaluation the branch always passes."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    mask = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * mask.div_(keep) if keep > 0.0 else x * mask


# -----------------------------------------------------------------------------
# The network


class EfficientNet(nn.Module):
    """Stem conv, seven MBConv stages, 1x1 head conv, global pool, dropout, linear classifier."""

    def __init__(
        self,
        width=1.0,
        depth=1.0,
        num_classes=1000,
        dropout=0.2,
        stochastic_depth_prob=0.2,
        bn=(1e-5, 0.1),
        in_channels=3,
        zero_init_residual=False,
        init="torchvision",
    ):
        super().__init__()
        stages = scaled_stages(width, depth)
        n_blocks = sum(s.layers for s in stages)
        self.width, self.depth, self.stochastic_depth_prob = width, depth, stochastic_depth_prob

        layers: list[nn.Module] = [ConvBNAct(in_channels, stages[0].in_channels, 3, 2, bn=bn)]
        block_id = 0
        for s in stages:
            blocks = []
            for i in range(s.layers):
                # Drop probability grows linearly with depth: early features are kept more often.
                sd = stochastic_depth_prob * block_id / n_blocks
                cin = s.in_channels if i == 0 else s.out_channels
                stride = s.stride if i == 0 else 1
                blocks.append(MBConv(cin, s.out_channels, s.kernel, stride, s.expand_ratio, sd, bn))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
        # Head width is 4x the last stage (1280 for B0), as torchvision; equals the paper's
        # round_filters(1280 * width) for B0-B7.
        head = 4 * stages[-1].out_channels
        layers.append(ConvBNAct(stages[-1].out_channels, head, 1, bn=bn))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout, inplace=True), nn.Linear(head, num_classes))
        self._init_weights(per_group_fan_out=init == "official")
        if zero_init_residual:
            self._zero_init_residual()

    def _zero_init_residual(self):
        # Each residual block starts as the identity (its last BatchNorm scales by 0), so a deeper
        # network starts out computing what the shallower one does and adds layers as they learn
        # (Goyal et al. 2017). Short budgets otherwise punish depth for its slow start.
        for m in self.modules():
            if isinstance(m, MBConv) and m.use_residual:
                nn.init.zeros_(m.block[-1][1].weight)

    def _init_weights(self, per_group_fan_out=False):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if per_group_fan_out and m.groups > 1:
                    # The official TensorFlow code counts a depthwise kernel's fan-out per group
                    # (k*k), torchvision over all channels (k*k*C). Under BatchNorm a filter's
                    # effective learning rate grows as its norm shrinks, so torchvision's choice
                    # gives wider networks a larger step: one learning rate no longer fits all widths.
                    nn.init.normal_(
                        m.weight,
                        0.0,
                        math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups)),
                    )
                else:
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.features(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


# -----------------------------------------------------------------------------
# Weights
