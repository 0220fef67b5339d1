"""The paper's scaling experiments on a CPU-sized base, in quick or full mode.

Section 3 of the paper scales one dimension at a time (Fig. 3), scales width at several depths
and resolutions (Fig. 4), grid-searches alpha, beta, gamma at phi = 1 under
alpha * beta^2 * gamma^2 ~ 2, then scales the base with phi and compares against single-dimension
scaling at equal FLOPs. The same four experiments run here on a base small enough for a laptop
(B0 at width 0.25, depth 0.34, 48 px) on the built-in textures.

Why the tiny base changes the picture: channels round to multiples of 8 and layer counts round
up, so a nominal step of phi seldom doubles the measured MACs; the tables carry measured MACs,
and "matched MACs" means the single-dimension config whose *measured* MACs are nearest.

`experiment_configs(mode)` lists every config of one mode, `run(mode)` trains them (each cached
by `experiments.sweep`), and the functions below it turn the tidy table into what the notebooks
plot. The full mode's table is committed under data/results by one command:

    python -m effnet_lib scaling --mode full
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .experiments import Config, sweep
from .model import round_filters, scaled_stages
from .scaling import ALPHA, BETA, GAMMA, constraint

BASE = Config(width=0.25, depth=0.34, resolution=48)
PAPER_TRIPLE = (ALPHA, BETA, GAMMA)
TOLERANCE = 0.1  # |alpha * beta^2 * gamma^2 - 2| at most this (5%)
MATCH = 1.5  # "matched MACs": within this factor of each other


@dataclass(frozen=True)
class Mode:
    """How much of each experiment to run; quick is the labelled, CPU-minutes version."""

    name: str
    epochs: int
    seeds: tuple[int, ...]
    widths: tuple[float, ...]
    depths: tuple[float, ...]
    resolutions: tuple[int, ...]
    fig4_pairs: tuple[tuple[float, int], ...]  # (depth, resolution) lines of Fig. 4
    fig4_widths: tuple[float, ...]
    grid_step: float
    phis: tuple[int, ...]
    budget_epochs: int | None = None  # depth again with this many epochs (deeper nets learn slower)


QUICK = Mode("quick", epochs=4, seeds=(0,), widths=(0.25, 0.5, 1.0), depths=(0.34, 0.67, 1.34),
             resolutions=(32, 48, 96), fig4_pairs=((0.34, 48), (0.67, 64)), fig4_widths=(0.25, 0.5),
             grid_step=0.4, phis=(0, 1, 2))
FULL = Mode("full", epochs=15, seeds=(0, 1, 2), widths=(0.25, 0.35, 0.5, 0.7, 1.0),
            depths=(0.34, 0.67, 1.0, 1.34, 2.0), resolutions=(32, 48, 64, 80, 96),
            fig4_pairs=((0.34, 48), (0.67, 48), (0.34, 64), (0.67, 64)), fig4_widths=(0.25, 0.5, 1.0),
            grid_step=0.2, phis=(0, 1, 2, 3), budget_epochs=45)
MODES = {"quick": QUICK, "full": FULL}


def config(mode: Mode, width=BASE.width, depth=BASE.depth, resolution=BASE.resolution, seed=0) -> Config:
    return replace(BASE, width=round(width, 4), depth=round(depth, 4), resolution=int(resolution),
                   epochs=mode.epochs, seed=seed, quick=mode.name == "quick")


def compound(mode: Mode, alpha: float, beta: float, gamma: float, phi: float, seed=0) -> Config:
    """The base scaled by phi: depth * alpha^phi, width * beta^phi, resolution * gamma^phi."""
    return config(mode, BASE.width * beta ** phi, BASE.depth * alpha ** phi,
                  round(BASE.resolution * gamma ** phi), seed)


def architecture(cfg: Config) -> tuple:
    """What the network actually is after rounding: configs with equal keys are the same model."""
    stages = tuple((s.out_channels, s.layers) for s in scaled_stages(cfg.width, cfg.depth))
    return stages, round_filters(1280, cfg.width), cfg.resolution


# Step 1: the grid of triples at phi = 1

def grid_triples(step: float, tolerance: float = TOLERANCE) -> list[tuple[float, float, float]]:
    """Triples on a grid (alpha in [1, 2], beta and gamma in [1, 1.5]) with the FLOPs factor
    within `tolerance` of 2, one per distinct network at phi = 1, plus the paper's own triple."""
    alphas = np.round(np.arange(1.0, 2.0 + 1e-9, step), 4)
    others = np.round(np.arange(1.0, 1.5 + 1e-9, step), 4)
    found, seen = [], set()
    for t in [PAPER_TRIPLE] + [(a, b, g) for a in alphas for b in others for g in others]:
        t = tuple(float(v) for v in t)
        key = architecture(compound(QUICK, *t, phi=1))
        if abs(constraint(*t) - 2) <= tolerance and key not in seen:
            seen.add(key)
            found.append(t)
    return found


# The configs of each experiment

def single_dimension(mode: Mode) -> list[Config]:
    """Fig. 3: width, depth and resolution each scaled alone from the base."""
    return [c for s in mode.seeds for c in
            [config(mode, width=w, seed=s) for w in mode.widths]
            + [config(mode, depth=d, seed=s) for d in mode.depths]
            + [config(mode, resolution=r, seed=s) for r in mode.resolutions]]


def depth_budget(mode: Mode) -> list[Config]:
    """The base and a deep config (the second-deepest of the depth sweep) trained `budget_epochs`."""
    if mode.budget_epochs is None:
        return []
    return [replace(config(mode, depth=d, seed=s), epochs=mode.budget_epochs)
            for s in mode.seeds for d in (mode.depths[0], mode.depths[-2])]


def width_lines(mode: Mode) -> list[Config]:
    """Fig. 4: width scaled at several (depth, resolution) pairs."""
    return [config(mode, width=w, depth=d, resolution=r, seed=s)
            for s in mode.seeds for d, r in mode.fig4_pairs for w in mode.fig4_widths]


def grid_search(mode: Mode) -> list[tuple[Config, dict]]:
    """Step 1: the base at phi = 1 with every triple of the grid."""
    return [(compound(mode, *t, phi=1, seed=s), _tags(t, 1)) for s in mode.seeds for t in grid_triples(mode.grid_step)]


def compound_scaling(mode: Mode, triple) -> list[tuple[Config, dict]]:
    """Step 2: phi = 0, 1, ... with one triple."""
    return [(compound(mode, *triple, phi=p, seed=s), _tags(triple, p)) for s in mode.seeds for p in mode.phis]


def _tags(triple, phi) -> dict:
    return {"alpha": triple[0], "beta": triple[1], "gamma": triple[2], "phi": phi}


def experiment_configs(mode: Mode, found=None) -> dict[str, list[tuple[Config, dict]]]:
    """Every config of `mode` by experiment, each with its tags (the triple and phi where compound).
    `found` is step 1's best triple; step 2 with it is listed only once it is known."""
    out = {"single_dimension": [(c, {}) for c in single_dimension(mode)],
           "width_lines": [(c, {}) for c in width_lines(mode)],
           "grid": grid_search(mode), "compound_paper": compound_scaling(mode, PAPER_TRIPLE),
           "depth_budget": [(c, {}) for c in depth_budget(mode)]}
    if found is not None:
        out["compound_found"] = compound_scaling(mode, found)
    return out


def run(mode: Mode | str, cache=None, progress: bool = True, only=None) -> pd.DataFrame:
    """Train (or read back) every config of `mode`, or of the experiments named in `only`; one
    row per (experiment, config). Step 2 with the found triple runs after step 1 (it needs it)."""
    mode = MODES[mode] if isinstance(mode, str) else mode
    wanted = set(only or ["single_dimension", "width_lines", "grid", "compound_paper", "depth_budget",
                          "compound_found"])
    if "compound_found" in wanted:
        wanted |= {"grid", "single_dimension"}  # its triple comes from the grid, its rivals from Fig. 3
    if wanted.isdisjoint({"single_dimension", "width_lines", "compound_paper"}):
        wanted.add("compound_paper")  # holds the base (phi = 0) that MACs ratios are taken against
    frames = [_sweep(name, pairs, cache, progress) for name, pairs in experiment_configs(mode).items()
              if pairs and name in wanted]
    if "compound_found" in wanted:
        found = best_triple(_with_ratio(frames))
        frames.append(_sweep("compound_found", compound_scaling(mode, found), cache, progress))
    return _with_ratio(frames)


def _with_ratio(frames) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True)
    base = table[(table.width == BASE.width) & (table.depth == BASE.depth) & (table.resolution == BASE.resolution)]
    return table.assign(macs_ratio=table.macs / base.macs.iloc[0])


def _sweep(name, pairs, cache, progress) -> pd.DataFrame:
    rows = sweep([c for c, _ in pairs], cache, progress).set_index("key")
    tags = pd.DataFrame([{"key": c.key(), **t} for c, t in pairs]).drop_duplicates("key").set_index("key")
    return rows.join(tags).reset_index().assign(experiment=name)


def costs(mode: Mode = FULL, num_classes: int = 12) -> pd.DataFrame:
    """Before training anything: blocks, parameters and measured MACs of each single-dimension
    config, against the nominal factor (width^2, depth, resolution^2 relative to the base)."""
    from .model import efficientnet
    from .scaling import measure
    rows = []
    for dim, values in (("width", mode.widths), ("depth", mode.depths), ("resolution", mode.resolutions)):
        for v in values:
            c = config(mode, **{dim: v})
            cost = measure(efficientnet(c.width, c.depth, num_classes=num_classes), c.resolution)
            rows.append({"dimension": dim, "value": v, "blocks": sum(s.layers for s in scaled_stages(c.width, c.depth)),
                         "params": cost.params, "macs": cost.macs,
                         "nominal_factor": (v / getattr(BASE, dim)) ** (1 if dim == "depth" else 2)})
    t = pd.DataFrame(rows)
    return t.assign(measured_factor=t.macs / t.macs[(t.dimension == "width") & (t.value == BASE.width)].iloc[0])


# What the tables show

def summarise(table: pd.DataFrame, by=("width", "depth", "resolution")) -> pd.DataFrame:
    """Mean, spread (standard deviation over seeds) and count of test accuracy per config."""
    g = table.groupby(list(by), as_index=False, dropna=False)
    return g.agg(macs=("macs", "first"), macs_ratio=("macs_ratio", "first"), params=("params", "first"),
                 test_mean=("test_acc", "mean"), test_std=("test_acc", "std"), val_mean=("val_acc", "mean"),
                 seeds=("seed", "nunique"), train_seconds=("train_seconds", "mean"))


def dimension_curve(table: pd.DataFrame, dimension: str, experiment="single_dimension") -> pd.DataFrame:
    """Fig. 3's curve for one dimension: the single-dimension rows where only `dimension` moved."""
    others = {"width": BASE.width, "depth": BASE.depth, "resolution": BASE.resolution}
    others.pop(dimension)
    rows = table[(table.experiment == experiment)
                 & np.logical_and.reduce([table[k] == v for k, v in others.items()])]
    return summarise(rows).sort_values("macs").reset_index(drop=True)


def compound_curve(table: pd.DataFrame, experiment: str = "compound_found") -> pd.DataFrame:
    """Step 2's curve: one row per phi of a compound experiment, mean and spread over seeds."""
    return summarise(table[table.experiment == experiment], by=("phi", "width", "depth", "resolution"))


def width_line_curves(table: pd.DataFrame, experiment: str = "width_lines") -> dict[str, pd.DataFrame]:
    """Fig. 4's lines: width scaled at each (depth, resolution) pair, labelled by the pair."""
    lines = summarise(table[table.experiment == experiment])
    return {f"d={d:g}, r={r}": g for (d, r), g in lines.groupby(["depth", "resolution"])}


def depth_budget_table(table: pd.DataFrame) -> pd.DataFrame:
    """The depth-budget configs next to the same depths at the sweep's budget, by (depth, epochs)."""
    longer = table[table.experiment == "depth_budget"]
    shorter = table[(table.experiment == "single_dimension") & table.depth.isin(set(longer.depth))
                    & (table.width == BASE.width) & (table.resolution == BASE.resolution)]
    return summarise(pd.concat([shorter, longer]), by=("depth", "epochs"))


def gain_per_doubling(curve: pd.DataFrame, min_doublings: float = 0.25) -> pd.DataFrame:
    """From the base upwards: accuracy points gained per doubling of measured MACs, step by step.
    Points that cost less than `min_doublings` more than the last one are passed over (rounding
    can make two settings cost nearly the same, and a tiny denominator would blow the ratio up)."""
    c = curve[curve.macs_ratio >= 1 - 1e-9].sort_values("macs").reset_index(drop=True)
    kept = [0]
    for i in range(1, len(c)):
        if math.log2(c.macs[i] / c.macs[kept[-1]]) >= min_doublings:
            kept.append(i)
    c = c.iloc[kept].reset_index(drop=True)
    doublings = np.log2(c.macs.to_numpy()[1:] / c.macs.to_numpy()[:-1])
    points = np.diff(c.test_mean.to_numpy()) * 100
    return pd.DataFrame({"from_macs_ratio": c.macs_ratio[:-1].to_numpy(), "to_macs_ratio": c.macs_ratio[1:].to_numpy(),
                         "doublings": doublings, "points": points, "points_per_doubling": points / doublings})


def grid_table(table: pd.DataFrame) -> pd.DataFrame:
    """Step 1: every tried triple, its FLOPs factor (nominal, and measured MACs against the base)
    and accuracy; best mean validation accuracy first."""
    s = table[table.experiment == "grid"].groupby(["alpha", "beta", "gamma"], as_index=False).agg(
        width=("width", "first"), depth=("depth", "first"), resolution=("resolution", "first"),
        macs_ratio=("macs_ratio", "first"), val_mean=("val_acc", "mean"), val_std=("val_acc", "std"),
        test_mean=("test_acc", "mean"), seeds=("seed", "nunique"))
    s.insert(3, "flops_factor", [constraint(a, b, g) for a, b, g in zip(s.alpha, s.beta, s.gamma)])
    return s.sort_values("val_mean", ascending=False, kind="stable").reset_index(drop=True)


def _paper_rank(grid: pd.DataFrame) -> int:
    """Where the paper's triple lands in `grid_table`'s order (1 = best)."""
    return int(np.flatnonzero(np.isclose(grid.alpha, ALPHA) & np.isclose(grid.beta, BETA)
                              & np.isclose(grid.gamma, GAMMA))[0]) + 1


def best_triple(table: pd.DataFrame) -> tuple[float, float, float]:
    """Step 1's choice: the best mean *validation* accuracy (test is kept for step 2's comparison)."""
    best = grid_table(table).iloc[0]
    return float(best.alpha), float(best.beta), float(best.gamma)


def compound_vs_single(table: pd.DataFrame, experiment: str = "compound_found") -> pd.DataFrame:
    """Step 2: each phi of a compound run against each single dimension at the nearest measured MACs."""
    curves = {dim: dimension_curve(table, dim) for dim in ("width", "depth", "resolution")}
    out = []
    for row in compound_curve(table, experiment).itertuples():
        entry = {"phi": row.phi, "macs_ratio": row.macs_ratio, "compound_mean": row.test_mean,
                 "compound_std": row.test_std}
        for dim, curve in curves.items():
            near = curve.iloc[(np.log(curve.macs) - math.log(row.macs)).abs().argmin()]
            entry |= {f"{dim}_value": near[dim], f"{dim}_macs_ratio": near.macs_ratio,
                      f"{dim}_mean": near.test_mean, f"{dim}_std": near.test_std}
        out.append(entry)
    return pd.DataFrame(out)


def macs_per_step(table: pd.DataFrame, experiment: str = "compound_found") -> pd.DataFrame:
    """Measured MACs ratio from each phi to the next, against the nominal alpha*beta^2*gamma^2."""
    c = summarise(table[table.experiment == experiment], by=("phi", "alpha", "beta", "gamma")).sort_values("phi")
    return pd.DataFrame({"phi": c.phi.to_numpy()[1:], "measured_ratio": c.macs.to_numpy()[1:] / c.macs.to_numpy()[:-1],
                         "nominal": [constraint(a, b, g) for a, b, g in zip(c.alpha[1:], c.beta[1:], c.gamma[1:])]})


# Committed full-mode results

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results" / "scaling_full.csv"


def save_results(table: pd.DataFrame, command: str, path: Path = RESULTS) -> Path:
    from .io import atomic_write_text, provenance
    atomic_write_text(path, table.to_csv(index=False))
    runs = table.drop_duplicates("key")
    meta = {"command": command, "rows": len(table), "trained_configs": len(runs),
            "seeds": sorted(int(s) for s in table.seed.unique()),
            "epochs": sorted(int(e) for e in table.epochs.unique()),
            "trained_at_commits": sorted(runs.prov_commit.unique().tolist()),
            "trained_on": sorted(runs.prov_device.unique().tolist()),
            "trained_between": [runs.prov_date.min(), runs.prov_date.max()],
            "total_train_seconds": round(float(runs.train_seconds.sum()), 1),
            **{f"table_written_{k}": v for k, v in provenance().items()}}
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1) + "\n")
    return path


def load_results(path: Path = RESULTS) -> tuple[pd.DataFrame, dict]:
    """The committed full-mode table and how it was made (command, commit, device, seeds)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no full-mode results; make them with `python -m effnet_lib scaling --mode full`")
    return pd.read_csv(path), json.loads(path.with_suffix(".json").read_text())


# The paper's claims against a table

def _diff(a_mean, a_std, a_n, b_mean, b_std, b_n) -> tuple[float, float]:
    """Difference of two means and its standard error (0 where a side has one seed)."""
    se = math.sqrt(np.nan_to_num(a_std) ** 2 / a_n + np.nan_to_num(b_std) ** 2 / b_n)
    return a_mean - b_mean, se


def _verdict(diff, se) -> bool:
    return bool(diff > 2 * se) if se > 0 else bool(diff > 0)


def paper_claims(table: pd.DataFrame) -> pd.DataFrame:
    """Each claim of the paper's section 3 that the table can test, what the table measures and
    whether the claim holds here (a difference counts when it exceeds twice its standard error
    over seeds; with one seed, any positive difference counts, which says little). `holds` is
    None where the table has nothing to compare with (no single-dimension point at matched MACs)."""
    rows = []
    exps = set(table.experiment)
    if "single_dimension" in exps:
        for dim in ("width", "depth", "resolution"):
            c = dimension_curve(table, dim)
            base = c[(c[dim] == getattr(BASE, dim))].iloc[0]
            top = c[c[dim] == c[dim].max()].iloc[0]
            best = c.loc[c.test_mean.idxmax()]
            d, se = _diff(top.test_mean, top.test_std, top.seeds, base.test_mean, base.test_std, base.seeds)
            rows.append({"claim": f"Fig. 3: scaling {dim} alone raises accuracy",
                         "measured": f"{dim} {base[dim]:g} -> {top[dim]:g} ({top.macs_ratio:.2f}x MACs): "
                                     f"{d * 100:+.1f} points (± {se * 100:.1f}); best {best[dim]:g} at "
                                     f"{best.test_mean:.3f}", "holds": _verdict(d, se)})
            g = gain_per_doubling(c)
            if len(g) >= 2:
                rows.append({"claim": f"Fig. 3: the gain from {dim} shrinks as the model grows",
                             "measured": f"points per doubling of MACs: first step {g.points_per_doubling.iloc[0]:+.1f}, "
                                         f"last {g.points_per_doubling.iloc[-1]:+.1f}",
                             "holds": bool(g.points_per_doubling.iloc[-1] < g.points_per_doubling.iloc[0])})
    if "width_lines" in exps:
        lines = summarise(table[table.experiment == "width_lines"])
        small = lines[(lines.depth == lines.depth.min()) & (lines.resolution == lines.resolution.min())]
        large = lines[(lines.depth == lines.depth.max()) & (lines.resolution == lines.resolution.max())]
        a, b = large.loc[large.test_mean.idxmax()], small.loc[small.test_mean.idxmax()]
        d, se = _diff(a.test_mean, a.test_std, a.seeds, b.test_mean, b.test_std, b.seeds)
        rows.append({"claim": "Fig. 4: width scaling reaches more accuracy at greater depth and resolution",
                     "measured": f"best of d={a.depth:g}, r={a.resolution}: {a.test_mean:.3f}; best of "
                                 f"d={b.depth:g}, r={b.resolution}: {b.test_mean:.3f} ({d * 100:+.1f} ± {se * 100:.1f})",
                     "holds": _verdict(d, se)})
    if "grid" in exps:
        g = grid_table(table)
        rank = _paper_rank(g)
        top = g.iloc[0]
        rows.append({"claim": "Step 1: the grid at phi = 1 picks alpha, beta, gamma = 1.2, 1.1, 1.15",
                     "measured": f"best here ({top.alpha:g}, {top.beta:g}, {top.gamma:g}), val {top.val_mean:.3f}; "
                                 f"the paper's triple ranks {rank} of {len(g)}", "holds": rank == 1})
    for exp in ("compound_found", "compound_paper"):
        if exp not in exps or "single_dimension" not in exps:
            continue
        which = "found" if exp == "compound_found" else "paper's"
        for r in compound_vs_single(table, exp).itertuples():
            if r.phi == 0:
                continue
            claim = f"Step 2 ({which} triple): compound beats every single dimension at phi = {r.phi:g}"
            # matched: a single-dimension point within MATCH times the compound network's MACs
            rivals = {dim: (getattr(r, f"{dim}_mean"), getattr(r, f"{dim}_std")) for dim in ("width", "depth", "resolution")
                      if abs(math.log(getattr(r, f"{dim}_macs_ratio") / r.macs_ratio)) <= math.log(MATCH)}
            if not rivals:
                rows.append({"claim": claim, "holds": None,
                             "measured": f"compound {r.compound_mean:.3f} at {r.macs_ratio:.2f}x MACs; no single-dimension "
                                         f"point within {MATCH}x of its MACs"})
                continue
            dim = max(rivals, key=lambda k: rivals[k][0])
            n = table[table.experiment == exp].seed.nunique()
            d, se = _diff(r.compound_mean, r.compound_std, n, *rivals[dim][:1], rivals[dim][1], n)
            rows.append({"claim": claim, "holds": _verdict(d, se),
                         "measured": f"compound {r.compound_mean:.3f} at {r.macs_ratio:.2f}x MACs; best single within "
                                     f"{MATCH}x MACs: {dim} {getattr(r, f'{dim}_value'):g} {rivals[dim][0]:.3f} at "
                                     f"{getattr(r, f'{dim}_macs_ratio'):.2f}x ({d * 100:+.1f} ± {se * 100:.1f})"})
        steps = macs_per_step(table, exp)
        rows.append({"claim": f"each phi step about doubles the MACs ({exp.replace('_', ' ')})",
                     "measured": "measured ratios " + ", ".join(f"{v:.2f}" for v in steps.measured_ratio)
                                 + f" (nominal {steps.nominal.iloc[0]:.2f})",
                     "holds": bool(np.all(np.abs(steps.measured_ratio - 2) <= 0.2))})
    if "depth_budget" in exps:
        measured, holds = _depth_gap(table)
        rows.append({"claim": "deeper nets need longer training (the depth gap shrinks with epochs)",
                     "measured": measured, "holds": holds})
    return pd.DataFrame(rows)


def _depth_gap(table: pd.DataFrame) -> tuple[str, bool]:
    """The deep config's accuracy minus the base's, at the short and the long budget."""
    both = depth_budget_table(table).set_index(["depth", "epochs"]).test_mean
    (lo, hi), (short, long_) = sorted(set(both.index.get_level_values(0))), sorted(set(both.index.get_level_values(1)))
    gap_short, gap_long = both[(hi, short)] - both[(lo, short)], both[(hi, long_)] - both[(lo, long_)]
    return (f"depth {hi:g} minus {lo:g}: {gap_short * 100:+.1f} points at {short} epochs, "
            f"{gap_long * 100:+.1f} at {long_}", bool(gap_long > gap_short))


def headline(table: pd.DataFrame) -> str:
    """The study's outcome in a few sentences (markdown), every number read from `table`."""
    lines = []
    if "grid" in set(table.experiment):
        g, found = grid_table(table), best_triple(table)
        moved = [name for name, v in zip(("depth", "width", "resolution"), found) if v != 1]
        what = f"{moved[0]} alone" if len(moved) == 1 else " and ".join(moved)
        paper = _paper_rank(g)
        lines.append(f"- **Step 1** picked alpha, beta, gamma = {found} (scaling {what}), mean validation accuracy "
                     f"{g.val_mean.iloc[0]:.3f} ± {g.val_std.iloc[0]:.3f}; the paper's (1.2, 1.1, 1.15) ranks {paper} of {len(g)}.")
    singles = pd.concat([dimension_curve(table, d).assign(dimension=d) for d in ("width", "depth", "resolution")],
                        ignore_index=True)
    for exp, name in (("compound_found", "the found triple"), ("compound_paper", "the paper's triple")):
        if exp not in set(table.experiment):
            continue
        comp = compound_curve(table, exp)
        best = comp.loc[comp.test_mean.idxmax()]
        near = singles[np.abs(np.log(singles.macs / best.macs)) <= math.log(MATCH)]
        text = f"- **Step 2, {name}**: the best compound network (phi = {best.phi:g}, {best.macs_ratio:.2f}x the base's MACs) " \
               f"reaches {best.test_mean:.3f} ± {best.test_std:.3f} test accuracy"
        if len(near):
            rival = near.loc[near.test_mean.idxmax()]
            text += f"; the best single-dimension network within {MATCH}x of its MACs, {rival.dimension} " \
                    f"{rival[rival.dimension]:g} ({rival.macs_ratio:.2f}x), {rival.test_mean:.3f} ± {rival.test_std:.3f}."
        else:
            text += f"; no single-dimension network lies within {MATCH}x of its MACs."
        lines.append(text)
    if "depth_budget" in set(table.experiment):
        lines.append(f"- **Depth and budget**: {_depth_gap(table)[0]}.")
    return "\n".join(lines)
