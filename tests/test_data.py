"""Image folders, the reproducible 80/20 split and its manifest, decoding and transforms."""

import csv
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from effnet_lib.data.folders import DataError, list_images, open_image_folder, split_per_class
from effnet_lib.data.images import load_image
from effnet_lib.data.loaders import decode_all, make_loader
from effnet_lib.data.transforms import Transforms

DATA = Path(__file__).resolve().parents[1] / "data"


def test_reference_split_on_the_real_class_sizes_of_birds_400():
    # The real per-class counts of the reference set's train/ folder (data/BIRDS400.md): the rule
    # int(0.2 * n) per class gives 46,853 training and 11,535 validation images.
    rows = list(csv.DictReader(open(DATA / "birds400-counts.csv")))
    counts = [int(r["train"]) for r in rows if int(r["train"])]
    assert len(counts) == 400 and sum(counts) == 58_388
    samples = [(f"c{c}/img{i}", c) for c, n in enumerate(counts) for i in range(n)]
    train, val = split_per_class(samples, 0.2, seed=0)
    assert (len(train), len(val)) == (46_853, 11_535)
    per_class_val = np.bincount([y for _, y in val], minlength=400)
    assert list(per_class_val) == [int(0.2 * n) for n in counts]


def test_split_is_seeded_per_class_and_disjoint():
    samples = [(f"x{c}_{i}", c) for c in range(3) for i in range(10)]
    a = split_per_class(samples, 0.2, seed=0)
    assert a == split_per_class(list(reversed(samples)), 0.2, seed=0)  # order of listing does not matter
    assert a != split_per_class(samples, 0.2, seed=1)
    train, val = a
    assert not set(train) & set(val) and len(val) == 6


def test_single_folder_split_writes_and_reuses_manifest(single_folder, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(single_folder, root)
    folder = open_image_folder(root)
    assert folder.layout == "single" and folder.classes == ["circles", "noise", "stripes"]
    assert (len(folder.train), len(folder.val)) == (36, 9)
    saved = json.loads(folder.manifest.read_text())
    assert saved["seed"] == 0 and len(saved["val"]) == 9
    again = open_image_folder(root)
    assert again.val == folder.val and again.train == folder.train
    # A changed folder must not silently get a different split.
    Image.new("RGB", (8, 8)).save(root / "noise" / "new.png")
    with pytest.raises(DataError, match="manifest does not match"):
        open_image_folder(root)


def test_birds_layout_used_as_is(split_folder):
    folder = open_image_folder(split_folder)
    assert folder.layout == "splits" and folder.manifest is None
    assert (len(folder.train), len(folder.val), len(folder.test)) == (48, 12, 15)
    assert folder.val[0][0].endswith(".jpg")


def test_hidden_files_nested_folders_and_empty_classes(tmp_path):
    root = tmp_path / "d"
    for c in ("a", "b"):
        (root / c / "nested").mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (10, 10), (i * 40, 0, 0)).save(root / c / "nested" / f"{i}.png")
    (root / "a" / ".DS_Store").write_bytes(b"junk")
    (root / ".ipynb_checkpoints").mkdir()
    (root / "empty").mkdir()
    (root / "notes.txt").write_text("not a class")
    with pytest.warns(UserWarning, match="empty: class folder holds no images"):
        folder = open_image_folder(root)
    assert folder.classes == ["a", "b"]
    assert len(list_images(root / "a")) == 5


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: r.mkdir(), "no class folders"),
        (lambda r: (r / "a").mkdir(parents=True), "every class folder is empty"),
    ],
)
def test_structural_problems_give_one_clear_error(tmp_path, make, message):
    root = tmp_path / "bad"
    make(root)
    with pytest.raises(DataError, match=message) as e, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        open_image_folder(root)
    assert str(root) in str(e.value) and "\n" not in str(e.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        open_image_folder(tmp_path / "nope")


def test_load_image_converts_and_reduces(tmp_path):
    Image.new("L", (40, 20), 100).save(tmp_path / "grey.png")
    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(tmp_path / "rgba.png")  # transparent -> white
    img = load_image(tmp_path / "grey.png")
    assert img.shape == (3, 20, 40) and img.dtype == torch.uint8 and int(img[0, 0, 0]) == 100
    assert load_image(tmp_path / "rgba.png")[:, 0, 0].tolist() == [255, 255, 255]
    assert load_image(tmp_path / "grey.png", max_side=10).shape == (3, 10, 20)
    (tmp_path / "text.jpg").write_text("not an image")
    assert load_image(tmp_path / "text.jpg") is None


def test_transforms_shapes_and_normalisation():
    t = Transforms(32)
    img = torch.randint(0, 256, (3, 50, 70), dtype=torch.uint8)
    assert t.train()(img).shape == (3, 32, 32)
    out = t.eval()(img)
    assert out.shape == (3, 32, 32) and out.dtype == torch.float32
    assert t.resize_size == 37 and Transforms(32, resize_ratio=1.0).resize_size == 32
    assert Transforms(224).resize_size == 256  # torchvision's B0 eval: resize 256, crop 224
    from effnet_lib.data.transforms import EVAL_RESIZE_RATIO

    assert Transforms(300, resize_ratio=EVAL_RESIZE_RATIO["b3"]).resize_size == 320
    assert Transforms(600, resize_ratio=EVAL_RESIZE_RATIO["b7"]).resize_size == 600
    assert torch.allclose(t.to_image(t.eval()(torch.full((3, 40, 40), 255, dtype=torch.uint8))), torch.ones(32, 32, 3))


def test_cached_and_uncached_loading_give_identical_batches(single_folder):
    folder = open_image_folder(single_folder, manifest=single_folder.parent / "m.json")
    t = Transforms(32)
    cache = decode_all(folder.train, t.working_size, 2**30)
    batches = []
    for c in (None, cache):
        loader = make_loader(
            folder.train, t.train(), batch_size=8, working_size=t.working_size, shuffle=True, seed=3, cache=c
        )
        torch.manual_seed(0)
        batches.append(next(iter(loader)))
    assert torch.equal(batches[0][0], batches[1][0]) and torch.equal(batches[0][1], batches[1][1])
    assert decode_all(folder.train, t.working_size, max_bytes=10) is None  # over the limit: no cache


def test_unreadable_files_are_reported_not_fatal(tmp_path):
    for i in range(3):
        Image.new("RGB", (16, 16)).save(tmp_path / f"ok{i}.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    samples = [(str(p), 0) for p in sorted(tmp_path.iterdir())]
    loader = make_loader(samples, Transforms(16).eval(), batch_size=4, working_size=20)
    x, y, idx, bad = next(iter(loader))
    assert x.shape[0] == 3 and [samples[i][0] for i in bad] == [str(tmp_path / "broken.png")]


@pytest.mark.parametrize("where", ["loader", "device"])
def test_augmentation_does_not_depend_on_workers(single_folder, where):
    from effnet_lib.data.loaders import seed_epoch, to_device

    folder = open_image_folder(single_folder, manifest=single_folder.parent / "m2.json")
    t = Transforms(32)
    batches = []
    for workers in (0, 2):
        loader = make_loader(
            folder.train,
            t.train() if where == "loader" else t.crop_params(),
            batch_size=8,
            working_size=t.working_size,
            shuffle=True,
            seed=3,
            workers=workers,
        )
        for epoch in (1, 2):  # the same (persistent) workers must see the new epoch
            seed_epoch(loader, 3, epoch=epoch)
            x, y, idx, bad = next(iter(loader))
            batches.append((x if where == "loader" else to_device(x, t, torch.device("cpu")), y, idx))
    assert torch.equal(batches[0][0], batches[2][0]) and torch.equal(batches[0][2], batches[2][2])
    assert torch.equal(batches[1][0], batches[3][0]) and torch.equal(batches[1][2], batches[3][2])
    assert not torch.equal(batches[2][0], batches[3][0])


def test_counts_and_examples(split_folder):
    folder = open_image_folder(split_folder)
    counts = folder.counts()
    assert counts.loc["noise"].tolist() == [16, 4, 5]
    assert [folder.classes[k] for _, k in folder.examples("val")] == folder.classes


def test_batched_crop_on_the_device_cuts_and_flips_exactly():
    from effnet_lib.data.loaders import collate, to_device

    img = torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8)
    small = torch.randint(0, 256, (3, 20, 30), dtype=torch.uint8)
    t = Transforms(16)
    # a 16x16 box at the output size is a pure cut (no resampling), flipped when asked
    x, _, _, _ = collate(
        [
            ((img, torch.tensor([4.0, 6.0, 16.0, 16.0, 0.0])), 0, 0),
            ((small, torch.tensor([2.0, 3.0, 16.0, 16.0, 1.0])), 1, 1),
        ]
    )
    assert x[0].shape == (2, 3, 40, 48)  # padded to the largest image
    out = t.crop_batch(*x)
    assert torch.equal(out[0], img[:, 4:20, 6:22].float())
    assert torch.equal(out[1], small[:, 2:18, 3:19].flip(-1).float())
    # a larger box is averaged down; a constant image stays constant
    flat = torch.full((3, 40, 40), 100, dtype=torch.uint8)
    x, _, _, _ = collate([((flat, torch.tensor([0.0, 0.0, 40.0, 40.0, 0.0])), 0, 0)])
    assert torch.allclose(t.crop_batch(*x), torch.full((1, 3, 16, 16), 100.0))
    normalised = to_device(x, t, torch.device("cpu"), torch.channels_last)
    assert normalised.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(normalised, t.normalise_batch(torch.full((1, 3, 16, 16), 100.0)))


def test_crop_params_follow_random_resized_crop():
    from effnet_lib.data.transforms import CropParams

    torch.manual_seed(0)
    img = torch.zeros(3, 50, 80, dtype=torch.uint8)
    params = torch.stack([CropParams((0.08, 1.0))(img)[1] for _ in range(500)])
    top, left, h, w, flip = params.T
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 50).all() and (left + w <= 80).all()
    area = h * w / (50 * 80)
    assert area.min() >= 0.07 and area.max() <= 1.0 and 0.3 < flip.mean() < 0.7
    big = (h >= 20) & (w >= 20)  # rounding skews the ratio of small boxes, as in torchvision
    assert ((w / h)[big] >= 0.72).all() and ((w / h)[big] <= 1.38).all()
    # nothing fits a 1x100 strip at these ratios: the centred fallback
    _, p = CropParams((0.9, 1.0))(torch.zeros(3, 1, 100, dtype=torch.uint8))
    assert p[2] == 1 and p[3] == 1 and p[1] == 49
