"""What a scaling-study table shows: curves and comparisons, by one rule (the paper's claims and the
headline are read from them in `scaling_claims`).

The rule, applied to every verdict and in both directions: network a *beats* b when a - b exceeds
twice its standard error over seeds (`SE_RULE`), *loses* to b when b - a does, and *ties* with it
otherwise; with one seed there is no standard error and no verdict (None). Two networks are
"matched" when their measured MACs lie within 25% of each other (`MACS_BAND`); a compound network
is compared with the single-dimension network of nearest measured MACs, and any other point of that
dimension inside the band is reported beside it (its verdict may differ). Every ± in the text this
module writes says what it is: SE (standard error of a difference, over seeds) or SD (standard
deviation of one network's accuracy over seeds).

Everything here reads a tidy table (one row per experiment, config and seed, as
`scaling_study.run` returns it) and returns tables; notebooks only plot them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..model.scaling import ALPHA, BETA, GAMMA, constraint

__all__ = [
    "SE_RULE",
    "MACS_BAND",
    "verdict",
    "compare",
    "summarise",
    "base_of",
    "dimension_curve",
    "compound_curve",
    "width_line_curves",
    "depth_budget_table",
    "gain_per_doubling",
    "grid_table",
    "best_triple",
    "compound_vs_single",
    "macs_per_step",
    "room_table",
    "room_base_gains",
    "format_gain",
    "holds_of",
    "cost_matched",
    "paper_rank",
]

SE_RULE = 2.0  # a difference counts when it exceeds this many standard errors
MACS_BAND = 1.25  # matched: measured MACs within this factor of each other (scaling_study.MATCHED_BAND)
DIMENSIONS = ("width", "depth", "resolution")


def verdict(diff: float, se: float) -> str | None:
    """'beats', 'ties' or 'loses' for a difference a - b with standard error `se`; None without one."""
    if math.isnan(se):
        return None
    return "beats" if diff > SE_RULE * se else "loses" if diff < -SE_RULE * se else "ties"


def compare(a_mean, a_std, a_n, b_mean, b_std, b_n) -> tuple[float, float, str | None]:
    """a - b, its standard error over seeds, and a's verdict against b (`verdict`; None with one seed)."""
    if min(a_n, b_n) < 2:
        return a_mean - b_mean, float("nan"), None
    se = math.sqrt(np.nan_to_num(a_std) ** 2 / a_n + np.nan_to_num(b_std) ** 2 / b_n)
    return a_mean - b_mean, se, verdict(a_mean - b_mean, se)


def format_gain(diff, se) -> str:
    """A difference in points with its SE and verdict, as the claims and the headline write it."""
    if math.isnan(se):
        return f"{diff * 100:+.1f} points (one seed: no verdict)"
    return f"{diff * 100:+.1f} ± {se * 100:.1f} points (SE; {verdict(diff, se)})"


def holds_of(v: str | None) -> bool | None:
    """A verdict as a claim's `holds`: True for beats, False for ties or loses, None without one."""
    return None if v is None else v == "beats"


def cost_matched(macs_a, macs_b) -> bool:
    """Whether two networks cost the same within `MACS_BAND`."""
    return abs(math.log(macs_a / macs_b)) <= math.log(MACS_BAND) + 1e-12


def summarise(table: pd.DataFrame, by=DIMENSIONS) -> pd.DataFrame:
    """Mean, spread (standard deviation over seeds) and count of test accuracy per config."""
    g = table.groupby(list(by), as_index=False, dropna=False)
    return g.agg(
        macs=("macs", "first"),
        macs_ratio=("macs_ratio", "first"),
        params=("params", "first"),
        test_mean=("test_acc", "mean"),
        test_std=("test_acc", "std"),
        val_mean=("val_acc", "mean"),
        val_std=("val_acc", "std"),
        seeds=("seed", "nunique"),
        train_seconds=("train_seconds", "mean"),
    )


def base_of(table: pd.DataFrame) -> dict:
    """The study's base network: phi = 0 of step 2, or (in a table of single-dimension runs only)
    the cheapest network, where every dimension's line starts."""
    rows = table[(table.experiment == "compound_paper") & (table.phi == 0)]
    row = rows.iloc[0] if len(rows) else table.loc[table.macs.idxmin()]
    return {d: row[d] for d in DIMENSIONS}


def dimension_curve(table: pd.DataFrame, dimension: str, experiment="single_dimension") -> pd.DataFrame:
    """Fig. 3's curve for one dimension: the single-dimension rows where only `dimension` moved."""
    others = {k: v for k, v in base_of(table).items() if k != dimension}
    rows = table[(table.experiment == experiment) & np.logical_and.reduce([table[k] == v for k, v in others.items()])]
    return summarise(rows).sort_values("macs").reset_index(drop=True)


def compound_curve(table: pd.DataFrame, experiment: str = "compound_found") -> pd.DataFrame:
    """Step 2's curve: one row per phi of a compound experiment, mean and spread over seeds."""
    return summarise(table[table.experiment == experiment], by=("phi", *DIMENSIONS))


def width_line_curves(table: pd.DataFrame, experiment: str = "width_lines") -> dict[str, pd.DataFrame]:
    """Fig. 4's lines: width scaled at each (depth, resolution) pair, labelled by the pair."""
    lines = summarise(table[table.experiment == experiment])
    return {f"width at d={d:g}, r={r}": g for (d, r), g in lines.groupby(["depth", "resolution"])}


def depth_budget_table(table: pd.DataFrame) -> pd.DataFrame:
    """The depth-budget configs next to the same depths at the sweep's budget, by (depth, epochs)."""
    longer = table[table.experiment == "depth_budget"]
    base = base_of(table)
    shorter = table[
        (table.experiment == "single_dimension")
        & table.depth.isin(set(longer.depth))
        & (table.width == base["width"])
        & (table.resolution == base["resolution"])
    ]
    return summarise(pd.concat([shorter, longer]), by=("depth", "epochs"))


def gain_per_doubling(curve: pd.DataFrame, min_doublings: float = 0.25) -> pd.DataFrame:
    """From the base upwards: accuracy points per doubling of measured MACs, step by step, with
    the standard error of each step's gain over seeds. Points that cost less than `min_doublings`
    more than the last kept one are passed over (a tiny denominator would blow the ratio up)."""
    c = curve[curve.macs_ratio >= 1 - 1e-9].sort_values("macs").reset_index(drop=True)
    kept = [0]
    for i in range(1, len(c)):
        if math.log2(c.macs[i] / c.macs[kept[-1]]) >= min_doublings:
            kept.append(i)
    c = c.iloc[kept].reset_index(drop=True)
    rows = []
    for a, b in zip(c.iloc[:-1].itertuples(), c.iloc[1:].itertuples()):
        doublings = math.log2(b.macs / a.macs)
        diff, se, _ = compare(b.test_mean, b.test_std, b.seeds, a.test_mean, a.test_std, a.seeds)
        rows.append(
            {
                "from_macs_ratio": a.macs_ratio,
                "to_macs_ratio": b.macs_ratio,
                "doublings": doublings,
                "points": diff * 100,
                "points_se": se * 100,
                "points_per_doubling": diff * 100 / doublings,
                "per_doubling_se": se * 100 / doublings,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "from_macs_ratio",
            "to_macs_ratio",
            "doublings",
            "points",
            "points_se",
            "points_per_doubling",
            "per_doubling_se",
        ],
    )


def grid_table(table: pd.DataFrame) -> pd.DataFrame:
    """Step 1: every tried triple, its nominal FLOPs factor, its measured MACs against the base and
    its accuracy; best mean validation accuracy first, with whether each is within the rule of the
    best (`tied_with_best`: not worse by more than twice the standard error; None with one seed)."""
    s = (
        table[table.experiment == "grid"]
        .groupby(["alpha", "beta", "gamma"], as_index=False)
        .agg(
            width=("width", "first"),
            depth=("depth", "first"),
            resolution=("resolution", "first"),
            macs_ratio=("macs_ratio", "first"),
            val_mean=("val_acc", "mean"),
            val_std=("val_acc", "std"),
            test_mean=("test_acc", "mean"),
            seeds=("seed", "nunique"),
        )
    )
    s.insert(3, "flops_factor", [constraint(a, b, g) for a, b, g in zip(s.alpha, s.beta, s.gamma)])
    s = s.sort_values("val_mean", ascending=False, kind="stable").reset_index(drop=True)
    best = s.iloc[0]
    verdicts = [
        compare(best.val_mean, best.val_std, best.seeds, r.val_mean, r.val_std, r.seeds)[2] for r in s.itertuples()
    ]
    s["tied_with_best"] = pd.array([None if v is None else v != "beats" for v in verdicts], dtype="boolean")
    return s


def paper_rank(grid: pd.DataFrame) -> int:
    """Where the paper's triple lands in `grid_table`'s order (1 = best)."""
    return (
        int(
            np.flatnonzero(np.isclose(grid.alpha, ALPHA) & np.isclose(grid.beta, BETA) & np.isclose(grid.gamma, GAMMA))[
                0
            ]
        )
        + 1
    )


def best_triple(table: pd.DataFrame) -> tuple[float, float, float]:
    """Step 1's choice: the best mean *validation* accuracy (test is kept for step 2's comparison)."""
    best = grid_table(table).iloc[0]
    return float(best.alpha), float(best.beta), float(best.gamma)


def compound_vs_single(table: pd.DataFrame, experiment: str = "compound_found") -> pd.DataFrame:
    """Step 2: each phi of a compound run against each single dimension's network of nearest
    measured MACs: its value, MACs, whether it is matched (within `MACS_BAND`), the difference
    compound minus single with its standard error, the compound's verdict (`{dim}_verdict`: beats,
    ties, loses; `{dim}_beaten` is True when it beats) and, in `{dim}_also`, the other points of
    that dimension inside the band with their verdicts (the choice of point can change a verdict)."""
    curves = {dim: dimension_curve(table, dim) for dim in DIMENSIONS}
    out = []
    for row in compound_curve(table, experiment).itertuples():
        entry = {
            "phi": row.phi,
            "macs_ratio": row.macs_ratio,
            "compound_mean": row.test_mean,
            "compound_std": row.test_std,
            "seeds": row.seeds,
        }
        for dim, curve in curves.items():
            nearest = int((np.log(curve.macs) - math.log(row.macs)).abs().argmin())
            near = curve.iloc[nearest]
            diff, se, v = compare(row.test_mean, row.test_std, row.seeds, near.test_mean, near.test_std, near.seeds)
            also = []
            for i, other in enumerate(curve.itertuples()):
                if i != nearest and cost_matched(other.macs, row.macs):
                    d2, se2, _ = compare(
                        row.test_mean, row.test_std, row.seeds, other.test_mean, other.test_std, other.seeds
                    )
                    also.append(f"{dim} {getattr(other, dim):g} ({other.macs_ratio:.2f}x) {format_gain(d2, se2)}")
            entry |= {
                f"{dim}_value": near[dim],
                f"{dim}_macs_ratio": near.macs_ratio,
                f"{dim}_matched": cost_matched(near.macs, row.macs),
                f"{dim}_mean": near.test_mean,
                f"{dim}_std": near.test_std,
                f"{dim}_diff": diff,
                f"{dim}_se": se,
                f"{dim}_verdict": v,
                f"{dim}_beaten": holds_of(v),
                f"{dim}_also": "; ".join(also),
            }
        out.append(entry)
    return pd.DataFrame(out)


def macs_per_step(table: pd.DataFrame, experiment: str = "compound_found") -> pd.DataFrame:
    """Measured MACs ratio from each phi to the next, against the nominal alpha*beta^2*gamma^2."""
    c = summarise(table[table.experiment == experiment], by=("phi", "alpha", "beta", "gamma")).sort_values("phi")
    return pd.DataFrame(
        {
            "phi": c.phi.to_numpy()[1:],
            "measured_ratio": c.macs.to_numpy()[1:] / c.macs.to_numpy()[:-1],
            "nominal": [constraint(a, b, g) for a, b, g in zip(c.alpha[1:], c.beta[1:], c.gamma[1:])],
        }
    )


# The paper's claims against a table


def room_table(table: pd.DataFrame) -> pd.DataFrame:
    """The first width and depth steps against the base at each size of the last stage's maps
    (`scaling_results.load_room`): points gained, their SE over seeds and the verdict by the rule."""
    rows = []
    for side, g in table.groupby("last_map"):
        s = g.groupby("step").test_acc.agg(["mean", "std", "count"])
        for step in ("width", "depth"):
            if step in s.index and "base" in s.index:
                a, b = s.loc[step], s.loc["base"]
                diff, se, v = compare(a["mean"], a["std"], a["count"], b["mean"], b["std"], b["count"])
                rows.append(
                    {
                        "last_map": f"{side}x{side}",
                        "resolution": int(g.resolution.iloc[0]),
                        "step": step,
                        "base_mean": b["mean"],
                        "step_mean": a["mean"],
                        "points": diff * 100,
                        "points_se": se * 100,
                        "seeds": int(min(a["count"], b["count"])),
                        "verdict": v,
                    }
                )
    return pd.DataFrame(rows)


def room_base_gains(table: pd.DataFrame) -> pd.DataFrame:
    """The base alone, each size of the last stage's maps against the next smaller one
    (`scaling_results.load_room`): what more room gives a network that is not scaled, by the rule."""
    s = (
        table[table.step == "base"]
        .groupby("last_map")
        .agg(
            resolution=("resolution", "first"),
            mean=("test_acc", "mean"),
            std=("test_acc", "std"),
            count=("test_acc", "count"),
        )
        .sort_index()
    )
    rows = []
    for (small, a), (large, b) in zip(s.iloc[:-1].iterrows(), s.iloc[1:].iterrows()):
        diff, se, v = compare(b["mean"], b["std"], b["count"], a["mean"], a["std"], a["count"])
        rows.append(
            {
                "from": f"{small}x{small} ({int(a.resolution)} px)",
                "to": f"{large}x{large} ({int(b.resolution)} px)",
                "base_from": a["mean"],
                "base_to": b["mean"],
                "points": diff * 100,
                "points_se": se * 100,
                "seeds": int(min(a["count"], b["count"])),
                "verdict": v,
            }
        )
    return pd.DataFrame(rows)
