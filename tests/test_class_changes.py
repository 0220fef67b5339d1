"""Per-class changes between two runs, with their uncertainty: the exact McNemar test and
Benjamini-Hochberg against scipy and hand computations, and planted changes found where they were
planted and nowhere else."""

import numpy as np
import pytest
from scipy.stats import binomtest

from effnet_lib.evaluation.changes import benjamini_hochberg, class_changes, mcnemar_exact
from effnet_lib.evaluation.diagnostics import compare_results, paired
from effnet_lib.evaluation.results import EvalResult


def test_mcnemar_is_the_exact_binomial_on_the_discordant_images():
    assert mcnemar_exact(0, 0) == 1.0  # nothing differs: nothing to test
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(3, 12) == pytest.approx(binomtest(3, 15, 0.5).pvalue)
    assert mcnemar_exact(7, 7) == 1.0


def test_benjamini_hochberg_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.02, 0.04, 0.04 (p * m / rank, monotone from the top)
    assert np.allclose(benjamini_hochberg([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02])
    assert np.allclose(benjamini_hochberg([0.5, 0.9]), [0.9, 0.9])
    assert benjamini_hochberg([0.9, 0.9, 0.99]).max() <= 1.0


def _planted(seed=0, k=50, per_class=100, noise=3):
    """Run a right on 70% of each class; run b equal to a except: in classes 3, 17 and 41 it also
    gets 25 of a's wrong images right, in class 8 it gets 25 of a's right images wrong, and in every
    class `noise` images flip each way (changes that cancel)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), per_class)
    a = y.copy()
    wrong = np.zeros(len(y), bool)
    for c in range(k):
        idx = np.flatnonzero(y == c)
        wrong[rng.choice(idx, 30, replace=False)] = True
    a[wrong] = (y[wrong] + 1 + rng.integers(0, k - 1, wrong.sum())) % k  # any other class
    b = a.copy()
    for c in range(k):
        idx = np.flatnonzero(y == c)
        right_idx, wrong_idx = idx[~wrong[idx]], idx[wrong[idx]]
        gain = 25 if c in (3, 17, 41) else noise
        loss = 25 if c == 8 else noise
        b[rng.choice(wrong_idx, gain, replace=False)] = c
        b[rng.choice(right_idx, loss, replace=False)] = (c + 1) % k
    return y, a, b, [f"class {c:02d}" for c in range(k)]


def test_planted_changes_are_found_where_they_were_planted_and_nowhere_else():
    y, a, b, classes = _planted()
    t = class_changes(y, a, b, classes, n_boot=300)
    better = set(t.index[t.verdict == "b better"])
    worse = set(t.index[t.verdict == "a better"])
    assert better == {"class 03", "class 17", "class 41"} and worse == {"class 08"}
    assert np.allclose(t.loc[list(better), "recall_change"], (25 - 3) / 100)  # planted gain less the noise
    # the intervals: around the observed change, away from zero where the change was planted
    assert ((t.f1_low <= t.f1_change + 1e-12) & (t.f1_change <= t.f1_high + 1e-12)).all()
    assert (t.loc[list(better), "f1_low"] > 0).all() and t.loc["class 08", "f1_high"] < 0
    unchanged = t.drop(index=list(better | worse))
    assert (unchanged.right_b_only == unchanged.right_a_only).all()  # the noise cancels
    assert (unchanged.q_value > 0.05).all()


def test_no_change_at_all_calls_nothing_and_is_seeded():
    y, a, _, classes = _planted()
    t = class_changes(y, a, a, classes, n_boot=50)
    assert set(t.verdict) == {"no change shown"} and (t.p_value == 1).all()
    assert (t.f1_low == 0).all() and (t.f1_high == 0).all()
    y, a, b, classes = _planted(seed=1)
    first, again = (class_changes(y, a, b, classes, n_boot=100, seed=3) for _ in range(2))
    assert first.equals(again)


def test_two_evaluations_are_paired_by_path_and_class_name():
    y, a, b, classes = _planted(k=6, per_class=40, noise=1)
    paths = [f"img{i:04d}.png" for i in range(len(y))]
    probs = np.eye(len(classes))
    res_a = EvalResult(classes, paths, y, probs[a])
    order = np.random.default_rng(0).permutation(len(y))  # b's rows shuffled, its classes reversed
    rev = classes[::-1]
    to_rev = {c: rev.index(name) for c, name in enumerate(classes)}
    yb = np.array([to_rev[c] for c in y[order]])
    pb = np.array([to_rev[c] for c in b[order]])
    res_b = EvalResult(rev, [paths[i] for i in order], yb, np.eye(len(rev))[pb])
    y2, a2, b2, cls, _ = paired(res_a, res_b)
    assert cls == classes and (y2 == y).all() and (a2 == a).all() and (b2 == b).all()
    assert compare_results(res_a, res_b)["accuracy_b"] == pytest.approx((b == y).mean())
