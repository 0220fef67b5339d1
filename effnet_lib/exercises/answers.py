"""The answers of the exercises, computed by the library from the network, the data and the
committed results (never typed in), so they stay right when those change. `bank` asks the
questions; every answer there is one of these functions.
"""

from __future__ import annotations

import math

from ..model import network as M
from ..model.variants import build_model

__all__ = [
    "SMALL_CM",
    "blocks",
    "residual_blocks",
    "depthwise_macs",
    "receptive_field",
    "val_images",
    "seed_lr",
    "class_metric",
    "final_map",
    "phi_resolution",
    "full_table",
    "head_channels",
    "head_macs",
    "triples",
    "triples_at",
    "triples_working",
    "resumed_factor",
    "rmsprop_ratio",
    "first_phi_with_map",
    "small_cm",
    "worst_pair",
    "small_cm_metric",
    "macro_vs_weighted",
]


def blocks(variant: str) -> int:
    return sum(len(stage) for stage in build_model(variant).features[1:8])


def residual_blocks(variant: str) -> int:
    return sum(m.use_residual for m in build_model(variant).modules() if isinstance(m, M.MBConv))


def depthwise_macs(variant: str, stage: int, size: int) -> int:
    """Multiply-adds of the depthwise conv of the first block of a stage (the stride-carrying one)."""
    from ..model.anatomy import conv_cost

    width, depth, _, _ = M.VARIANTS[variant]
    stages = M.scaled_stages(width, depth)
    s = stages[stage - 2]
    entering = M.stage_table(width, depth, size)[stage - 1]["resolution"]
    hidden = M.round_filters(s.in_channels, s.expand_ratio)
    return conv_cost(hidden, hidden, s.kernel, entering, s.stride, groups=hidden)["macs_measured"]


def receptive_field(width, depth, size, stage) -> int:
    from ..model.anatomy import receptive_fields

    t = receptive_fields(width, depth, size)
    return int(t.loc[t.stage == stage, "receptive_field"].iloc[0])


def val_images(n: int) -> int:
    from ..data.folders import split_per_class

    return len(split_per_class([(f"img{i}", 0) for i in range(n)])[1])


def seed_lr(epoch: int, epochs: int) -> float:
    from ..training.recipes import RECIPES, Schedule

    return round(RECIPES["seed"].lr * Schedule("cosine", 1, epochs)(epoch), 4)


def class_metric(name: str) -> float:
    """Class 0 of 12 (50 images each): 40 of its 50 found, 10 images of class 1 taken for it."""
    import numpy as np

    from ..evaluation.metrics import per_class_table

    y_true = np.repeat(np.arange(12), 50)
    y_pred = y_true.copy()
    y_pred[40:50] = 1
    y_pred[50:60] = 0
    return round(float(per_class_table(y_true, y_pred, list(range(12))).loc[0, name]), 3)


def final_map(resolution: int) -> int:
    from ..study.scaling_study import BASE

    return M.stage_table(BASE.width, BASE.depth, resolution)[-1]["resolution"]


def phi_resolution(phi: int) -> int:
    from ..study.scaling_study import PAPER_TRIPLE, QUICK, compound

    return compound(QUICK, *PAPER_TRIPLE, phi=phi).image_size


def full_table():
    from ..study.scaling_results import load_results

    return load_results()[0]


def head_channels() -> tuple[int, int]:
    from ..study.scaling_study import BASE

    rows = M.stage_table(BASE.width, BASE.depth, 32)
    return rows[-2]["channels"], rows[-1]["channels"]  # the last stage's output, the head's output


def head_macs(resolution: int) -> int:
    c_in, c_out = head_channels()
    return c_in * c_out * final_map(resolution) ** 2


def triples(phi: int):
    from ..study.scaling_analysis import compare, compound_curve

    t = full_table()
    p, f = (compound_curve(t, e).set_index("phi").loc[phi] for e in ("compound_paper", "compound_found"))
    return p, f, compare(p.test_mean, p.test_std, p.seeds, f.test_mean, f.test_std, f.seeds)


def triples_at(phi: int) -> str:
    return {"beats": "a", "ties": "b", "loses": "c"}[triples(phi)[2][2]]


def triples_working(phi: int) -> str:
    p, f, (diff, se, v) = triples(phi)
    return (
        f"paper {p.test_mean:.4f} (SD {p.test_std:.4f}), found {f.test_mean:.4f} (SD {f.test_std:.4f}): "
        f"difference {diff * 100:+.2f} points, SE {se * 100:.2f}, so it {v} by the rule"
    )


def resumed_factor(done: int, new_epochs: int) -> float:
    from ..training.recipes import Schedule

    return round(Schedule("cosine", 1, new_epochs)(done), 3)


def rmsprop_ratio(v: float, eps: float) -> float:
    """PyTorch's step over TensorFlow's for the same gradient: sqrt(v + eps) / (sqrt(v) + eps)."""
    return round(math.sqrt(v + eps) / (math.sqrt(v) + eps), 1)


def first_phi_with_map(side: int) -> int:
    return next(phi for phi in range(1, 40) if final_map(phi_resolution(phi)) >= side)


SMALL_CM = [[8, 1, 1], [2, 5, 3], [0, 0, 10]]  # rows: true class a, b, c; columns: predicted


def small_cm():
    import numpy as np

    cm = np.array(SMALL_CM)
    y_true = np.repeat(np.repeat(np.arange(3), 3), cm.flatten())
    y_pred = np.repeat(np.tile(np.arange(3), 3), cm.flatten())
    return cm, y_true, y_pred


def worst_pair() -> str:
    from ..evaluation.metrics import top_confusions

    row = top_confusions(small_cm()[0], ["a", "b", "c"], 1).iloc[0]
    return f"{row['true']}->{row['predicted']}"


def small_cm_metric(cls: str, name: str) -> float:
    from ..evaluation.metrics import per_class_table

    _, y_true, y_pred = small_cm()
    return round(float(per_class_table(y_true, y_pred, ["a", "b", "c"]).loc[cls, name]), 3)


def macro_vs_weighted() -> float:
    """90 images of class a, all found; 10 of class b, all taken for a: macro minus weighted recall."""
    import numpy as np

    from ..evaluation.metrics import report

    y_true = np.array([0] * 90 + [1] * 10)
    s = report(y_true, np.zeros(100, int), ["a", "b"]).summary
    return round(s["macro_recall"] - s["weighted_recall"], 3)
