"""Offline transfer learning (`effnet_lib.study.transfer`): the task folders, the paired gains and their
verdicts on tables whose answer is known, and one small study run end to end."""

import numpy as np
import pandas as pd
import pytest

from effnet_lib.data.datasets import resolve
from effnet_lib.study import transfer


def _count(folder, split):
    return {c.name: len(list(c.iterdir())) for c in sorted((folder / split).iterdir())}


def test_task_folders_hold_what_they_say(tmp_path):
    root = resolve("fashion")
    a = transfer.task_folder(transfer.TARGET, 5, seed=0, out=tmp_path / "a")
    assert set(_count(a, "train")) == set(transfer.TARGET)  # the target articles only
    assert set(_count(a, "train").values()) == {5} and set(_count(a, "val").values()) == {5}
    assert _count(a, "test") == {c: len(list((root / "test" / c).iterdir())) for c in transfer.TARGET}  # all of it
    again = transfer.task_folder(transfer.TARGET, 5, seed=0, out=tmp_path / "b")
    other = transfer.task_folder(transfer.TARGET, 5, seed=1, out=tmp_path / "c")
    names = lambda f: sorted(p.name for p in (f / "train").rglob("*.png"))  # noqa: E731
    assert names(a) == names(again) and names(a) != names(other)  # the seed draws the few images
    big = transfer.task_folder(transfer.TARGET, 200, seed=0, out=tmp_path / "d")
    assert set(_count(big, "val").values()) == {100}  # as many validation images, at most 100
    stamp = (a / transfer.MARKER).stat().st_mtime_ns
    assert transfer.task_folder(transfer.TARGET, 5, seed=0, out=tmp_path / "a") == a
    assert (a / transfer.MARKER).stat().st_mtime_ns == stamp  # built once, then read back
    (tmp_path / "e.partial" / "train").mkdir(parents=True)  # a build stopped half-way is redone
    e = transfer.task_folder(transfer.SOURCE, None, seed=0, out=tmp_path / "e")
    assert not (tmp_path / "e.partial").exists() and set(_count(e, "train").values()) == {500}


def test_a_target_run_starts_from_the_source_features_with_a_fresh_classifier(tmp_path):
    """Source and target both have five classes: the whole source state would fit, and its
    classifier's rows would start as the new classes'. The target starts from the features only."""
    import torch

    from effnet_lib.training.assemble import make_model

    source = make_model(transfer.source_config(0), num_classes=5)
    checkpoint = tmp_path / "best.pt"
    torch.save({"model": source.state_dict(), "epoch": 3}, checkpoint)
    features = transfer.features_only(checkpoint)
    assert features.exists() and not [k for k in torch.load(features, weights_only=True) if k.startswith("classifier")]
    target = make_model(transfer.target_config(5, 0, features), num_classes=5)
    assert torch.equal(target.features[1][0].block[0][0].weight, source.features[1][0].block[0][0].weight)
    assert not torch.equal(target.classifier[1].weight, source.classifier[1].weight)


def test_epochs_give_every_run_enough_images():
    assert transfer.epochs_for(5) == 60 and transfer.epochs_for(100) == transfer.EPOCHS
    assert all(transfer.epochs_for(n) * 5 * n >= transfer.PASSES for n in transfer.PER_CLASS)


def _table(gain_by_n: dict, noise: float, seeds=(0, 1, 2)):
    rng = np.random.default_rng(0)
    rows = []
    for n, gain in gain_by_n.items():
        for s in seeds:
            base = 0.5 + 0.01 * s  # seeds differ in level: pairing by seed removes it
            rows += [
                {"per_class": n, "seed": s, "start": "from scratch", "test_acc": base},
                {
                    "per_class": n,
                    "seed": s,
                    "start": "from the source network",
                    "test_acc": base + gain + rng.normal(0, noise),
                },
            ]
    return pd.DataFrame(rows)


def test_gains_are_paired_by_seed_with_two_sided_verdicts():
    g = transfer.gains(_table({5: 0.15, 25: 0.0, 100: -0.05}, noise=0.005)).set_index("per_class")
    assert g.loc[5, "verdict"] == "beats" and g.loc[25, "verdict"] == "ties" and g.loc[100, "verdict"] == "loses"
    assert g.loc[5, "gain"] == pytest.approx(0.15, abs=0.01) and (g.seeds == 3).all()
    assert g.loc[5, "gain_se"] < 0.01  # the seeds' different levels do not enter the SE
    one = transfer.gains(_table({5: 0.15}, noise=0, seeds=(0,)))
    assert one.verdict.iloc[0] is None and np.isnan(one.gain_se.iloc[0])  # one seed: no verdict


@pytest.mark.slow
def test_a_small_study_runs_end_to_end_and_resumes(tmp_path):
    """Source and target runs on a small build of the data, through the sweep cache: the rows say
    what they are, the second call trains nothing and gives the same numbers."""
    root = resolve("fashion-40-10-20")
    table = transfer.run(per_class=(5,), seeds=(0,), cache=tmp_path / "cache", root=root)
    assert list(table.start) == ["from the source network", "from scratch"]
    assert (table.per_class == 5).all() and table.test_acc.between(0, 1).all()
    assert table.epochs.iloc[0] == transfer.epochs_for(5) and table.prov_commit.notna().all()
    assert table.key.nunique() == 2  # the two starts are two configs
    assert table.lr.isin(transfer.LRS).all() and all(len(v.split()) == len(transfer.LRS) for v in table.val_accs)
    for r in table.itertuples():  # the rate kept is the one the validation split liked best
        assert r.val_acc == max(float(v) for v in r.val_accs.split())
    trained = sorted((tmp_path / "cache" / "runs").iterdir())
    again = transfer.run(per_class=(5,), seeds=(0,), cache=tmp_path / "cache", root=root)
    assert sorted((tmp_path / "cache" / "runs").iterdir()) == trained
    pd.testing.assert_frame_equal(table, again)


def test_notebook_03_reads_the_committed_table_as_it_is():
    """The sentences of notebook 03 on the transfer study hold on data/results/transfer.csv."""
    from pathlib import Path

    table, made = transfer.load_results()
    g = transfer.gains(table).set_index("per_class")
    assert made["seeds"] == list(transfer.SEEDS) and (g.seeds == len(transfer.SEEDS)).all()
    text = " ".join((Path(__file__).parents[1] / "notebooks" / "03_training.py").read_text().replace("# ", " ").split())
    assert "At 5, 10 and 100 images per class the study cannot tell the two starts apart (*ties*" in text
    assert list(g.verdict[[5, 10, 100]]) == ["ties"] * 3
    assert (
        g.gain_se[10] > g.gain[10] / 2
        and g.gain[10] - 2 * g.gain_se[10] < -0.05 < 0.05 < g.gain[10] + 2 * g.gain_se[10]
    )
    loses = f"*behind* (loses, {g.gain[25] * 100:.1f} ± {g.gain_se[25] * 100:.1f} points, SE)".replace("-", "-")
    beats = f"*ahead* (beats, {g.gain[50] * 100:+.1f} ± {g.gain_se[50] * 100:.1f} points, SE, just past the line)"
    assert 2 < g.gain[50] / g.gain_se[50] < 2.5 < -g.gain[25] / g.gain_se[25]  # only the gain at 50 is near the line
    assert loses in text and g.verdict[25] == "loses" and beats in text and g.verdict[50] == "beats"
    assert (g.gain.abs() < 0.06).all()  # "a few points at most, either way"
    assert "it trains 55 networks" in text and len(transfer.SEEDS) * (1 + 2 * len(transfer.PER_CLASS)) == 55
    assert set(table.lr) <= set(transfer.LRS) and table.lr.nunique() > 1  # the starts chose different rates
