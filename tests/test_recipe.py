"""The paper recipe as the official code ran it: each value checked, the optimizer checked update
for update against timm's port of TensorFlow's RMSProp."""

import math

import pytest
import timm.optim as timm_optim  # a dev dependency: the outside oracle of RMSpropTF
import torch
from conftest import TINY
from torch import nn

from effnet_lib.data.transforms import Transforms
from effnet_lib.model.variants import efficientnet
from effnet_lib.training.assemble import dataset_for, make_model
from effnet_lib.training.checkpoint import load_checkpoint
from effnet_lib.training.config import TrainConfig
from effnet_lib.training.loop import fit
from effnet_lib.training.optim import RMSpropTF
from effnet_lib.training.recipes import PAPER_SOURCES, RECIPES, Schedule, make_optimizer


def _pair(seed=0):
    """Two copies of a small network with the parameter kinds of EfficientNet (convolution,
    depthwise convolution, BatchNorm, linear with bias): 50 steps take a second."""
    torch.manual_seed(seed)

    def make():
        return nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.SiLU(),
            nn.Conv2d(16, 16, 3, padding=1, groups=16),
            nn.BatchNorm2d(16),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(16, 5),
        )

    a, b = make(), make()
    b.load_state_dict(a.state_dict())
    return a.train(), b.train()


@pytest.mark.parametrize("foreach", [False, None], ids=["timm single-tensor", "timm default"])
def test_rmsprop_tf_equals_timm_bit_for_bit_over_50_steps_with_a_changing_rate(foreach):
    ours_model, timm_model = _pair()
    ours = RMSpropTF(ours_model.parameters(), lr=0.1, decay=0.9, momentum=0.9, eps=1e-3, weight_decay=1e-5)
    ref = timm_optim.RMSpropTF(
        timm_model.parameters(),
        lr=0.1,
        alpha=0.9,
        momentum=0.9,
        eps=1e-3,
        weight_decay=1e-5,
        lr_in_momentum=True,
        foreach=foreach,
    )
    g = torch.Generator().manual_seed(1)
    for step in range(50):
        x, y = torch.randn(8, 3, 16, 16, generator=g), torch.randint(0, 5, (8,), generator=g)
        for model, opt in ((ours_model, ours), (timm_model, ref)):
            for group in opt.param_groups:
                group["lr"] = 0.1 * 0.9**step  # the rate changes every step: it must act on new gradients only
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for (name, p), q in zip(ours_model.named_parameters(), timm_model.parameters()):
            assert torch.equal(p, q), (step, name)


def test_pytorch_rmsprop_is_another_optimizer():
    """The same hyper-parameters in torch.optim.RMSprop take a far larger first step."""
    p_tf, p_pt = (torch.zeros(1000, requires_grad=True) for _ in range(2))
    grad = torch.full((1000,), 1e-3)
    tf = RMSpropTF([p_tf], lr=0.016, decay=0.9, momentum=0.9, eps=1e-3)
    pt = torch.optim.RMSprop([p_pt], lr=0.016, alpha=0.9, eps=1e-3, momentum=0.9)
    for p, opt in ((p_tf, tf), (p_pt, pt)):
        p.grad = grad.clone()
        opt.step()
    assert p_pt.abs().max() > 100 * p_tf.abs().max()


def test_paper_recipe_values_and_their_sources(split_folder, tmp_path):
    r = RECIPES["paper"]
    checks = {
        "optimizer": r.optimizer == "rmsprop_tf" and r.momentum == 0.9,
        "learning rate": r.lr == 0.256 and r.lr_batch == 4096 and math.isclose(0.016 / 256, r.lr / r.lr_batch),
        "warm-up": r.warmup_epochs == 5,
        "decay": (r.schedule, r.decay, r.decay_epochs) == ("step", 0.97, 2.4),
        "weight decay": r.weight_decay == 1e-5 and not r.decay_batchnorm,
        "label smoothing": r.label_smoothing == 0.1,
        "BatchNorm": r.bn == "tf",
        "dropout": r.dropout is None,  # the variant's own: 0.2 (B0) .. 0.5 (B7)
        "stochastic depth": r.stochastic_depth == 0.2,
        "AutoAugment": r.autoaugment,
        "weight EMA": r.ema == 0.9999,
        "evaluation crop": r.eval_crop == 0.875,
    }
    assert set(checks) == set(PAPER_SOURCES)
    assert all(checks.values()), [k for k, ok in checks.items() if not ok]
    for value, source in PAPER_SOURCES.values():
        assert value and source

    # What the recipe builds: BatchNorm without decay, TF's optimizer, the right rate per batch.
    cfg = TrainConfig(
        data=str(split_folder), out=str(tmp_path / "run"), epochs=1, recipe="paper", warmup_epochs=0, **TINY
    )
    model = efficientnet(0.25, 0.25, num_classes=3)
    opt, sched = make_optimizer(cfg, model, steps_per_epoch=10)
    assert isinstance(opt, RMSpropTF)
    decayed, plain = opt.param_groups
    bn = {id(p) for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()}
    assert decayed["weight_decay"] == 1e-5 and plain["weight_decay"] == 0
    assert {id(p) for p in plain["params"]} == bn and not bn & {id(p) for p in decayed["params"]}
    assert any(p.ndim == 1 for p in decayed["params"])  # biases (SE, classifier) keep their decay
    assert decayed["lr"] == pytest.approx(0.256 * 8 / 4096)
    step = Schedule("step", 10, 10, warmup_epochs=5, decay=0.97, decay_epochs=2.4)
    assert step(4) == pytest.approx(0.1) and step(49) == 1.0 and step(72) == pytest.approx(0.97**3)
    run = fit(cfg, progress=False)
    ckpt = load_checkpoint(run.out / "last.pt")
    assert ckpt["arch"]["bn"] == [1e-3, 0.01] and ckpt["arch"]["stochastic_depth_prob"] == 0.2
    assert ckpt["transforms"]["autoaugment"]
    # A named variant evaluates on the official 87.5% centre crop: 224 px from a 256 px resize.
    _, tf = dataset_for(TrainConfig(data=str(split_folder), model="b0", recipe="paper"))
    assert tf.resize_size == 256 and tf.image_size == 224
    assert Transforms(224, resize_ratio=tf.resize_ratio).resize_size == 256
    _, tf = dataset_for(TrainConfig(data=str(split_folder), model="b3", recipe="paper"))
    assert (tf.image_size, tf.resize_size) == (300, 343)  # 300 + round(300 * (1 / 0.875 - 1))
    for variant, dropout in (("b0", 0.2), ("b4", 0.4), ("b7", 0.5)):  # the variant's own dropout
        assert make_model(TrainConfig(model=variant, recipe="paper"), 10).classifier[0].p == dropout
