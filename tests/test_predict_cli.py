"""Prediction and the command line on real files: the commands through the command line's own
`main` (conftest.run_cli), and `python -m effnet_lib` as a real process once."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from PIL import Image

from effnet_lib.evaluation.predict import Predictor
from effnet_lib.evaluation.results import EvalResult


@pytest.fixture(scope="module")
def trained(tiny_run):
    return tiny_run.best


def cli(*args, check=True):
    proc = run_cli(*args)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_predict_folder_with_partial_last_batch_and_a_bad_file(trained, split_folder, tmp_path):
    images = tmp_path / "imgs"
    images.mkdir()
    for i, p in enumerate(sorted((split_folder / "test").rglob("*.jpg"))[:7]):
        Image.open(p).save(images / f"{i}.png")
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "pred.csv"
    proc = cli("predict", "--checkpoint", trained, "--out", out, "--batch-size", 3, "--topk", 2, images)
    table = pd.read_csv(out)
    assert len(table) == 7  # 3 + 3 + a last batch of 1, the broken file skipped and reported
    assert list(table.columns) == ["path", "pred_1", "prob_1", "pred_2", "prob_2"]
    assert (table["prob_1"] >= table["prob_2"]).all() and table["pred_1"].isin(["circles", "noise", "stripes"]).all()
    assert "broken.jpg" in proc.stdout and "1 unreadable skipped" in proc.stdout
    # Batch size does not change the answer.
    one_batch, _ = Predictor.from_checkpoint(trained).predict([images], topk=2, batch_size=64)
    assert np.allclose(one_batch["prob_1"], table["prob_1"], atol=1e-5)


def test_predict_json_and_five_images_of_one_class_in_one_batch(trained, split_folder, tmp_path):
    five = sorted((split_folder / "test" / "circles").iterdir())[:5]
    out = tmp_path / "five.json"
    cli("predict", "--checkpoint", trained, "--out", out, "--batch-size", 5, *five)
    rows = json.loads(out.read_text())
    assert len(rows) == 5 and {r["path"] for r in rows} == {str(p) for p in five}


def test_evaluate_writes_metrics_and_figures(trained, split_folder, tmp_path):
    proc = cli("evaluate", "--checkpoint", trained, "--data", split_folder, "--out", tmp_path / "ev")
    names = {p.name for p in (tmp_path / "ev").iterdir()}
    assert names >= {
        "predictions.csv",
        "per_class.csv",
        "summary.json",
        "confusion_matrix.png",
        "confusion_matrix_normalised.png",
        "confusion_matrix.csv",
        "probabilities.npy",
    }
    per_class = pd.read_csv(tmp_path / "ev" / "per_class.csv", index_col=0)
    assert list(per_class.columns) == ["precision", "recall", "specificity", "f1", "support"]
    assert per_class["support"].sum() == 15  # the test split
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["n"] == 15 and "specificity" in proc.stdout
    # The saved result reads back, and so does a bare predictions CSV.
    back = EvalResult.load(tmp_path / "ev")
    assert back.report().summary["accuracy"] == pytest.approx(summary["accuracy"])
    bare = tmp_path / "bare.csv"
    pd.read_csv(tmp_path / "ev" / "predictions.csv").to_csv(bare, index=False)
    assert EvalResult.load(bare).report().summary["accuracy"] == pytest.approx(summary["accuracy"])
    # How it was made: the checkpoint, the images, the commit and the device, read back with it.
    made = json.loads((tmp_path / "ev" / "provenance.json").read_text())
    assert made["checkpoint"] == str(Path(trained).resolve()) and made["images"] == 15 and made["unreadable"] == 0
    assert {"commit", "torch", "device", "date"} <= set(made) and back.made == made
    assert EvalResult.load(bare).made is None
    # A result without a record saved over it leaves none behind that would describe other predictions.
    EvalResult(back.classes, back.paths, back.y_true, back.probs).save(tmp_path / "ev")
    assert not (tmp_path / "ev" / "provenance.json").exists()


def test_cli_help_documents_every_option():
    text = cli("train", "--help").stdout
    for option in (
        "--data",
        "--out",
        "--epochs",
        "--image-size",
        "--model",
        "--width",
        "--depth",
        "--recipe",
        "--resume",
        "--pretrained",
        "--freeze-features",
        "--workers",
        "--augment-on",
    ):
        assert option in text
    top = cli("--help").stdout
    for command in ("train", "evaluate", "predict", "data", "table", "demo", "scaling"):
        assert command in top


@pytest.mark.parametrize(
    "args, needle",
    [
        (["train", "--data", "/nonexistent/folder", "--out", "{tmp}/r"], "/nonexistent/folder: no such folder"),
        (["predict", "--checkpoint", "{tmp}/none.pt", "--out", "{tmp}/p.csv", "x.jpg"], "none.pt: no such checkpoint"),
        (["evaluate", "--checkpoint", "{tmp}/none.pt", "--data", "builtin", "--out", "{tmp}/e"], "no such checkpoint"),
    ],
)
def test_cli_failures_are_one_clear_line(tmp_path, args, needle):
    proc = cli(*[a.format(tmp=tmp_path) for a in args], check=False)
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_table_prints_b0_to_b7():
    out = cli("table").stdout
    assert "B7" in out and "66,347,960" in out and "5,288,548" in out


@pytest.mark.slow
def test_the_package_runs_as_a_command_in_its_own_process(tmp_path):
    """`python -m effnet_lib`: a real process prints, exits 0, and fails with exit code 2 and one line."""
    ok = subprocess.run([sys.executable, "-m", "effnet_lib", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and all(c in ok.stdout for c in ("train", "evaluate", "predict", "demo")), ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "effnet_lib", "train", "--data", "/nonexistent/folder", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1 and "/nonexistent/folder: no such folder" in lines[0], bad.stderr
