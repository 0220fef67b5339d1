"""The scaling study: its configs, the grid under the constraint, the analyses, a real tiny run."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from effnet_lib import scaling_study as S
from effnet_lib.scaling import constraint


def test_grid_respects_the_constraint_and_runs_each_network_once():
    triples = S.grid_triples(0.1)
    assert triples[0] == S.PAPER_TRIPLE
    assert all(abs(constraint(*t) - 2) <= S.TOLERANCE for t in triples)
    networks = [S.architecture(S.compound(S.FULL, *t, phi=1)) for t in triples]
    assert len(set(networks)) == len(networks)
    assert (2.0, 1.0, 1.0) in triples and (1.0, 1.0, 1.4) in triples and (1.0, 1.4, 1.0) in triples
    # a finer grid only adds triples, never loses the coarse ones' networks
    fine = {S.architecture(S.compound(S.FULL, *t, phi=1)) for t in S.grid_triples(0.05)}
    assert set(networks) <= fine


def test_compound_configs_follow_the_powers_of_phi():
    c = S.compound(S.FULL, 1.2, 1.1, 1.15, phi=2)
    assert c.width == pytest.approx(0.25 * 1.1 ** 2, abs=1e-4) and c.depth == pytest.approx(0.34 * 1.44, abs=1e-4)
    assert c.resolution == round(48 * 1.15 ** 2) and c.epochs == S.FULL.epochs and not c.quick
    assert S.compound(S.QUICK, 1.2, 1.1, 1.15, phi=0) == S.config(S.QUICK)
    ex = S.experiment_configs(S.FULL, found=(2.0, 1.0, 1.0))
    assert len(S.FULL.widths) >= 5 and len(S.FULL.depths) >= 5 and len(S.FULL.resolutions) >= 5
    assert len(S.FULL.seeds) >= 3 and S.FULL.phis == (0, 1, 2, 3)
    assert {t["phi"] for _, t in ex["compound_found"]} == {0, 1, 2, 3}


def test_costs_are_measured_and_show_the_rounding():
    t = S.costs(S.QUICK)
    width = t[t.dimension == "width"].set_index("value")
    assert width.measured_factor[0.25] == 1 and width.nominal_factor[0.5] == 4
    assert 1 < width.measured_factor[0.5] < 4  # stem, head and the 8-channel minimum weigh in
    depth = t[t.dimension == "depth"].set_index("value")
    assert depth.blocks[0.34] < depth.blocks[1.34]


def _table(acc):
    """A synthetic study table: `acc(width, depth, resolution, seed)` gives the test accuracy."""
    rows = []
    def add(exp, w, d, r, seed, epochs=15, **tags):
        macs = 1e6 * (w / 0.25) ** 2 * (d / 0.34) * (r / 48) ** 2
        rows.append({"experiment": exp, "width": w, "depth": d, "resolution": r, "seed": seed, "epochs": epochs,
                     "macs": macs, "params": 1, "train_seconds": 1.0, "test_acc": acc(w, d, r, seed),
                     "val_acc": acc(w, d, r, seed), "key": f"{exp}{w}{d}{r}{seed}{epochs}", **tags})
    for s in range(3):
        for w in (0.25, 0.35, 0.5, 0.7):
            add("single_dimension", w, 0.34, 48, s)
        for d in (0.5, 0.67, 1.0):
            add("single_dimension", 0.25, d, 48, s)
        for r in (64, 80, 96):
            add("single_dimension", 0.25, 0.34, r, s)
        for t in ((1.2, 1.1, 1.15), (2.0, 1.0, 1.0)):
            c = S.compound(S.FULL, *t, phi=1)
            add("grid", c.width, c.depth, c.resolution, s, alpha=t[0], beta=t[1], gamma=t[2], phi=1)
        for p in (0, 1, 2):
            c = S.compound(S.FULL, *S.PAPER_TRIPLE, phi=p)
            add("compound_paper", c.width, c.depth, c.resolution, s, alpha=1.2, beta=1.1, gamma=1.15, phi=p)
        for d in (0.34, 1.0):
            add("depth_budget", 0.25, d, 48, s, epochs=45)
    t = pd.DataFrame(rows)
    return t.assign(macs_ratio=t.macs / t.macs.iloc[0])


def test_analyses_on_a_table_where_the_paper_holds():
    rng = np.random.default_rng(0)
    # each dimension's gain is concave in its doublings and saturates: balance wins, as in the paper
    gain = lambda ratio: 0.1 * np.sqrt(min(np.log2(ratio), 1))  # noqa: E731
    acc = lambda w, d, r, s: 0.3 + gain(w / 0.25) + gain(d / 0.34) + gain(r / 48) \
        + 0.002 * rng.standard_normal()  # noqa: E731
    t = _table(acc)
    width = S.dimension_curve(t, "width")
    assert list(width.width) == [0.25, 0.35, 0.5, 0.7] and (width.seeds == 3).all()
    g = S.gain_per_doubling(width)
    assert len(g) == 3 and g.points_per_doubling.iloc[-1] < g.points_per_doubling.iloc[0]
    assert S.best_triple(t) == (1.2, 1.1, 1.15)
    vs = S.compound_vs_single(t, "compound_paper")
    assert list(vs.phi) == [0, 1, 2] and vs.width_value.iloc[0] == 0.25
    steps = S.macs_per_step(t, "compound_paper")
    assert np.allclose(steps.nominal, constraint())
    claims = S.paper_claims(t).set_index("claim").holds
    assert claims["Fig. 3: scaling width alone raises accuracy"]
    assert claims["Fig. 3: the gain from width shrinks as the model grows"]
    assert claims["Step 1: the grid at phi = 1 picks alpha, beta, gamma = 1.2, 1.1, 1.15"]
    assert claims["Step 2 (paper's triple): compound beats every single dimension at phi = 2"]


def test_claims_report_when_the_data_disagrees():
    acc = lambda w, d, r, s: 0.5 - 0.1 * np.log2(d / 0.34) + 0.01 * s  # depth hurts
    claims = S.paper_claims(_table(acc)).set_index("claim")
    row = claims.loc["Fig. 3: scaling depth alone raises accuracy"]
    assert not row.holds and "-" in row.measured
    assert not claims.loc["deeper nets need longer training (the depth gap shrinks with epochs)"].holds


def test_a_real_tiny_study_trains_caches_and_saves(tmp_path):
    mode = replace(S.QUICK, epochs=1, widths=(0.25, 0.5), depths=(0.34,), resolutions=(32,), fig4_pairs=(),
                   fig4_widths=(), grid_step=0.4, phis=(0, 1))
    first = S.run(mode, cache=tmp_path / "cache", progress=False, only=["grid"])
    assert set(first.experiment) == {"grid", "compound_paper"}  # the base comes with step 2 (phi = 0)
    assert first.loc[(first.width == 0.25) & (first.depth == 0.34) & (first.resolution == 48), "macs_ratio"].eq(1).all()
    assert first.prov_commit.notna().all() and (first.epochs == 1).all()
    again = S.run(mode, cache=tmp_path / "cache", progress=False, only=["grid"])
    pd.testing.assert_frame_equal(first, again)
    path = S.save_results(first, "test", tmp_path / "results.csv")
    table, how = S.load_results(path)
    assert len(table) == len(first) and how["command"] == "test" and how["seeds"] == [0]
    with pytest.raises(FileNotFoundError, match="scaling --mode full"):
        S.load_results(tmp_path / "missing.csv")
