"""Messy real files, unsafe checkpoints and wrong inputs: clear errors, nothing lost, no crash."""

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, run_cli, write_class_images
from PIL import Image

from effnet_lib import build_model, load_pretrained
from effnet_lib.data.images import load_image
from effnet_lib.data.transforms import Transforms
from effnet_lib.evaluation.predict import Predictor
from effnet_lib.training.checkpoint import CheckpointError, load_checkpoint
from effnet_lib.training.config import TrainConfig
from effnet_lib.training.loop import fit


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height but holds almost no data."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    )


def make_messy(folder: Path) -> dict[str, str]:
    """Every kind of file a scraped folder holds; returns name -> expected outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    rgb.save(folder / "good.jpg")
    (folder / "truncated.jpg").write_bytes((folder / "good.jpg").read_bytes()[:300])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("this is not an image")
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray((rng.integers(0, 65535, (30, 30))).astype(np.uint16)).save(folder / "sixteen.png")
    rgb.convert("L").save(folder / "grey.png")
    rgb.convert("RGBA").save(folder / "rgba.png")
    rgb.convert("P").save(folder / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    rgb.save(folder / "exif_rotated.jpg", exif=exif)
    Image.new("RGB", (1, 1), (9, 9, 9)).save(folder / "tiny.png")
    _png_header_only(folder / "bomb.png", 100_000, 100_000)
    return {
        "good.jpg": "ok",
        "truncated.jpg": "bad",
        "empty.jpg": "bad",
        "text.jpg": "bad",
        "cmyk.jpg": "ok",
        "sixteen.png": "ok",
        "grey.png": "ok",
        "rgba.png": "ok",
        "palette.png": "ok",
        "exif_rotated.jpg": "ok",
        "tiny.png": "ok",
        "bomb.png": "bad",
    }


def test_each_messy_file_is_converted_or_skipped(tmp_path):
    expected = make_messy(tmp_path)
    for name, outcome in expected.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = load_image(tmp_path / name)
        if outcome == "bad":
            assert img is None, name
        else:
            assert img is not None and img.dtype == torch.uint8 and img.shape[0] == 3, name
    assert load_image(tmp_path / "exif_rotated.jpg").shape[1:] == (60, 40)  # orientation applied
    sixteen = load_image(tmp_path / "sixteen.png")
    assert 100 < sixteen.float().mean() < 155  # scaled from 16 bits, not clipped to white


@pytest.fixture
def messy_dataset(tmp_path):
    root = tmp_path / "messy"
    write_class_images(root / "Große Möwe", per_class=12)  # spaces and non-ASCII in class names
    write_class_images(root / "plain", classes=("a",), per_class=12, seed=1)
    for sub in (root / "plain" / "a").iterdir():
        sub.rename(root / "plain" / sub.name)
    (root / "plain" / "a").rmdir()
    make_messy(root / "Große Möwe" / "circles" / "nested")
    (root / "single").mkdir()
    Image.new("RGB", (20, 20)).save(root / "single" / "only.png")
    (root / "empty").mkdir()
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".DS_Store").write_bytes(b"\0\0")
    return root


def test_messy_folder_trains_without_crashing_and_counts_skips(messy_dataset, tmp_path, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = fit(TrainConfig(data=str(messy_dataset), out=str(tmp_path / "run"), epochs=2, **TINY), progress=False)
    assert run.classes == ["Große Möwe", "plain", "single"]
    messages = [str(w.message) for w in caught]
    assert any("empty: class folder holds no images" in m for m in messages)
    bad_in_train = {Path(p).name for p, _ in run.folder.train} & {"truncated.jpg", "empty.jpg", "text.jpg", "bomb.png"}
    assert len(bad_in_train) >= 2  # the seeded split puts unreadable files in training: the checks below check
    for name in bad_in_train:  # one warning per unreadable file, naming it
        assert (
            sum(
                name in m and ("not a readable image" in m or "decompression-bomb" in m) and "skipped" in m
                for m in messages
            )
            == 1
        ), name
    assert run.history[-1]["skipped_files"] == len(bad_in_train)
    assert f"skipped {len(bad_in_train)} unreadable file(s)" in capsys.readouterr().out
    # the single image of its class stays in training (int(0.2 * 1) = 0)
    assert [p for p, y in run.folder.train if y == 2] and not [p for p, y in run.folder.val if y == 2]


def test_prediction_run_reports_unreadable_files(messy_dataset, tmp_path):
    run_dir = tmp_path / "run"
    fit(TrainConfig(data=str(messy_dataset), out=str(run_dir), epochs=1, **TINY), progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table, bad = Predictor.from_checkpoint(run_dir / "last.pt").predict(
            [messy_dataset / "Große Möwe" / "circles" / "nested"], batch_size=4
        )
    assert sorted(Path(b).name for b in bad) == ["bomb.png", "empty.jpg", "text.jpg", "truncated.jpg"]
    assert len(table) == 8
    assert (
        sum(
            ("not a readable image" in str(w.message) or "decompression-bomb" in str(w.message))
            and "skipped" in str(w.message)
            for w in caught
        )
        == 4
    )


def test_empty_split_stops_before_training(tmp_path):
    root = tmp_path / "d"
    write_class_images(root / "train", per_class=3)
    for c in ("circles", "noise", "stripes"):
        (root / "val" / c).mkdir(parents=True)
    with pytest.raises(ValueError, match="validation split is empty"):
        fit(TrainConfig(data=str(root), out=str(tmp_path / "run"), epochs=1, **TINY), progress=False)
    assert not (tmp_path / "run" / "last.pt").exists()


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "config": _Exploit(target)}, path)
    with pytest.raises(CheckpointError, match="evil.pt: refused: not a plain weights file"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="evil.pt"):
        load_pretrained(build_model("b0"), path)
    proc = run_cli("predict", "--checkpoint", path, "--out", tmp_path / "p.csv", tmp_path)
    assert proc.returncode == 2 and "refused" in proc.stderr
    assert not target.exists()


def test_checkpoint_of_another_class_count_or_architecture(split_folder, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(split_folder, data)
    run = fit(TrainConfig(data=str(data), out=str(tmp_path / "run"), epochs=1, **TINY), progress=False)
    for split in ("train", "valid"):  # the folder gains a class after the run started
        write_class_images(data / split, classes=("zebra",), per_class=4)
    with pytest.raises(CheckpointError, match="resume on the same data"):
        fit(TrainConfig(data=str(data), out=str(run.out), epochs=2, **TINY), resume=True, progress=False)
    other = tmp_path / "other"
    write_class_images(other, classes=("x", "y"), per_class=10)
    state = load_checkpoint(run.out / "last.pt")["model"]
    weights = tmp_path / "w.pth"
    torch.save(state, weights)
    with pytest.raises(ValueError, match=r"w\.pth: weights do not fit this model .*missing"):
        load_pretrained(build_model("b0"), weights)
    proc = run_cli(
        "evaluate", "--checkpoint", run.out / "last.pt", "--data", other, "--split", "train", "--out", tmp_path / "ev"
    )
    assert proc.returncode == 2 and "not among the 3 classes" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_damaged_checkpoint(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match="bad.pt: unreadable checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")


def test_one_by_one_image_goes_through_train_and_eval_transforms():
    img = torch.full((3, 1, 1), 7, dtype=torch.uint8)
    t = Transforms(32)
    assert t.train()(img).shape == (3, 32, 32) and t.eval()(img).shape == (3, 32, 32)


def test_atomic_writes_leave_the_old_file_or_the_new_one(tmp_path):
    from effnet_lib.files import _atomic_write, atomic_save

    path = tmp_path / "last.pt"
    atomic_save({"model": {"w": torch.ones(2)}, "config": {}}, path)
    before = path.read_bytes()

    def crash(f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # interrupted mid-write

    with pytest.raises(KeyboardInterrupt):
        _atomic_write(path, crash)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    assert load_checkpoint(path)["model"]["w"].tolist() == [1.0, 1.0]
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # the usual permissions, not mkstemp's 0600
