"""Training recipes: the optimizer, its learning-rate schedule and the regularisation, by name.

- ``seed``: the practitioner's experiment this workbook reproduces. SGD lr 0.01, momentum 0.9,
  weight decay 1e-4, cosine annealing over the epochs (stepped once per epoch, as
  ``CosineAnnealingLR``), cross-entropy, dropout 0.2, BatchNorm eps 1e-3 momentum 0.1.
- ``paper``: the EfficientNet paper on ImageNet, as its official TensorFlow code runs it
  (tensorflow/tpu, models/official/efficientnet; `PAPER_SOURCES` names the source of each value).
  TensorFlow's RMSProp (decay 0.9, momentum 0.9, eps 1e-3 inside the square root; `optim.RMSpropTF`,
  which says why PyTorch's RMSprop is another optimizer), lr 0.016 per 256 images (0.256 per 4096)
  scaled linearly to the batch used, 5 warm-up epochs, x0.97 every 2.4 epochs, L2 weight decay
  1e-5 on every weight but BatchNorm's, label smoothing 0.1, BatchNorm momentum 0.01 (TF's 0.99)
  and eps 1e-3, stochastic depth 0.2 rising linearly by block (survival 0.8 at the last), the
  variant's dropout (0.2 for B0 to 0.5 for B7), AutoAugment (ImageNet policy), a weight EMA of
  0.9999 with the official ramp min(0.9999, (1 + n) / (10 + n)) at update n, and evaluation on a
  centre crop of 87.5% (bicubic).
- ``short``: short CPU budgets, the scaling study's recipe (see `RECIPES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ParameterError
from .optim import RMSpropTF

__all__ = ["Recipe", "RECIPES", "PAPER_SOURCES", "Schedule", "make_optimizer", "EmaRamp"]


@dataclass(frozen=True)
class Recipe:
    optimizer: str  # "sgd" | "rmsprop_tf"
    lr: float
    weight_decay: float
    schedule: str  # "cosine" (per epoch) | "step" (x decay every decay_epochs)
    bn: str
    momentum: float = 0.9
    lr_batch: int | None = None  # lr is given for this batch size and scaled linearly
    decay: float = 0.97
    decay_epochs: float = 2.4
    dropout: float | None = 0.2  # None: the variant's own
    stochastic_depth: float = 0.2
    autoaugment: bool = False
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    ema: float = 0.0
    zero_init_residual: bool = False  # residual blocks start as the identity (see model.EfficientNet)
    init: str = "torchvision"  # or "official": depthwise fan-out per group, as the TF code
    decay_batchnorm: bool = True  # False: no weight decay on BatchNorm's weights and biases
    eval_crop: float | None = None  # centre-crop fraction at evaluation; None: torchvision's per variant


RECIPES = {
    "seed": Recipe("sgd", 0.01, 1e-4, "cosine", "seed"),
    # Short CPU budgets (the scaling study): a higher rate after a one-epoch warm-up, no dropout or
    # stochastic depth (tiny networks underfit in a few epochs), residual blocks that start as the
    # identity so that extra depth does not start behind, and the official code's depthwise
    # initialisation so that one learning rate suits every width (data/results/REGIME.md).
    "short": Recipe(
        "sgd",
        0.05,
        1e-4,
        "cosine",
        "seed",
        warmup_epochs=1,
        dropout=0.0,
        stochastic_depth=0.0,
        zero_init_residual=True,
        init="official",
    ),
    "paper": Recipe(
        "rmsprop_tf",
        0.256,
        1e-5,
        "step",
        "tf",
        lr_batch=4096,
        dropout=None,
        autoaugment=True,
        warmup_epochs=5,
        ema=0.9999,
        label_smoothing=0.1,
        decay_batchnorm=False,
        eval_crop=0.875,
    ),
}


# Where each value of the paper recipe comes from. "main.py" and "utils.py" are the official code's
# files (tensorflow/tpu, models/official/efficientnet/), "builder" its efficientnet_builder.py.
PAPER_SOURCES = {
    "optimizer": ("TF RMSProp, decay 0.9, momentum 0.9, eps 1e-3", "paper sec. 5.2; utils.py build_optimizer"),
    "learning rate": ("0.016 per 256 images = 0.256 per 4096", "main.py --base_learning_rate, scaled by batch / 256"),
    "warm-up": ("5 epochs, linear", "main.py --lr_warmup_epochs; utils.py build_learning_rate"),
    "decay": ("x0.97 every 2.4 epochs (staircase)", "paper sec. 5.2; main.py --lr_decay_factor, --lr_decay_epoch"),
    "weight decay": (
        "1e-5 L2, all weights but BatchNorm's",
        "paper sec. 5.2; main.py --weight_decay and the 'batch_normalization' filter of the loss",
    ),
    "label smoothing": ("0.1", "main.py --label_smoothing"),
    "BatchNorm": ("momentum 0.99 (PyTorch 0.01), eps 1e-3", "paper sec. 5.2; builder efficientnet()"),
    "dropout": ("0.2 (B0) rising to 0.5 (B7)", "paper sec. 5.2; builder efficientnet_params"),
    "stochastic depth": (
        "survival 0.8 at the last block, linear in the block index",
        "paper sec. 5.2; builder survival_prob=0.8; efficientnet_model.py",
    ),
    "AutoAugment": ("ImageNet policy", "paper sec. 5.2; main.py --augment_name=autoaugment"),
    "weight EMA": (
        "0.9999, decay min(0.9999, (1 + n) / (10 + n))",
        "main.py --moving_average_decay, tf.train.ExponentialMovingAverage(num_updates=global_step)",
    ),
    "evaluation crop": ("centre 87.5%, bicubic", "preprocessing.py CROP_FRACTION = 0.875, resize_bicubic"),
}


class Schedule:
    """lr factor per optimizer step: linear warm-up, then cosine per epoch or step decay."""

    def __init__(self, kind, steps_per_epoch, epochs, warmup_epochs=0.0, decay=0.97, decay_epochs=2.4):
        self.kind, self.spe, self.epochs = kind, steps_per_epoch, epochs
        self.warmup = warmup_epochs * steps_per_epoch
        self.decay, self.decay_epochs = decay, decay_epochs

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        epoch = step // self.spe
        if self.kind == "cosine":
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))
        return self.decay ** math.floor(step / (self.decay_epochs * self.spe))


def make_optimizer(cfg, model: nn.Module, steps_per_epoch: int):
    """The recipe's optimizer (with `cfg`'s overrides) and its per-step schedule."""
    r = cfg.recipe_()
    # The recipe's lr is given for lr_batch images and scaled linearly; an explicit --lr is used as is.
    lr = r.lr * (cfg.batch_size / r.lr_batch if r.lr_batch and cfg.lr is None else 1.0)
    params = _decay_groups(model, r.weight_decay, r.decay_batchnorm)
    if r.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=r.momentum, foreach=True)  # one kernel per op (CPU too)
    elif r.optimizer == "rmsprop_tf":
        opt = RMSpropTF(params, lr=lr, decay=0.9, momentum=r.momentum, eps=1e-3)
    else:
        raise ParameterError(f"recipe optimizer {r.optimizer!r}: choose sgd or rmsprop_tf")
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, Schedule(r.schedule, steps_per_epoch, cfg.epochs, r.warmup_epochs, r.decay, r.decay_epochs)
    )
    return opt, sched


def _decay_groups(model: nn.Module, weight_decay: float, decay_batchnorm: bool) -> list[dict]:
    """Parameter groups with and without weight decay; BatchNorm's own parameters go without it
    when `decay_batchnorm` is False (the official code leaves out every 'batch_normalization'
    variable and decays all others, biases included)."""
    bn = {
        id(p)
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        for p in m.parameters(recurse=False)
    }
    trainable = [p for p in model.parameters() if p.requires_grad]
    if decay_batchnorm:
        return [{"params": trainable, "weight_decay": weight_decay}]
    return [
        {"params": [p for p in trainable if id(p) not in bn], "weight_decay": weight_decay},
        {"params": [p for p in trainable if id(p) in bn], "weight_decay": 0.0},
    ]


class EmaRamp:
    """EMA with the official code's warm-up: decay min(decay, (1 + n) / (10 + n))."""

    def __init__(self, decay: float):
        self.decay = decay

    def __call__(self, averaged, current, num_averaged):
        # num_averaged lives on the device: keep d a tensor, no host synchronisation per step.
        d = torch.clamp((1 + num_averaged) / (10 + num_averaged), max=self.decay).to(averaged.dtype)
        return averaged * d + current * (1 - d)
