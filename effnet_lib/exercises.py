"""Exercises for the notebooks, with answers computed by the library (never typed in).

``check("00.1", answer)`` compares a student's answer with the library's and says whether it is
right; ``question("00.1")`` prints the question. Answers are functions, so they stay correct when
the library's tables change.
"""

from __future__ import annotations

import math

from . import model as M
from . import scaling as S


def _blocks(variant: str) -> int:
    return sum(len(stage) for stage in M.build_model(variant).features[1:8])


def _expanded_first_block(variant: str, stage: int) -> int:
    width, depth, _, _ = M.VARIANTS[variant]
    s = M.scaled_stages(width, depth)[stage - 2]
    return M.round_filters(s.in_channels, s.expand_ratio)


def _val_images(n: int) -> int:
    from .data import split_per_class
    return len(split_per_class([(f"img{i}", 0) for i in range(n)])[1])


def _seed_lr(epoch: int, epochs: int) -> float:
    from .train import RECIPES, Schedule
    return round(RECIPES["seed"].lr * Schedule("cosine", 1, epochs)(epoch), 4)


def _class_metric(name: str) -> float:
    """Class 0 of 12 (50 images each): 40 of its 50 found, 10 images of class 1 taken for it."""
    import numpy as np

    from .metrics import per_class_table
    y_true = np.repeat(np.arange(12), 50)
    y_pred = y_true.copy()
    y_pred[40:50] = 1  # 10 of class 0 missed
    y_pred[50:60] = 0  # 10 of class 1 taken for class 0
    return round(float(per_class_table(y_true, y_pred, list(range(12))).loc[0, name]), 3)


def _study_macs_ratio(**changes) -> float:
    """Measured MACs of the scaling study's base with `changes`, as a multiple of the base's."""
    from .scaling_study import BASE
    base = dict(width=BASE.width, depth=BASE.depth, resolution=BASE.resolution)
    new = base | changes
    macs = [S.measure(M.efficientnet(c["width"], c["depth"], num_classes=12), c["resolution"]).macs for c in (base, new)]
    return round(macs[1] / macs[0], 2)


def _study_blocks(depth: float) -> int:
    return sum(s.layers for s in M.scaled_stages(0.25, depth))


def _final_map(resolution: int) -> int:
    import torch
    model = M.efficientnet(0.25, 0.34, num_classes=12)
    return M.trace_shapes(model, torch.zeros(1, 3, resolution, resolution))[-3][1][-1]


def _grid_size() -> int:
    from .scaling_study import FULL, grid_triples
    return len(grid_triples(FULL))


def _phi_resolution(phi: int) -> int:
    from .scaling_study import PAPER_TRIPLE, QUICK, compound
    return compound(QUICK, *PAPER_TRIPLE, phi=phi).resolution


def _phi_macs_ratio(phi: int) -> float:
    from .scaling_study import PAPER_TRIPLE, QUICK, compound
    c = compound(QUICK, *PAPER_TRIPLE, phi=phi)
    return _study_macs_ratio(width=c.width, depth=c.depth, resolution=c.resolution)


SMALL_CM = [[8, 1, 1], [2, 5, 3], [0, 0, 10]]  # rows: true class a, b, c; columns: predicted


def _small_cm():
    import numpy as np
    cm = np.array(SMALL_CM)
    y_true = np.repeat(np.repeat(np.arange(3), 3), cm.flatten())
    y_pred = np.repeat(np.tile(np.arange(3), 3), cm.flatten())
    return cm, y_true, y_pred


def _worst_pair() -> str:
    from .metrics import top_confusions
    row = top_confusions(_small_cm()[0], ["a", "b", "c"], 1).iloc[0]
    return f"{row['true']}->{row['predicted']}"


def _small_cm_metric(cls: str, name: str) -> float:
    from .metrics import per_class_table
    _, y_true, y_pred = _small_cm()
    return round(float(per_class_table(y_true, y_pred, ["a", "b", "c"]).loc[cls, name]), 3)


EXERCISES: dict[str, tuple[str, object, float]] = {
    # key: (question, answer function, relative tolerance)
    "00.1": ("How many MBConv blocks does EfficientNet-B3 have?", lambda: _blocks("b3"), 0),
    "00.2": ("How many channels does the depthwise convolution of the first block of stage 4 "
             "(MBConv6, k5x5) of B0 have?", lambda: _expanded_first_block("b0", 4), 0),
    "00.3": ("By the paper's rule r = 1.15**phi, what input resolution (px, rounded) would phi = 3 "
             "give from 224 px? (The published B3 uses 300.)",
             lambda: S.compound_coefficients(3).image_size(), 0),
    "00.4": ("By what factor do the multiply-adds grow per phi step with alpha=1.2, beta=1.1, "
             "gamma=1.15 (two decimals)?", lambda: round(S.constraint(), 2), 0.005),
    "01.1": ("The study's base has width 0.25. Doubling it to 0.5 should multiply the MACs by 2^2 = 4. "
             "What does measuring give (two decimals)? Why less?", lambda: _study_macs_ratio(width=0.5), 0.01),
    "01.2": ("How many MBConv blocks does the base have at depth 0.5 (B0 has 16 at depth 1)? Compare depth "
             "0.34.", lambda: _study_blocks(0.5), 0),
    "01.3": ("At 96 px input, how many pixels wide is the base's last feature map (before pooling)?",
             lambda: _final_map(96), 0),
    "02.1": ("How many distinct networks does the full mode's grid try at phi = 1, once each alpha, beta "
             "has had its gamma solved for equal measured MACs?", _grid_size, 0),
    "02.2": ("With the paper's triple, what input resolution (px) does phi = 2 give the study's base?",
             lambda: _phi_resolution(2), 0),
    "02.3": ("With the paper's triple, by what factor do the measured MACs grow from phi = 0 to phi = 1 on "
             "the base (two decimals)? Nominally it is 1.92.",
             lambda: _phi_macs_ratio(1), 0.01),
    "03.1": ("With the practitioner's rule (int(0.2 * n) per class), how many validation images "
             "does a class of 143 images give?", lambda: _val_images(143), 0),
    "03.2": ("The seed recipe anneals lr 0.01 with a cosine over 30 epochs, stepped once per epoch. "
             "What is the lr in epoch 16 (index 15)? (four decimals)", lambda: _seed_lr(15, 30), 0.001),
    "04.1": ("A class has 50 test images; the model finds 40 of them and also labels 10 images of "
             "other classes as this one. What is its precision? (two decimals)",
             lambda: _class_metric("precision"), 0.01),
    "04.2": ("Same class, in a 12-class test set of 50 images per class: what is its specificity? "
             "(three decimals)", lambda: _class_metric("specificity"), 0.001),
    "05.1": (f"In the confusion matrix {SMALL_CM} (rows: true classes a, b, c; columns: predicted), "
             "which confused pair is the largest? Answer as 'true->predicted', e.g. 'a->b'.", _worst_pair, 0),
    "05.2": ("In the same matrix, what is the precision of class c? (three decimals) Why is it lower "
             "than its recall?", lambda: _small_cm_metric("c", "precision"), 0.001),
}


def question(key: str) -> str:
    return EXERCISES[key][0]


def answer(key: str):
    return EXERCISES[key][1]()


def check(key: str, value) -> bool:
    """True when `value` is the library's answer to exercise `key` (within its tolerance)."""
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; there are {sorted(EXERCISES)}")
    _, fn, tol = EXERCISES[key]
    right = fn()
    if value is None:
        ok = False
    elif isinstance(right, str):
        ok = str(value).replace(" ", "").lower() == right.lower()
    else:
        ok = math.isclose(float(value), float(right), rel_tol=tol) if tol else value == right
    print(f"exercise {key}: {'right' if ok else 'not yet'} ({value!r})")
    return ok
