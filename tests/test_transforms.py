"""The torch-only crop, resize and flip give the same pixels as torchvision's v2 transforms with the
same random draws (the library avoids importing torchvision on the training path for start-up)."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from effnet_lib.data.transforms import Transforms


def _images():
    g = torch.Generator().manual_seed(0)
    return [
        torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)
        for h, w in ((80, 80), (80, 120), (150, 90), (70, 300), (64, 64))
    ]


@pytest.mark.parametrize("scale", [(0.08, 1.0), (0.5, 1.0), (1.0, 1.0)])
def test_train_crop_and_flip_equal_torchvision(scale):
    ours = Transforms(image_size=64, crop_scale=scale).train(normalise=False)
    theirs = v2.Compose([v2.RandomResizedCrop(64, scale=scale, antialias=True), v2.RandomHorizontalFlip()])
    for seed, img in enumerate(_images() * 4):
        torch.manual_seed(seed)
        a = ours(img)
        torch.manual_seed(seed)
        b = theirs(img)
        assert a.dtype == torch.uint8 and torch.equal(a, b), (seed, img.shape)


def test_eval_resize_and_centre_crop_equal_torchvision():
    tf = Transforms(image_size=64, resize_ratio=256 / 224)
    theirs = v2.Compose(
        [
            v2.Resize(tf.resize_size, interpolation=v2.InterpolationMode.BICUBIC, antialias=True),
            v2.CenterCrop(64),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(tf.mean, tf.std),
        ]
    )
    for img in _images():
        assert torch.allclose(tf.eval()(img), theirs(img), atol=1e-6), img.shape
        assert tf.eval(normalise=False)(img).shape == (3, 64, 64)


def test_training_path_does_not_import_torchvision():
    import subprocess
    import sys

    code = (
        "import sys, effnet_lib.training.loop, effnet_lib.evaluation.predict, effnet_lib.display.outputs, "
        "effnet_lib.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('torchvision')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
