"""The built-in texture dataset, checked on real files written to a tmp folder.

One default build is shared by the whole module (it takes a few seconds);
tests that need other parameters build small sets of their own.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from effnet_lib.data.builtin import CLASSES, SOURCES, build, default_root, ensure

SPLITS = ("train", "val", "test")
PATCH = 96
COUNTS = dict(zip(SPLITS, (160, 40, 40)))  # the documented defaults


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("builtin") / "builtin")


@pytest.fixture(scope="module")
def manifest(root) -> dict:
    return json.loads((root / "builtin.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def arrays(root) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (patches as float (N, H, W), class index per patch)."""
    out = {}
    for split in ("train", "test"):
        xs, ys = [], []
        for i, cls in enumerate(CLASSES):
            for f in sorted((root / split / cls).glob("*.png")):
                xs.append(np.asarray(Image.open(f), dtype=np.float64))
                ys.append(i)
        out[split] = (np.stack(xs), np.array(ys))
    return out


def _png_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.png"))}


def test_public_api():
    assert len(CLASSES) == 12 and set(SOURCES) == set(CLASSES)
    for cls, src in SOURCES.items():
        assert src["function"] == f"skimage.data.{cls}"
        assert src["description"] and src["licence"]


def test_default_root_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("EFFNET_BUILTIN_DIR", str(tmp_path / "x"))
    assert default_root() == tmp_path / "x"
    monkeypatch.delenv("EFFNET_BUILTIN_DIR")
    repo = Path(__file__).resolve().parents[1]
    assert default_root() == repo / "data" / "builtin"


def test_layout_and_counts(root, manifest):
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(SPLITS)
    for split in SPLITS:
        assert sorted(p.name for p in (root / split).iterdir()) == sorted(CLASSES)
        for cls in CLASSES:
            names = sorted(p.name for p in (root / split / cls).iterdir())
            assert names == [f"{cls}_{i:05d}.png" for i in range(COUNTS[split])]
            assert manifest["counts"][split][cls] == COUNTS[split]
    assert manifest["recipe"]["patch_size"] == PATCH
    assert set(manifest["source_shapes"]) == set(CLASSES)
    assert manifest["build_seconds"] > 0


def test_every_file_is_a_grey_png_of_patch_size(root):
    files = sorted(root.rglob("*.png"))
    assert len(files) == 12 * sum(COUNTS.values())
    for f in files:
        with Image.open(f) as im:
            assert im.format == "PNG" and im.mode == "L" and im.size == (PATCH, PATCH)


def test_regions_disjoint_and_boxes_inside(manifest):
    for cls in CLASSES:
        h, w = manifest["source_shapes"][cls][:2]
        reg = manifest["regions"][cls]
        bands = sorted((reg[s][0], reg[s][2]) for s in SPLITS)
        assert bands[0][0] == 0 and bands[-1][1] == h
        for (_, a1), (b0, _) in zip(bands, bands[1:]):
            assert a1 <= b0, f"{cls}: bands overlap"
        for split in SPLITS:
            r0, c0, r1, c1 = reg[split]
            assert r1 - r0 >= PATCH and c0 == 0 and c1 == w
            boxes = manifest["boxes"][split][cls]
            assert len(boxes) == COUNTS[split]
            for top, left, bottom, right in boxes:
                assert bottom - top == PATCH and right - left == PATCH
                assert r0 <= top and bottom <= r1 and c0 <= left and right <= c1


def test_size_on_disk_under_20_mb(root):
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total <= 20_000_000, total


def test_build_again_is_a_no_op(root):
    files = sorted(root.rglob("*"))
    before = {p: p.stat().st_mtime_ns for p in files}
    assert build(root) == root
    assert ensure(root) == root
    assert {p: p.stat().st_mtime_ns for p in sorted(root.rglob("*"))} == before


def test_force_rebuild_is_byte_identical(root):
    before = _png_hashes(root)
    build(root, force=True)
    assert _png_hashes(root) == before
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")], "temp folders left behind"


def test_seed_and_recipe_change_files(tmp_path):
    small = dict(counts=(3, 2, 2))
    a = _png_hashes(build(tmp_path / "a", seed=0, **small))
    b = _png_hashes(build(tmp_path / "b", seed=1, **small))
    assert a.keys() == b.keys() and all(a[k] != b[k] for k in a)
    # A different recipe replaces the old build in place.
    build(tmp_path / "a", seed=1, **small)
    assert _png_hashes(tmp_path / "a") == b


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        build(tmp_path / "mine", counts=(1, 1, 1))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _brightness_features(x: np.ndarray) -> np.ndarray:
    return np.column_stack([x.mean(axis=(1, 2)), x.std(axis=(1, 2))])


def _texture_features(x: np.ndarray) -> np.ndarray:
    """Rotation-invariant local-difference statistics at a few scales."""
    feats = []
    for lag in (1, 2, 4, 8, 16):
        dh = np.abs(x[:, :, lag:] - x[:, :, :-lag]).reshape(len(x), -1)
        dv = np.abs(x[:, lag:, :] - x[:, :-lag, :]).reshape(len(x), -1)
        d = np.concatenate([dh, dv], axis=1)
        feats += [d.mean(axis=1), d.std(axis=1)]
    grad = (np.abs(np.diff(x, axis=1))[:, :, :-1] + np.abs(np.diff(x, axis=2))[:, :-1, :]).reshape(len(x), -1)
    for edge in (2, 4, 8, 16, 32, 64):  # histogram of gradient magnitudes
        feats.append((grad < edge).mean(axis=1))
    return np.column_stack(feats)


def _test_accuracy(arrays, featurise) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (xtr, ytr), (xte, yte) = arrays["train"], arrays["test"]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(featurise(xtr), ytr)
    return clf.score(featurise(xte), yte)


def test_brightness_cue_is_gone(arrays):
    xtr = arrays["train"][0]
    # Every patch is given the same grey histogram, so mean/std are constant.
    assert np.allclose(xtr.mean(axis=(1, 2)), 128, atol=0.5)
    assert np.allclose(xtr.std(axis=(1, 2)), 48, atol=1.0)
    acc = _test_accuracy(arrays, _brightness_features)
    print(f"brightness-only (mean, std) logistic regression: test accuracy {acc:.3f}")
    assert acc < 0.15  # chance is 1/12 = 0.083


def test_texture_is_learnable(arrays):
    acc = _test_accuracy(arrays, _texture_features)
    print(f"texture-feature logistic regression: test accuracy {acc:.3f}")
    assert acc > 0.5  # measured ~0.7 at the defaults; chance is 0.083
