"""Relabelling checked images: evaluate writes the candidates ready to edit; the command says what
it would move and moves nothing without --apply; with it, each file goes to its new class folder
and the log records every move; any bad row stops the whole file before anything moves."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from effnet_lib.cli import main
from effnet_lib.display.outputs import write_evaluation
from effnet_lib.evaluation.relabel import COLUMNS
from effnet_lib.evaluation.results import EvalResult


def _folder(root: Path) -> list[str]:
    """A split folder: train/ and test/ with cat and dog, 4 images each; the paths of test/."""
    paths = []
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (root / split / cls).mkdir(parents=True)
            for i in range(4):
                p = root / split / cls / f"{cls}_{i}.png"
                Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(p)
                if split == "test":
                    paths.append(str(p))
    return paths


@pytest.fixture
def evaluated(tmp_path):
    paths = _folder(tmp_path / "data")
    y = np.array([0] * 4 + [1] * 4)
    probs = np.full((8, 2), 0.1)
    probs[np.arange(8), y] = 0.9
    probs[1] = [0.05, 0.95]  # cat_1: the model is sure it is a dog
    result = EvalResult(["cat", "dog"], paths, y, probs)
    write_evaluation(result, tmp_path / "eval")
    return tmp_path, tmp_path / "eval" / "label_issues.csv"


def test_evaluate_writes_the_candidates_ready_to_edit(evaluated):
    _, csv = evaluated
    table = pd.read_csv(csv, keep_default_na=False)
    assert list(table.columns) == COLUMNS and len(table) == 8
    first = table.iloc[0]
    assert first.path.endswith("cat_1.png") and first.given == "cat" and first.suggested == "dog"
    assert (table.new_label == "").all()


def test_nothing_moves_without_apply_then_apply_moves_and_logs(evaluated, capsys):
    root, csv = evaluated
    table = pd.read_csv(csv, keep_default_na=False)
    table.loc[0, "new_label"] = "dog"
    table.to_csv(csv, index=False)
    assert main(["relabel", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "cat_1.png -> dog/" in out and "nothing moved: add --apply" in out
    assert (root / "data/test/cat/cat_1.png").is_file()
    assert main(["relabel", str(csv), "--apply"]) == 0
    assert not (root / "data/test/cat/cat_1.png").exists() and (root / "data/test/dog/cat_1.png").is_file()
    log = pd.read_csv(f"{csv}.applied.csv")
    assert log.status.tolist() == ["moved"] and log["to"].iloc[0].endswith("test/dog/cat_1.png")
    assert sorted(p.name for p in (root / "data/train/cat").iterdir()) == [f"cat_{i}.png" for i in range(4)]
    assert main(["relabel", str(csv), "--apply"]) == 2  # applied twice: the file is no longer there
    assert "is not there" in capsys.readouterr().err


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.assign(new_label=["dgo"] + [""] * 7), "no class 'dgo'"),
        (lambda t: t.assign(given=["dog"] + list(t.given[1:]), new_label=["cat"] + [""] * 7), "lies in folder 'cat'"),
        (lambda t: t.drop(columns="new_label"), "no column new_label"),
    ],
)
def test_a_bad_row_stops_the_whole_file_before_anything_moves(evaluated, capsys, edit, message):
    root, csv = evaluated
    table = pd.read_csv(csv, keep_default_na=False)
    good = table.index[table.path.str.endswith("dog_2.png")][0]
    table.loc[good, "new_label"] = "cat"  # a correct row that must not move either
    edit(table).to_csv(csv, index=False)
    before = sorted(p.relative_to(root) for p in (root / "data").rglob("*.png"))
    assert main(["relabel", str(csv), "--apply"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(csv) in err
    assert sorted(p.relative_to(root) for p in (root / "data").rglob("*.png")) == before


def test_a_name_taken_in_the_new_class_is_refused(evaluated, capsys):
    root, csv = evaluated
    Image.new("RGB", (8, 8)).save(root / "data/test/dog/cat_1.png")
    table = pd.read_csv(csv, keep_default_na=False)
    table.loc[0, "new_label"] = "dog"
    table.to_csv(csv, index=False)
    assert main(["relabel", str(csv), "--apply"]) == 2
    assert "exists already" in capsys.readouterr().err and (root / "data/test/cat/cat_1.png").is_file()
