"""The scaling study: matched-cost design, the grid at equal cost, the analyses by one rule, a real tiny run."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from effnet_lib.model.scaling import constraint
from effnet_lib.study import scaling_analysis as A
from effnet_lib.study import scaling_claims as C
from effnet_lib.study import scaling_results as R
from effnet_lib.study import scaling_study as S
from effnet_lib.training.config import config_key


def test_single_dimension_lines_reach_every_compound_network_within_the_band():
    for mode in (S.FULL, S.QUICK):
        singles = S.single_dimension(replace(mode, seeds=(0,)))
        base = S.macs_of(S.BASE.width, S.BASE.depth, S.BASE.image_size)
        for phi in (p for p in mode.phis if p > 0):
            target = S.macs_of(*(lambda c: (c.width, c.depth, c.image_size))(S.compound(mode, *S.PAPER_TRIPLE, phi)))
            for dim in ("width", "depth", "resolution"):
                now = lambda c: {"width": c.width, "depth": c.depth, "resolution": c.image_size}  # noqa: E731
                base_now = now(S.BASE)
                line = [
                    c
                    for c in singles
                    if all(now(c)[o] == base_now[o] for o in {"width", "depth", "resolution"} - {dim})
                ]
                best = min(abs(math.log(S.macs_of(c.width, c.depth, c.image_size) / target)) for c in line)
                assert best <= math.log(A.MACS_BAND), (mode.name, phi, dim)
        assert S.macs_of(S.BASE.width, S.BASE.depth, S.BASE.image_size) == base


def test_each_network_is_measured_once():
    """The matching asks for the same networks' MACs hundreds of times; each is measured once."""
    S.macs_of(0.25, 0.34, 33)
    before = S.macs_of.cache_info()
    assert S.macs_of(0.25, 0.34, 33) == S.macs_of(0.25, 0.34, 33)
    assert S.macs_of.cache_info().hits == before.hits + 2 and S.macs_of.cache_info().misses == before.misses


def test_matched_value_is_the_nearest_in_cost():
    target = 2 * S.macs_of(S.BASE.width, S.BASE.depth, S.BASE.image_size)
    r = S.matched_value("resolution", target)
    costs = {v: S.macs_of(S.BASE.width, S.BASE.depth, v) for v in (r - 1, r, r + 1)}
    assert min(costs, key=lambda v: abs(math.log(costs[v] / target))) == r


def test_grid_compares_triples_at_equal_measured_cost():
    triples = S.grid_triples(S.FULL)
    assert triples[0] == S.PAPER_TRIPLE and len(triples) >= 4
    target = S.macs_of(*(lambda c: (c.width, c.depth, c.image_size))(S.compound(S.FULL, *S.PAPER_TRIPLE, 1)))
    for t in triples:
        c = S.compound(S.FULL, *t, phi=1)
        assert abs(math.log(S.macs_of(c.width, c.depth, c.image_size) / target)) <= math.log(S.GRID_COST_BAND)
    networks = [S.architecture(S.compound(S.FULL, *t, phi=1)) for t in triples]
    assert len(set(networks)) == len(networks)
    assert len({t[0] for t in triples}) >= 2 and len({t[1] for t in triples}) >= 2  # depth and width get a turn


def test_compound_configs_follow_the_powers_of_phi():
    c = S.compound(S.FULL, 1.2, 1.1, 1.15, phi=2)
    assert c.width == pytest.approx(S.BASE.width * 1.1**2, abs=1e-4)
    assert c.depth == pytest.approx(S.BASE.depth * 1.44, abs=1e-4)
    assert c.image_size == round(S.BASE.image_size * 1.15**2) and c.epochs == S.FULL.epochs and not c.quick
    assert S.compound(S.QUICK, 1.2, 1.1, 1.15, phi=0) == S.config(S.QUICK)
    ex = S.experiment_configs(S.FULL, found=(1.0, 1.0, 1.4))
    assert len(S.FULL.seeds) >= 3 and S.FULL.phis == (0, 1, 2, 3)
    assert {t["phi"] for _, t in ex["compound_found"]} == {0, 1, 2, 3}


def test_costs_are_measured_and_show_the_rounding():
    t = S.costs(S.QUICK)
    assert t.measured_factor.iloc[0] == 1 and set(t.dimension) == {"width", "depth", "resolution"}
    width = t[t.dimension == "width"]
    assert (width.measured_factor.iloc[1:] < width.nominal_factor.iloc[1:] + 1e-9).all()
    depth = t[t.dimension == "depth"]
    assert depth.blocks.iloc[-1] > depth.blocks.iloc[0]


def _table(acc, seeds=(0, 1, 2)):
    """A synthetic table with the study's own configs: `acc(w, d, r, seed)` gives test accuracy."""
    mode = replace(S.QUICK, seeds=tuple(seeds), phis=(0, 1, 2))
    rows = []
    for exp, pairs in S.experiment_configs(mode, found=S.PAPER_TRIPLE).items():
        for c, tags in pairs:
            a = acc(c.width, c.depth, c.image_size, c.seed)
            rows.append(
                {
                    "experiment": exp,
                    "width": c.width,
                    "depth": c.depth,
                    "resolution": c.image_size,
                    "seed": c.seed,
                    "epochs": c.epochs,
                    "macs": S.macs_of(c.width, c.depth, c.image_size),
                    "params": 1,
                    "train_seconds": 1.0,
                    "test_acc": a,
                    "val_acc": a,
                    "key": config_key(c),
                    **tags,
                }
            )
    t = pd.DataFrame(rows)
    base = t[(t.width == S.BASE.width) & (t.depth == S.BASE.depth) & (t.resolution == S.BASE.image_size)]
    return t.assign(macs_ratio=t.macs / base.macs.iloc[0])


def _concave(w, d, r):
    gain = lambda ratio: 0.1 * np.sqrt(min(np.log2(ratio), 1.2))  # noqa: E731 - each dimension saturates
    return 0.5 + gain(w / S.BASE.width) + gain(d / S.BASE.depth) + gain(r / S.BASE.image_size)


def test_analyses_on_a_table_where_the_paper_holds():
    rng = np.random.default_rng(0)
    t = _table(lambda w, d, r, s: _concave(w, d, r) + 0.001 * rng.standard_normal())
    width = A.dimension_curve(t, "width")
    assert width.width.iloc[0] == S.BASE.width and (width.seeds == 3).all()
    g = A.gain_per_doubling(width)
    assert len(g) >= 1 and (g.per_doubling_se > 0).all()
    vs = A.compound_vs_single(t, "compound_paper")
    assert list(vs.phi) == [0, 1, 2] and vs.width_matched.all() and vs.depth_matched.all()
    claims = C.paper_claims(t).set_index("claim").holds
    assert claims["Fig. 3: the first step of resolution raises accuracy"]
    assert claims["Step 2 (paper's triple): compound beats each single dimension at phi = 2"]
    step2 = [line for line in C.headline(t).splitlines() if "Step 2" in line]
    assert step2 and all("beats width" in line and "ties" not in line and "loses" not in line for line in step2)


def test_claims_report_when_the_data_disagrees_and_one_seed_decides_nothing():
    t = _table(lambda w, d, r, s: 0.5 - 0.1 * np.log2(d / S.BASE.depth) + 0.01 * s)  # depth hurts
    claims = C.paper_claims(t).set_index("claim")
    row = claims.loc["Fig. 3: scaling depth alone raises accuracy"]
    assert row.holds is False and "-" in row.measured and "±" in row.measured
    one = C.paper_claims(_table(lambda w, d, r, s: _concave(w, d, r), seeds=(0,)))
    seeded = one[~one.claim.str.startswith(("each phi step", "Step 1"))]  # MACs and ranks need no seeds
    assert seeded.holds.isna().all() and seeded.measured.str.contains("one seed").all()


def test_compare_is_the_one_two_sided_rule():
    assert A.compare(0.60, 0.01, 3, 0.55, 0.01, 3)[2] == "beats"  # 5 points, se 0.8
    assert A.compare(0.56, 0.02, 3, 0.55, 0.02, 3)[2] == "ties"
    assert A.compare(0.55, 0.01, 3, 0.60, 0.01, 3)[2] == "loses"  # a loss is a verdict too
    assert A.compare(0.56, np.nan, 1, 0.55, np.nan, 1)[2] is None


def test_a_real_tiny_study_trains_caches_and_saves(split_folder, tmp_path):
    mode = replace(
        S.QUICK, epochs=1, phis=(0, 1), grid_alphas=(1.0,), grid_betas=(1.0,), fig4=(), data=str(split_folder)
    )
    first = S.run(mode, cache=tmp_path / "cache", progress=False, only=["grid"])
    assert set(first.experiment) == {"grid", "compound_paper"}  # the base comes with step 2 (phi = 0)
    base = (first.width == S.BASE.width) & (first.depth == S.BASE.depth) & (first.resolution == S.BASE.image_size)
    assert first.loc[base, "macs_ratio"].eq(1).all()
    assert first.prov_commit.notna().all() and (first.epochs == 1).all() and (first.prov_threads == 1).all()
    again = S.run(mode, cache=tmp_path / "cache", progress=False, only=["grid"])
    pd.testing.assert_frame_equal(first, again)
    path = R.save_results(first, "test", tmp_path / "results.csv")
    table, how = R.load_results(path)
    assert len(table) == len(first) and how["command"] == "test" and how["seeds"] == [0]
    with pytest.raises(FileNotFoundError, match="scaling --mode full"):
        R.load_results(tmp_path / "missing.csv")
    assert constraint(*S.PAPER_TRIPLE) == pytest.approx(1.92, abs=0.01)


def test_scaling_figures_show_se_on_fitted_axes_in_one_colour_per_dimension():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.colors import to_hex

    from effnet_lib.display.plots import DIMENSION_COLOURS, GainOverBase, ScalingCurves

    curve = pd.DataFrame(
        {
            "macs_ratio": [1.0, 2.0, 4.0],
            "test_mean": [0.82, 0.84, 0.845],
            "test_std": [0.006, 0.003, 0.009],
            "seeds": [3, 3, 3],
            "width": [0.25, 0.38, 0.5],
        }
    )
    one = curve.assign(seeds=1, test_std=np.nan)
    d = ScalingCurves({"width, 3 seeds": curve, "depth": one}, label="width", chance=0.1).plot()
    bars = d.ax_.containers[0]
    lows = [seg[0][1] for seg in bars[2][0].get_segments()]
    assert np.allclose(lows, curve.test_mean - curve.test_std / np.sqrt(3))  # SE, not SD
    assert to_hex(bars[0].get_color()) == DIMENSION_COLOURS["width"].lower()
    assert to_hex(d.ax_.containers[1][0].get_color()) == DIMENSION_COLOURS["depth"].lower()
    low, high = d.ax_.get_ylim()
    assert low > 0.5 and high < 0.9  # fitted to the data: chance (0.1) is a note, not the floor
    labels = [t.get_text() for t in d.ax_.get_legend().get_texts()]
    assert "depth (one seed: no error bar)" in labels
    assert d.ax_.get_xlabel().endswith("\n(chance: 0.10, below the axis)")
    assert "SE over seeds" in d.ax_.get_ylabel()  # one curve has seeds: the label says what the bars are
    alone = ScalingCurves({"depth": one}, chance=0.1).plot()
    assert alone.ax_.get_ylabel() == "test accuracy (one seed)"
    g = GainOverBase(
        pd.DataFrame(
            {
                "last_map": ["1x1", "1x1", "4x4", "4x4"],
                "step": ["width", "depth"] * 2,
                "points": [0.1, -0.2, 1.5, 1.1],
                "points_se": [0.5, 0.6, 0.4, 0.3],
                "verdict": ["ties", "ties", "beats", "ties"],
            }
        ),
        group="last_map",
    ).plot()
    assert [t.get_text() for t in g.ax_.get_xticklabels()] == ["1x1", "4x4"]
    assert {t.get_text() for t in g.ax_.texts} == {"ties", "beats"}
    width_bars = g.ax_.containers[0]  # two SE, the rule's width: a bar across zero is a tie
    lows = [seg[0][1] for seg in width_bars[2][0].get_segments()]
    assert np.allclose(lows, [0.1 - 2 * 0.5, 1.5 - 2 * 0.4])
    assert g.ax_.get_xlabel() == "last_map" and "2 SE" in g.ax_.get_ylabel()
