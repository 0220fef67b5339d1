"""Compound scaling: how B0 grows into B1..B7, and what that costs.

The paper scales depth d = alpha**phi, width w = beta**phi and resolution r = gamma**phi together,
with alpha * beta**2 * gamma**2 ~ 2 so that each step of phi about doubles the FLOPs (FLOPs grow
linearly with depth and quadratically with width and resolution). A grid search at phi = 1 gave
alpha = 1.2, beta = 1.1, gamma = 1.15. The published B1..B7 coefficients are *not* exactly these
powers (B7: 1.2**7 = 3.58 against depth 3.1); the tables here show both.

Costs are measured, not computed by hand: multiply-adds with `torch.utils.flop_counter` (which
counts 2 FLOPs per multiply-add of convolutions and matmuls) on a real forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from .network import B0_STAGES, VARIANTS, round_filters, round_repeats
from .variants import build_model, count_parameters

__all__ = [
    "round_filters",
    "round_repeats",
    "count_blocks",
    "compound_coefficients",
    "constraint",
    "distance_from_2",
    "OFFICIAL",
    "PAPER_TABLE2",
    "measure",
    "variant_table",
    "mnas_objective",
]

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
BASE_RESOLUTION = 224


@dataclass(frozen=True)
class Coefficients:
    depth: float
    width: float
    resolution: float  # a multiplier of the base resolution

    def image_size(self, base: int = BASE_RESOLUTION) -> int:
        return int(round(base * self.resolution))


def compound_coefficients(phi: float, alpha=ALPHA, beta=BETA, gamma=GAMMA) -> Coefficients:
    """Depth, width and resolution multipliers for compound coefficient `phi`."""
    return Coefficients(alpha**phi, beta**phi, gamma**phi)


def constraint(alpha=ALPHA, beta=BETA, gamma=GAMMA) -> float:
    """alpha * beta^2 * gamma^2: the FLOPs factor of one phi step (the paper asks for ~2)."""
    return alpha * beta**2 * gamma**2


def distance_from_2(alpha=ALPHA, beta=BETA, gamma=GAMMA) -> float:
    """How far a triple's FLOPs factor per phi step is from 2, relative (0.04 = 4%)."""
    return abs(constraint(alpha, beta, gamma) - 2.0) / 2.0


# The published per-model table, as the model builds it: (width, depth, resolution, dropout).
OFFICIAL = VARIANTS

# Paper Table 2 (ICML version): ImageNet top-1 %, parameters (M) and FLOPs (B multiply-adds).
PAPER_TABLE2: dict[str, tuple[float, float, float]] = {
    "b0": (76.3, 5.3, 0.39),
    "b1": (78.8, 7.8, 0.70),
    "b2": (79.8, 9.2, 1.0),
    "b3": (81.1, 12.0, 1.8),
    "b4": (82.6, 19.0, 4.2),
    "b5": (83.3, 30.0, 9.9),
    "b6": (84.0, 43.0, 19.0),
    "b7": (84.4, 66.0, 37.0),
}


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int  # multiply-adds of one image's forward pass


def measure(model: torch.nn.Module, image_size: int, in_channels: int = 3) -> Cost:
    """Parameters and forward multiply-adds of one image, measured by torch's flop counter."""
    was_training = model.training
    model.eval()
    x = torch.zeros(1, in_channels, image_size, image_size, device=next(model.parameters()).device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    model.train(was_training)
    return Cost(count_parameters(model), counter.get_total_flops() // 2)


def variant_table(num_classes: int = 1000) -> list[dict]:
    """B0..B7: coefficients, derived stage widths/repeats, measured params and MACs, paper values."""
    rows = []
    for name, (w, d, res, dropout) in OFFICIAL.items():
        with torch.device("meta"):  # shapes only: no memory, no initialisation, the same counts
            model = build_model(name, num_classes=num_classes)
        cost = measure(model, res)
        stages = [s for s in _stages(w, d)]
        paper_top1, paper_params, paper_macs = PAPER_TABLE2[name]
        rows.append(
            {
                "model": name.upper(),
                "width": w,
                "depth": d,
                "resolution": res,
                "dropout": dropout,
                "stem": round_filters(32, w),
                "channels": "/".join(str(c) for _, c in stages),
                "repeats": ",".join(str(r) for r, _ in stages),
                "blocks": sum(r for r, _ in stages),
                "head": 4 * stages[-1][1],
                "params": cost.params,
                "macs": cost.macs,
                "paper_params_M": paper_params,
                "paper_macs_B": paper_macs,
                "paper_top1": paper_top1,
            }
        )
    return rows


def _stages(width: float, depth: float) -> list[tuple[int, int]]:
    from .network import B0_STAGES

    return [(round_repeats(s.layers, depth), round_filters(s.out_channels, width)) for s in B0_STAGES]


def mnas_objective(accuracy: float, flops: float, target: float, w: float = -0.07) -> float:
    """MnasNet's search reward ACC(m) * (FLOPS(m) / T)^w, the objective that found B0.

    With w = -0.07, doubling the FLOPs must buy about 5% relative accuracy (2**0.07 = 1.05)
    to be worth it.
    """
    return accuracy * (flops / target) ** w


def count_blocks(depth: float) -> int:
    """MBConv blocks of the network at this depth coefficient: each stage's layers rounded up, so
    nearby coefficients (0.34 and 0.408 both give 10) build the same network."""
    return sum(round_repeats(s.layers, depth) for s in B0_STAGES)
