"""The paper's scaling experiments on a CPU-sized base, in quick or full mode: which networks to train.

Section 3 of the paper scales one dimension at a time (Fig. 3), scales width at other depths and
resolutions (Fig. 4), grid-searches alpha, beta, gamma at phi = 1 under alpha * beta^2 * gamma^2
~ 2, then scales the base with phi and compares against single-dimension scaling at equal FLOPs.
The same experiments run here on a base small enough for a laptop (`BASE`: B0 at width 0.25,
depth 0.34, 32 px, on the built-in Fashion-MNIST subset, the "short" recipe; the choice of this
regime and the pilots behind it are in data/results/REGIME.md).

Costs are matched by measurement, not by formula. On a network this small channels round to
multiples of 8 and layer counts round up, so a nominal factor seldom gives the MACs it promises.
So the single-dimension lines are built to *reach the measured MACs of the compound networks*:
each point is the width, depth or resolution whose measured MACs come nearest to a compound
network's (`matched_value`). The grid of step 1 holds the cost fixed too: for each alpha and
beta, gamma is the resolution that brings the network's measured MACs to those of the paper's
triple at phi = 1 (`grid_triples`), so the grid compares triples at equal cost and its winner is
not simply the most expensive network.

`experiment_configs(mode)` lists every config of a mode, `run(mode)` trains them through
`sweeps.sweep` (cached per config, any executor), `scaling_analysis` turns the table into curves
and `scaling_claims` into claims and the headline. The full mode's table is committed under
data/results (`scaling_results`):

    python -m effnet_lib scaling --mode full
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..model.network import round_filters, scaled_stages
from ..model.scaling import ALPHA, BETA, GAMMA, measure
from ..model.variants import efficientnet
from ..training.config import TrainConfig, config_key
from .scaling_analysis import best_triple
from .sweeps import default_cache, sweep

__all__ = [
    "BASE",
    "PAPER_TRIPLE",
    "GRID_COST_BAND",
    "Mode",
    "QUICK",
    "FULL",
    "MODES",
    "config",
    "compound",
    "macs_of",
    "matched_value",
    "architecture",
    "grid_triples",
    "experiment_configs",
    "run",
    "run_folder",
    "costs",
]

BASE = TrainConfig(data="fashion", model=None, width=0.25, depth=0.34, image_size=32, recipe="short", batch_size=64)
NUM_CLASSES = 10  # Fashion-MNIST; only the classifier's few MACs depend on it
PAPER_TRIPLE = (ALPHA, BETA, GAMMA)
GRID_COST_BAND = 1.15  # a grid network's measured MACs lie within 15% of the target
MATCHED_BAND = 1.25  # "matched": measured MACs within 25% of each other (scaling_analysis.MACS_BAND)


@dataclass(frozen=True)
class Mode:
    """How much of each experiment to run; quick is the labelled, CPU-minutes version."""

    name: str
    epochs: int
    seeds: tuple[int, ...]
    phis: tuple[int, ...]  # compound steps, 0 (the base) included
    grid_alphas: tuple[float, ...]  # step 1: depth factors tried (beta likewise; gamma is solved)
    grid_betas: tuple[float, ...]
    fig4: tuple[tuple[float, float], ...]  # (depth, resolution) factors of the extra width lines
    fig4_phis: tuple[int, ...] = (0, 1)  # width lines at the matched widths of these phis
    budget_epochs: int | None = None  # the base and a deep network again with this many epochs
    data: str = BASE.data


# Quick mode trains on 200 / 50 / 200 images per class (full mode: 500 / 100 / 500) for 3 epochs, one seed.
QUICK = Mode(
    "quick",
    epochs=3,
    seeds=(0,),
    phis=(0, 1, 2),
    grid_alphas=(1.0, 1.5),
    grid_betas=(1.0, 1.2),
    fig4=((2.0, 1.3),),
    fig4_phis=(0, 1),
    data="fashion-200-50-200",
)
FULL = Mode(
    "full",
    epochs=6,
    seeds=(0, 1, 2),
    phis=(0, 1, 2, 3),
    grid_alphas=(1.0, 1.5, 2.0),
    grid_betas=(1.0, 1.1, 1.2, 1.3),
    fig4=((2.0, 1.3),),
    fig4_phis=(0, 1),
)
MODES = {"quick": QUICK, "full": FULL}


def config(mode: Mode, width=BASE.width, depth=BASE.depth, resolution=BASE.image_size, seed=0) -> TrainConfig:
    return replace(
        BASE,
        width=round(float(width), 4),
        depth=round(float(depth), 4),
        image_size=int(resolution),
        epochs=mode.epochs,
        seed=seed,
        quick=mode.name == "quick",
        data=mode.data,
    )


def compound(mode: Mode, alpha: float, beta: float, gamma: float, phi: float, seed=0) -> TrainConfig:
    """The base scaled by phi: depth * alpha^phi, width * beta^phi, resolution * gamma^phi."""
    return config(mode, BASE.width * beta**phi, BASE.depth * alpha**phi, round(BASE.image_size * gamma**phi), seed)


def architecture(cfg: TrainConfig) -> tuple:
    """What the network actually is after rounding: configs with equal keys are the same model."""
    stages = tuple((s.out_channels, s.layers) for s in scaled_stages(cfg.width, cfg.depth))
    return stages, round_filters(1280, cfg.width), cfg.image_size


@functools.cache  # the matching asks for the same few hundred networks over and over: measure each once
def macs_of(width: float, depth: float, resolution: int) -> int:
    """Measured multiply-adds of one image through the base's network at these coefficients."""
    return measure(efficientnet(width, depth, num_classes=NUM_CLASSES), int(resolution)).macs


def _macs(cfg: TrainConfig) -> int:
    return macs_of(cfg.width, cfg.depth, cfg.image_size)


# The values each dimension may take when it is scaled alone, in increasing cost.
_SEARCH = {
    "width": lambda: np.round(np.arange(BASE.width, 8 * BASE.width, 0.01), 2),
    "depth": lambda: np.round(np.arange(BASE.depth, 16 * BASE.depth, 0.01), 2),
    "resolution": lambda: np.arange(BASE.image_size, 6 * BASE.image_size + 1),
}


def _base_value(dim: str):
    return {"width": BASE.width, "depth": BASE.depth, "resolution": BASE.image_size}[dim]


def _cost(dim: str, value) -> int:
    base = {"width": BASE.width, "depth": BASE.depth, "resolution": BASE.image_size}
    return macs_of(**{**base, dim: value})


def _nearest(values, cost, target: float):
    """The value whose cost is nearest to `target` in log terms. Costs never fall as a dimension
    grows, so a bisection finds the first value at or above the target; it or the one before wins."""
    lo, hi = 0, len(values) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cost(values[mid]) < target:
            lo = mid + 1
        else:
            hi = mid
    near = min({max(lo - 1, 0), lo}, key=lambda i: abs(math.log(cost(values[i]) / target)))
    return values[near].item() if hasattr(values[near], "item") else values[near]


def matched_value(dim: str, target: float):
    """The value of `dim` (the others at the base's) whose measured MACs come nearest to `target`."""
    return _nearest(_SEARCH[dim](), lambda v: _cost(dim, v), target)


# Step 1: the grid of triples at phi = 1, at equal measured cost


def grid_triples(mode: Mode) -> list[tuple[float, float, float]]:
    """The paper's triple, then for each (alpha, beta) of the grid the gamma whose resolution brings
    the measured MACs nearest to the paper's triple at phi = 1; a pair that cannot get within
    `GRID_COST_BAND` of that cost (already too expensive at gamma = 1) is left out, and triples
    that round to the same network are run once. The gammas come out as measured, not round."""
    target = _macs(compound(mode, *PAPER_TRIPLE, phi=1))
    found, seen = [], set()
    candidates = [PAPER_TRIPLE] + [(a, b, None) for a in mode.grid_alphas for b in mode.grid_betas]
    for alpha, beta, gamma in candidates:
        if gamma is None:
            width, depth = round(BASE.width * beta, 4), round(BASE.depth * alpha, 4)
            res = _nearest(_SEARCH["resolution"](), functools.partial(macs_of, width, depth), target)
            gamma = round(res / BASE.image_size, 4)
        cfg = compound(mode, alpha, beta, gamma, phi=1)
        if abs(math.log(_macs(cfg) / target)) > math.log(GRID_COST_BAND) or architecture(cfg) in seen:
            continue
        seen.add(architecture(cfg))
        found.append((float(alpha), float(beta), float(gamma)))
    return found


# The configs of each experiment


def _targets(mode: Mode, triples) -> list[int]:
    return sorted({_macs(compound(mode, *t, phi=p)) for t in triples for p in mode.phis if p > 0})


def single_dimension(mode: Mode, triples=(PAPER_TRIPLE,)) -> list[TrainConfig]:
    """Fig. 3: width, depth and resolution each scaled alone from the base: one point at the
    measured MACs of each compound network (phi > 0) of the first triple, and for a further
    triple's networks a point only where no point of that dimension lies within the matched band
    (25%) of their MACs already."""
    points = {
        dim: {matched_value(dim, t) for t in _targets(mode, triples[:1])} for dim in ("width", "depth", "resolution")
    }
    for target in _targets(mode, triples[1:]):
        for dim, values in points.items():
            if not any(abs(math.log(_cost(dim, v) / target)) <= math.log(MATCHED_BAND) for v in values):
                values.add(matched_value(dim, target))
    return [
        c
        for s in mode.seeds
        for c in [config(mode, seed=s)]
        + [config(mode, seed=s, **{dim: v}) for dim, values in points.items() for v in sorted(values)]
    ]


def depth_budget(mode: Mode) -> list[TrainConfig]:
    """The base and the deepest single-depth network again, trained `budget_epochs`."""
    if mode.budget_epochs is None:
        return []
    deep = matched_value("depth", max(_targets(mode, [PAPER_TRIPLE])))
    return [
        replace(config(mode, depth=d, seed=s), epochs=mode.budget_epochs)
        for s in mode.seeds
        for d in (BASE.depth, deep)
    ]


def width_lines(mode: Mode) -> list[TrainConfig]:
    """Fig. 4: the single-dimension widths again at other (depth, resolution) pairs."""
    widths = [BASE.width] + [
        matched_value("width", _macs(compound(mode, *PAPER_TRIPLE, phi=p))) for p in mode.fig4_phis if p > 0
    ]
    pairs = [(1.0, 1.0)] + list(mode.fig4)
    return [
        config(mode, width=w, depth=BASE.depth * d, resolution=round(BASE.image_size * r), seed=s)
        for s in mode.seeds
        for d, r in pairs
        for w in widths
    ]


def compound_scaling(mode: Mode, triple) -> list[tuple[TrainConfig, dict]]:
    """Step 2: phi = 0, 1, ... with one triple."""
    return [(compound(mode, *triple, phi=p, seed=s), _tags(triple, p)) for s in mode.seeds for p in mode.phis]


def _tags(triple, phi) -> dict:
    return {"alpha": triple[0], "beta": triple[1], "gamma": triple[2], "phi": phi}


def experiment_configs(mode: Mode, found=None) -> dict[str, list[tuple[TrainConfig, dict]]]:
    """Every config of `mode` by experiment, each with its tags (the triple and phi where compound).
    `found` is step 1's best triple; step 2 with it (and the single-dimension points at its
    networks' MACs) is listed only once it is known."""
    grid = [(compound(mode, *t, phi=1, seed=s), _tags(t, 1)) for s in mode.seeds for t in grid_triples(mode)]
    triples = [PAPER_TRIPLE] + ([found] if found is not None else [])
    out = {
        "single_dimension": [(c, {}) for c in single_dimension(mode, triples)],
        "width_lines": [(c, {}) for c in width_lines(mode)],
        "grid": grid,
        "compound_paper": compound_scaling(mode, PAPER_TRIPLE),
        "depth_budget": [(c, {}) for c in depth_budget(mode)],
    }
    if found is not None:
        out["compound_found"] = compound_scaling(mode, found)
    return out


EXPERIMENTS = ("single_dimension", "width_lines", "grid", "compound_paper", "depth_budget", "compound_found")


def run(mode: Mode | str, cache=None, progress: bool = True, only=None, executor=None) -> pd.DataFrame:
    """Train (or read back) every config of `mode`, or of the experiments named in `only`; one
    row per (experiment, config). Step 2 with the found triple runs after step 1 (it needs it).
    `executor`: where configs train (see `sweeps.sweep`); the rows do not depend on it."""
    mode = MODES[mode] if isinstance(mode, str) else mode
    wanted = set(only or EXPERIMENTS)
    if "compound_found" in wanted:
        wanted |= {"grid", "single_dimension"}  # its triple comes from the grid, its rivals from Fig. 3
    wanted.add("compound_paper")  # holds the base (phi = 0) that MACs ratios are taken against
    configs = experiment_configs(mode)
    frames = [
        _sweep(name, configs[name], cache, progress, executor)
        for name in EXPERIMENTS
        if name in wanted and configs.get(name)
    ]
    if "compound_found" in wanted:
        found = best_triple(_with_ratio(frames))
        later = experiment_configs(mode, found)
        frames = [f for f in frames if f.experiment.iloc[0] != "single_dimension"]
        frames += [
            _sweep(name, later[name], cache, progress, executor) for name in ("single_dimension", "compound_found")
        ]
    return _with_ratio(frames)


def _with_ratio(frames) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True)
    base = table[(table.width == BASE.width) & (table.depth == BASE.depth) & (table.resolution == BASE.image_size)]
    return table.assign(macs_ratio=table.macs / base.macs.iloc[0])


def _sweep(name, pairs, cache, progress, executor) -> pd.DataFrame:
    rows = sweep([c for c, _ in pairs], cache, progress, executor=executor).set_index("key")
    tags = pd.DataFrame([{"key": config_key(c), **t} for c, t in pairs]).drop_duplicates("key").set_index("key")
    return rows.join(tags).reset_index().assign(experiment=name)


def run_folder(cfg: TrainConfig, cache=None) -> Path:
    """Where a config of the study was trained (its checkpoints: best.pt, last.pt)."""
    return Path(cache or default_cache()) / "runs" / config_key(cfg)


def costs(mode: Mode = FULL) -> pd.DataFrame:
    """Before training anything: the single-dimension points of `mode` with their blocks,
    parameters and measured MACs, against the nominal factor (width^2, depth, resolution^2)."""
    rows = []
    configs = single_dimension(replace(mode, seeds=(0,)))
    for dim in ("width", "depth", "resolution"):
        for c in configs:
            now = {"width": c.width, "depth": c.depth, "resolution": c.image_size}
            moved = [d for d, v in now.items() if v != _base_value(d)]
            if moved not in ([], [dim]):
                continue
            value = now[dim]
            cost = measure(efficientnet(c.width, c.depth, num_classes=NUM_CLASSES), c.image_size)
            rows.append(
                {
                    "dimension": dim,
                    "value": value,
                    "blocks": sum(s.layers for s in scaled_stages(c.width, c.depth)),
                    "params": cost.params,
                    "macs": cost.macs,
                    "nominal_factor": (value / _base_value(dim)) ** (1 if dim == "depth" else 2),
                }
            )
    t = pd.DataFrame(rows)
    return t.assign(measured_factor=t.macs / t.macs.iloc[0])
