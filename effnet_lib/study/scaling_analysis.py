"""What a scaling-study table shows: curves, the paper's claims and the headline, by one rule.

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

__all__ = ["SE_RULE", "MACS_BAND", "verdict", "compare", "summarise", "base_of", "dimension_curve", "compound_curve",
           "width_line_curves", "depth_budget_table", "gain_per_doubling", "grid_table", "best_triple",
           "compound_vs_single", "macs_per_step", "paper_claims", "headline", "room_table", "room_base_gains"]

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


def _fmt(diff, se) -> str:
    if math.isnan(se):
        return f"{diff * 100:+.1f} points (one seed: no verdict)"
    return f"{diff * 100:+.1f} ± {se * 100:.1f} points (SE; {verdict(diff, se)})"


def _holds(v: str | None) -> bool | None:
    return None if v is None else v == "beats"


def _matched(macs_a, macs_b) -> bool:
    return abs(math.log(macs_a / macs_b)) <= math.log(MACS_BAND) + 1e-12


def summarise(table: pd.DataFrame, by=DIMENSIONS) -> pd.DataFrame:
    """Mean, spread (standard deviation over seeds) and count of test accuracy per config."""
    g = table.groupby(list(by), as_index=False, dropna=False)
    return g.agg(macs=("macs", "first"), macs_ratio=("macs_ratio", "first"), params=("params", "first"),
                 test_mean=("test_acc", "mean"), test_std=("test_acc", "std"), val_mean=("val_acc", "mean"),
                 val_std=("val_acc", "std"), seeds=("seed", "nunique"), train_seconds=("train_seconds", "mean"))


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
    shorter = table[(table.experiment == "single_dimension") & table.depth.isin(set(longer.depth))
                    & (table.width == base["width"]) & (table.resolution == base["resolution"])]
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
        rows.append({"from_macs_ratio": a.macs_ratio, "to_macs_ratio": b.macs_ratio, "doublings": doublings,
                     "points": diff * 100, "points_se": se * 100, "points_per_doubling": diff * 100 / doublings,
                     "per_doubling_se": se * 100 / doublings})
    return pd.DataFrame(rows, columns=["from_macs_ratio", "to_macs_ratio", "doublings", "points", "points_se",
                                       "points_per_doubling", "per_doubling_se"])


def grid_table(table: pd.DataFrame) -> pd.DataFrame:
    """Step 1: every tried triple, its nominal FLOPs factor, its measured MACs against the base and
    its accuracy; best mean validation accuracy first, with whether each is within the rule of the
    best (`tied_with_best`: not worse by more than twice the standard error; None with one seed)."""
    s = table[table.experiment == "grid"].groupby(["alpha", "beta", "gamma"], as_index=False).agg(
        width=("width", "first"), depth=("depth", "first"), resolution=("resolution", "first"),
        macs_ratio=("macs_ratio", "first"), val_mean=("val_acc", "mean"), val_std=("val_acc", "std"),
        test_mean=("test_acc", "mean"), seeds=("seed", "nunique"))
    s.insert(3, "flops_factor", [constraint(a, b, g) for a, b, g in zip(s.alpha, s.beta, s.gamma)])
    s = s.sort_values("val_mean", ascending=False, kind="stable").reset_index(drop=True)
    best = s.iloc[0]
    verdicts = [compare(best.val_mean, best.val_std, best.seeds, r.val_mean, r.val_std, r.seeds)[2]
                for r in s.itertuples()]
    s["tied_with_best"] = pd.array([None if v is None else v != "beats" for v in verdicts], dtype="boolean")
    return s


def _paper_rank(grid: pd.DataFrame) -> int:
    """Where the paper's triple lands in `grid_table`'s order (1 = best)."""
    return int(np.flatnonzero(np.isclose(grid.alpha, ALPHA) & np.isclose(grid.beta, BETA)
                              & np.isclose(grid.gamma, GAMMA))[0]) + 1


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
        entry = {"phi": row.phi, "macs_ratio": row.macs_ratio, "compound_mean": row.test_mean,
                 "compound_std": row.test_std, "seeds": row.seeds}
        for dim, curve in curves.items():
            nearest = int((np.log(curve.macs) - math.log(row.macs)).abs().argmin())
            near = curve.iloc[nearest]
            diff, se, v = compare(row.test_mean, row.test_std, row.seeds, near.test_mean, near.test_std, near.seeds)
            also = []
            for i, other in enumerate(curve.itertuples()):
                if i != nearest and _matched(other.macs, row.macs):
                    d2, se2, _ = compare(row.test_mean, row.test_std, row.seeds, other.test_mean, other.test_std,
                                         other.seeds)
                    also.append(f"{dim} {getattr(other, dim):g} ({other.macs_ratio:.2f}x) {_fmt(d2, se2)}")
            entry |= {f"{dim}_value": near[dim], f"{dim}_macs_ratio": near.macs_ratio,
                      f"{dim}_matched": _matched(near.macs, row.macs), f"{dim}_mean": near.test_mean,
                      f"{dim}_std": near.test_std, f"{dim}_diff": diff, f"{dim}_se": se, f"{dim}_verdict": v,
                      f"{dim}_beaten": _holds(v), f"{dim}_also": "; ".join(also)}
        out.append(entry)
    return pd.DataFrame(out)


def macs_per_step(table: pd.DataFrame, experiment: str = "compound_found") -> pd.DataFrame:
    """Measured MACs ratio from each phi to the next, against the nominal alpha*beta^2*gamma^2."""
    c = summarise(table[table.experiment == experiment], by=("phi", "alpha", "beta", "gamma")).sort_values("phi")
    return pd.DataFrame({"phi": c.phi.to_numpy()[1:], "measured_ratio": c.macs.to_numpy()[1:] / c.macs.to_numpy()[:-1],
                         "nominal": [constraint(a, b, g) for a, b, g in zip(c.alpha[1:], c.beta[1:], c.gamma[1:])]})


# The paper's claims against a table

def _claims_fig3(table) -> list[dict]:
    rows = []
    base = base_of(table)
    for dim in DIMENSIONS:
        c = dimension_curve(table, dim)
        b = c[c[dim] == base[dim]].iloc[0]
        first, top = c.iloc[1], c.iloc[-1]
        d, se, v = compare(first.test_mean, first.test_std, first.seeds, b.test_mean, b.test_std, b.seeds)
        rows.append({"claim": f"Fig. 3: the first step of {dim} raises accuracy",
                     "measured": f"{dim} {b[dim]:g} -> {first[dim]:g} ({first.macs_ratio:.2f}x MACs): {_fmt(d, se)}",
                     "holds": _holds(v)})
        d, se, v = compare(top.test_mean, top.test_std, top.seeds, b.test_mean, b.test_std, b.seeds)
        rows.append({"claim": f"Fig. 3: scaling {dim} alone raises accuracy",
                     "measured": f"{dim} {b[dim]:g} -> {top[dim]:g} ({top.macs_ratio:.2f}x MACs): {_fmt(d, se)}",
                     "holds": _holds(v)})
        g = gain_per_doubling(c)
        if len(g) >= 2:
            f, last = g.iloc[0], g.iloc[-1]
            diff = f.points_per_doubling - last.points_per_doubling
            se = math.hypot(f.per_doubling_se, last.per_doubling_se)
            holds = None if math.isnan(se) else bool(diff > SE_RULE * se)
            pm = (lambda v: "") if math.isnan(se) else (lambda v: f" ± {v:.1f} SE")
            rows.append({"claim": f"Fig. 3: the gain from {dim} shrinks as the network grows",
                         "measured": f"points per doubling of MACs: first step {f.points_per_doubling:+.1f}"
                                     f"{pm(f.per_doubling_se)}, last {last.points_per_doubling:+.1f}"
                                     f"{pm(last.per_doubling_se)}" + (" (one seed: no verdict)" if math.isnan(se)
                                                                      else f"; the fall {diff:+.1f} ± {se:.1f} SE"),
                         "holds": holds})
    return rows


def _claims_fig4(table) -> list[dict]:
    lines = summarise(table[table.experiment == "width_lines"])
    small = lines[(lines.depth == lines.depth.min()) & (lines.resolution == lines.resolution.min())]
    large = lines[(lines.depth == lines.depth.max()) & (lines.resolution == lines.resolution.max())]
    # At matched cost: the larger line's cheapest point against the small line's point nearest its MACs.
    a = large.sort_values("macs").iloc[0]
    b = small.iloc[(np.log(small.macs) - math.log(a.macs)).abs().argmin()]
    d, se, v = compare(a.test_mean, a.test_std, a.seeds, b.test_mean, b.test_std, b.seeds)
    matched = _matched(a.macs, b.macs)
    return [{"claim": "Fig. 4: at the same cost, width scaling reaches more at greater depth and resolution",
             "measured": f"w={a.width:g}, d={a.depth:g}, r={a.resolution} ({a.macs_ratio:.2f}x): {a.test_mean:.3f}; "
                         f"w={b.width:g}, d={b.depth:g}, r={b.resolution} ({b.macs_ratio:.2f}x): {b.test_mean:.3f} "
                         f"({_fmt(d, se)}){'' if matched else '; not matched within the MACs band: no verdict'}",
             "holds": _holds(v) if matched else None}]


def _claims_grid(table) -> list[dict]:
    g = grid_table(table)
    rank, top = _paper_rank(g), g.iloc[0]
    paper = g.iloc[rank - 1]
    spread = f"{g.macs_ratio.min():.2f}-{g.macs_ratio.max():.2f}x"
    tied = int(g.tied_with_best.fillna(False).sum())
    if paper.seeds < 2:
        holds, outcome = None, "one seed: no verdict"
    elif rank == 1 and tied == 1:
        holds, outcome = True, "picked, every other triple more than 2 SE below it"
    elif paper.tied_with_best:
        holds, outcome = None, f"tie: {tied} triples within 2 SE of the best, so the grid cannot choose"
    else:
        holds, outcome = False, "not picked: more than 2 SE below the best"
    return [{"claim": "Step 1: at equal cost the grid picks alpha, beta, gamma = 1.2, 1.1, 1.15",
             "measured": f"best mean ({top.alpha:g}, {top.beta:g}, {top.gamma:g}) val {top.val_mean:.3f}; the paper's "
                         f"triple ranks {rank} of {len(g)} (val {paper.val_mean:.3f}): {outcome}; MACs {spread} of "
                         f"the base", "holds": holds}]


def _claims_step2(table, exp) -> list[dict]:
    which = "found" if exp == "compound_found" else "paper's"
    rows = []
    for r in compound_vs_single(table, exp).itertuples():
        if r.phi == 0:
            continue
        parts, verdicts = [], []
        for dim in DIMENSIONS:
            matched = getattr(r, f"{dim}_matched")
            diff, se, also = getattr(r, f"{dim}_diff"), getattr(r, f"{dim}_se"), getattr(r, f"{dim}_also")
            parts.append(f"{dim} {getattr(r, f'{dim}_value'):g} ({getattr(r, f'{dim}_macs_ratio'):.2f}x) "
                         f"{_fmt(diff, se)}" + ("" if matched else " [not matched: no verdict]")
                         + (f" [also in the band: {also}]" if also else ""))
            verdicts.append(getattr(r, f"{dim}_beaten") if matched else None)
        holds = None if None in verdicts else all(verdicts)
        rows.append({"claim": f"Step 2 ({which} triple): compound beats each single dimension at phi = {r.phi:g}",
                     "measured": f"compound {r.compound_mean:.3f} (SD {r.compound_std:.3f}) at {r.macs_ratio:.2f}x "
                                 f"MACs; compound minus " + "; ".join(parts), "holds": holds})
    steps = macs_per_step(table, exp)
    rows.append({"claim": f"each phi step about doubles the MACs ({which} triple)",
                 "measured": "measured ratios " + ", ".join(f"{v:.2f}" for v in steps.measured_ratio)
                             + f" (nominal {steps.nominal.iloc[0]:.2f}; within 25% of 2 counts)",
                 "holds": bool(all(_matched(v, 2.0) for v in steps.measured_ratio))})
    return rows


def _depth_gap(table: pd.DataFrame) -> tuple[str, bool | None]:
    """The deep config's accuracy minus the base's at the short and the long budget, with errors."""
    t = depth_budget_table(table).set_index(["depth", "epochs"])
    (lo, hi), (short, long_) = sorted(set(t.index.get_level_values(0))), sorted(set(t.index.get_level_values(1)))
    gaps = {e: compare(t.test_mean[(hi, e)], t.test_std[(hi, e)], t.seeds[(hi, e)],
                       t.test_mean[(lo, e)], t.test_std[(lo, e)], t.seeds[(lo, e)]) for e in (short, long_)}
    se = math.hypot(gaps[short][1], gaps[long_][1])
    holds = None if math.isnan(se) else bool(gaps[long_][0] - gaps[short][0] > SE_RULE * se)
    return (f"depth {hi:g} minus {lo:g}: {_fmt(*gaps[short][:2])} at {short} epochs, "
            f"{_fmt(*gaps[long_][:2])} at {long_}", holds)


def paper_claims(table: pd.DataFrame) -> pd.DataFrame:
    """Each claim of the paper's section 3 that the table can test, what the table measures and
    whether the claim holds here by the rule (`SE_RULE`, `MACS_BAND`). `holds` is None where the
    table cannot say: one seed, or no network within the MACs band to compare with."""
    exps = set(table.experiment)
    rows = []
    if "single_dimension" in exps:
        rows += _claims_fig3(table)
    if "width_lines" in exps:
        rows += _claims_fig4(table)
    if "grid" in exps:
        rows += _claims_grid(table)
    for exp in ("compound_found", "compound_paper"):
        if exp in exps and "single_dimension" in exps:
            rows += _claims_step2(table, exp)
    if "depth_budget" in exps:
        measured, holds = _depth_gap(table)
        rows.append({"claim": "(not a claim of the paper) a longer budget narrows the depth gap",
                     "measured": measured, "holds": holds})
    return pd.DataFrame(rows, columns=["claim", "measured", "holds"])


def _by_verdict(r) -> str:
    """'beats width, depth; ties resolution (...)' for one row of `compound_vs_single`."""
    groups: dict[str, list[str]] = {}
    for d in DIMENSIONS:
        v = getattr(r, f"{d}_verdict") if getattr(r, f"{d}_matched") else "not matched"
        groups.setdefault(v or "no verdict (one seed)", []).append(
            f"{d} {getattr(r, f'{d}_value'):g}: {_fmt(getattr(r, f'{d}_diff'), getattr(r, f'{d}_se'))}")
    words = {"beats": "beats", "ties": "ties with", "loses": "loses to"}
    return "; ".join(f"{words.get(v, v)} {', '.join(items)}" for v, items in groups.items())


def headline(table: pd.DataFrame) -> str:
    """The study's outcome in a few sentences (markdown), every number read from `table`."""
    claims = paper_claims(table)
    lines = []
    if "grid" in set(table.experiment):
        g, found = grid_table(table), best_triple(table)
        lines.append(f"- **Step 1** (triples at equal measured cost, "
                     f"{g.macs_ratio.min():.2f}-{g.macs_ratio.max():.2f}x "
                     f"the base's MACs) picked alpha, beta, gamma = {found}, mean validation accuracy "
                     f"{g.val_mean.iloc[0]:.3f} (SD {g.val_std.iloc[0]:.3f}); the paper's (1.2, 1.1, 1.15) ranks "
                     f"{_paper_rank(g)} of {len(g)}; "
                     + (f"{int(g.tied_with_best.sum())} triple(s) within 2 SE of the best."
                        if g.tied_with_best.notna().all()
                        else "one seed: no verdict on which is best."))
    for exp, name in (("compound_found", "the found triple"), ("compound_paper", "the paper's triple")):
        if exp not in set(table.experiment):
            continue
        for r in compound_vs_single(table, exp).itertuples():
            if r.phi < 2:
                continue
            lines.append(f"- **Step 2, {name}, phi = {r.phi:g}** ({r.macs_ratio:.2f}x MACs, "
                         f"test {r.compound_mean:.3f}, "
                         f"SD {r.compound_std:.3f} over {r.seeds} seeds): " + _by_verdict(r) + ".")
    fig3 = claims[claims.claim.str.startswith("Fig. 3: the gain from")]
    if len(fig3):
        sat = [c.split("from ")[1].split(" shrinks")[0] for c, h in zip(fig3.claim, fig3.holds) if h]
        lines.append(f"- **Fig. 3**: saturation by the rule for {', '.join(sat) if sat else 'no dimension'} "
                     f"of width, depth, resolution.")
    return "\n".join(lines)


def room_table(table: pd.DataFrame) -> pd.DataFrame:
    """The first width and depth steps against the base at each size of the last stage's maps
    (`scaling_study.load_room`): points gained, their SE over seeds and the verdict by the rule."""
    rows = []
    for side, g in table.groupby("last_map"):
        s = g.groupby("step").test_acc.agg(["mean", "std", "count"])
        for step in ("width", "depth"):
            if step in s.index and "base" in s.index:
                a, b = s.loc[step], s.loc["base"]
                diff, se, v = compare(a["mean"], a["std"], a["count"], b["mean"], b["std"], b["count"])
                rows.append({"last_map": f"{side}x{side}", "resolution": int(g.resolution.iloc[0]), "step": step,
                             "base_mean": b["mean"], "step_mean": a["mean"], "points": diff * 100,
                             "points_se": se * 100, "seeds": int(min(a["count"], b["count"])), "verdict": v})
    return pd.DataFrame(rows)


def room_base_gains(table: pd.DataFrame) -> pd.DataFrame:
    """The base alone, each size of the last stage's maps against the next smaller one
    (`scaling_study.load_room`): what more room gives a network that is not scaled, by the rule."""
    s = table[table.step == "base"].groupby("last_map").agg(resolution=("resolution", "first"),
                                                            mean=("test_acc", "mean"), std=("test_acc", "std"),
                                                            count=("test_acc", "count")).sort_index()
    rows = []
    for (small, a), (large, b) in zip(s.iloc[:-1].iterrows(), s.iloc[1:].iterrows()):
        diff, se, v = compare(b["mean"], b["std"], b["count"], a["mean"], a["std"], a["count"])
        rows.append({"from": f"{small}x{small} ({int(a.resolution)} px)",
                     "to": f"{large}x{large} ({int(b.resolution)} px)",
                     "base_from": a["mean"], "base_to": b["mean"], "points": diff * 100, "points_se": se * 100,
                     "seeds": int(min(a["count"], b["count"])), "verdict": v})
    return pd.DataFrame(rows)

