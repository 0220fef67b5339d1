"""What the scaling study says of the paper's claims: one row per claim (Fig. 3's three dimensions
and their saturation, Fig. 4's width lines, the grid's best triple, step 2's compound against
single-dimension scaling), each judged by `scaling_analysis`' one rule with the numbers behind it
(`paper_claims`), and the outcome in a few sentences, written from the table (`headline`).

`scaling_analysis` holds the rule and the curves; this module only reads them against the paper.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .scaling_analysis import (
    DIMENSIONS,
    SE_RULE,
    base_of,
    best_triple,
    compare,
    compound_vs_single,
    cost_matched,
    depth_budget_table,
    dimension_curve,
    format_gain,
    gain_per_doubling,
    grid_table,
    holds_of,
    macs_per_step,
    paper_rank,
    summarise,
)

__all__ = ["paper_claims", "headline"]


def _claims_fig3(table) -> list[dict]:
    rows = []
    base = base_of(table)
    for dim in DIMENSIONS:
        c = dimension_curve(table, dim)
        b = c[c[dim] == base[dim]].iloc[0]
        first, top = c.iloc[1], c.iloc[-1]
        d, se, v = compare(first.test_mean, first.test_std, first.seeds, b.test_mean, b.test_std, b.seeds)
        rows.append(
            {
                "claim": f"Fig. 3: the first step of {dim} raises accuracy",
                "measured": f"{dim} {b[dim]:g} -> {first[dim]:g} ({first.macs_ratio:.2f}x MACs): {format_gain(d, se)}",
                "holds": holds_of(v),
            }
        )
        d, se, v = compare(top.test_mean, top.test_std, top.seeds, b.test_mean, b.test_std, b.seeds)
        rows.append(
            {
                "claim": f"Fig. 3: scaling {dim} alone raises accuracy",
                "measured": f"{dim} {b[dim]:g} -> {top[dim]:g} ({top.macs_ratio:.2f}x MACs): {format_gain(d, se)}",
                "holds": holds_of(v),
            }
        )
        g = gain_per_doubling(c)
        if len(g) >= 2:
            f, last = g.iloc[0], g.iloc[-1]
            diff = f.points_per_doubling - last.points_per_doubling
            se = math.hypot(f.per_doubling_se, last.per_doubling_se)
            holds = None if math.isnan(se) else bool(diff > SE_RULE * se)
            pm = (lambda v: "") if math.isnan(se) else (lambda v: f" ± {v:.1f} SE")
            rows.append(
                {
                    "claim": f"Fig. 3: the gain from {dim} shrinks as the network grows",
                    "measured": f"points per doubling of MACs: first step {f.points_per_doubling:+.1f}"
                    f"{pm(f.per_doubling_se)}, last {last.points_per_doubling:+.1f}"
                    f"{pm(last.per_doubling_se)}"
                    + (" (one seed: no verdict)" if math.isnan(se) else f"; the fall {diff:+.1f} ± {se:.1f} SE"),
                    "holds": holds,
                }
            )
    return rows


def _claims_fig4(table) -> list[dict]:
    lines = summarise(table[table.experiment == "width_lines"])
    small = lines[(lines.depth == lines.depth.min()) & (lines.resolution == lines.resolution.min())]
    large = lines[(lines.depth == lines.depth.max()) & (lines.resolution == lines.resolution.max())]
    # At matched cost: the larger line's cheapest point against the small line's point nearest its MACs.
    a = large.sort_values("macs").iloc[0]
    b = small.iloc[(np.log(small.macs) - math.log(a.macs)).abs().argmin()]
    d, se, v = compare(a.test_mean, a.test_std, a.seeds, b.test_mean, b.test_std, b.seeds)
    matched = cost_matched(a.macs, b.macs)
    return [
        {
            "claim": "Fig. 4: at the same cost, width scaling reaches more at greater depth and resolution",
            "measured": f"w={a.width:g}, d={a.depth:g}, r={a.resolution} ({a.macs_ratio:.2f}x): {a.test_mean:.3f}; "
            f"w={b.width:g}, d={b.depth:g}, r={b.resolution} ({b.macs_ratio:.2f}x): {b.test_mean:.3f} "
            f"({format_gain(d, se)}){'' if matched else '; not matched within the MACs band: no verdict'}",
            "holds": holds_of(v) if matched else None,
        }
    ]


def _claims_grid(table) -> list[dict]:
    g = grid_table(table)
    rank, top = paper_rank(g), g.iloc[0]
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
    return [
        {
            "claim": "Step 1: at equal cost the grid picks alpha, beta, gamma = 1.2, 1.1, 1.15",
            "measured": f"best mean ({top.alpha:g}, {top.beta:g}, {top.gamma:g}) val {top.val_mean:.3f}; the paper's "
            f"triple ranks {rank} of {len(g)} (val {paper.val_mean:.3f}): {outcome}; MACs {spread} of "
            f"the base",
            "holds": holds,
        }
    ]


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
            parts.append(
                f"{dim} {getattr(r, f'{dim}_value'):g} ({getattr(r, f'{dim}_macs_ratio'):.2f}x) "
                f"{format_gain(diff, se)}"
                + ("" if matched else " [not matched: no verdict]")
                + (f" [also in the band: {also}]" if also else "")
            )
            verdicts.append(getattr(r, f"{dim}_beaten") if matched else None)
        holds = None if None in verdicts else all(verdicts)
        rows.append(
            {
                "claim": f"Step 2 ({which} triple): compound beats each single dimension at phi = {r.phi:g}",
                "measured": f"compound {r.compound_mean:.3f} (SD {r.compound_std:.3f}) at {r.macs_ratio:.2f}x "
                f"MACs; compound minus " + "; ".join(parts),
                "holds": holds,
            }
        )
    steps = macs_per_step(table, exp)
    rows.append(
        {
            "claim": f"each phi step about doubles the MACs ({which} triple)",
            "measured": "measured ratios "
            + ", ".join(f"{v:.2f}" for v in steps.measured_ratio)
            + f" (nominal {steps.nominal.iloc[0]:.2f}; within 25% of 2 counts)",
            "holds": bool(all(cost_matched(v, 2.0) for v in steps.measured_ratio)),
        }
    )
    return rows


def _depth_gap(table: pd.DataFrame) -> tuple[str, bool | None]:
    """The deep config's accuracy minus the base's at the short and the long budget, with errors."""
    t = depth_budget_table(table).set_index(["depth", "epochs"])
    (lo, hi), (short, long_) = sorted(set(t.index.get_level_values(0))), sorted(set(t.index.get_level_values(1)))
    gaps = {
        e: compare(
            t.test_mean[(hi, e)],
            t.test_std[(hi, e)],
            t.seeds[(hi, e)],
            t.test_mean[(lo, e)],
            t.test_std[(lo, e)],
            t.seeds[(lo, e)],
        )
        for e in (short, long_)
    }
    se = math.hypot(gaps[short][1], gaps[long_][1])
    holds = None if math.isnan(se) else bool(gaps[long_][0] - gaps[short][0] > SE_RULE * se)
    return (
        f"depth {hi:g} minus {lo:g}: {format_gain(*gaps[short][:2])} at {short} epochs, "
        f"{format_gain(*gaps[long_][:2])} at {long_}",
        holds,
    )


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
        rows.append(
            {
                "claim": "(not a claim of the paper) a longer budget narrows the depth gap",
                "measured": measured,
                "holds": holds,
            }
        )
    return pd.DataFrame(rows, columns=["claim", "measured", "holds"])


def _by_verdict(r) -> str:
    """'beats width, depth; ties resolution (...)' for one row of `compound_vs_single`."""
    groups: dict[str, list[str]] = {}
    for d in DIMENSIONS:
        v = getattr(r, f"{d}_verdict") if getattr(r, f"{d}_matched") else "not matched"
        groups.setdefault(v or "no verdict (one seed)", []).append(
            f"{d} {getattr(r, f'{d}_value'):g}: {format_gain(getattr(r, f'{d}_diff'), getattr(r, f'{d}_se'))}"
        )
    words = {"beats": "beats", "ties": "ties with", "loses": "loses to"}
    return "; ".join(f"{words.get(v, v)} {', '.join(items)}" for v, items in groups.items())


def headline(table: pd.DataFrame) -> str:
    """The study's outcome in a few sentences (markdown), every number read from `table`."""
    claims = paper_claims(table)
    lines = []
    if "grid" in set(table.experiment):
        g, found = grid_table(table), best_triple(table)
        lines.append(
            f"- **Step 1** (triples at equal measured cost, "
            f"{g.macs_ratio.min():.2f}-{g.macs_ratio.max():.2f}x "
            f"the base's MACs) picked alpha, beta, gamma = {found}, mean validation accuracy "
            f"{g.val_mean.iloc[0]:.3f} (SD {g.val_std.iloc[0]:.3f}); the paper's (1.2, 1.1, 1.15) ranks "
            f"{paper_rank(g)} of {len(g)}; "
            + (
                f"{int(g.tied_with_best.sum())} triple(s) within 2 SE of the best."
                if g.tied_with_best.notna().all()
                else "one seed: no verdict on which is best."
            )
        )
    for exp, name in (("compound_found", "the found triple"), ("compound_paper", "the paper's triple")):
        if exp not in set(table.experiment):
            continue
        for r in compound_vs_single(table, exp).itertuples():
            if r.phi < 2:
                continue
            lines.append(
                f"- **Step 2, {name}, phi = {r.phi:g}** ({r.macs_ratio:.2f}x MACs, "
                f"test {r.compound_mean:.3f}, "
                f"SD {r.compound_std:.3f} over {r.seeds} seeds): " + _by_verdict(r) + "."
            )
    fig3 = claims[claims.claim.str.startswith("Fig. 3: the gain from")]
    if len(fig3):
        sat = [c.split("from ")[1].split(" shrinks")[0] for c, h in zip(fig3.claim, fig3.holds) if h]
        lines.append(
            f"- **Fig. 3**: saturation by the rule for {', '.join(sat) if sat else 'no dimension'} "
            f"of width, depth, resolution."
        )
    return "\n".join(lines)
