"""Exercises for the notebooks, with answers computed by the library (never typed in).

``question(key)`` gives the question (with its choices), ``check(key, answer)`` says whether an
answer is right and, if not, gives a hint, and ``solution(key)`` shows the worked answer. Numbers
may be given as numbers or text ("0.35", "1,024") and are compared within a tolerance; "why"
questions are multiple choice, answered with the letter. Answers are functions of the library and
of the committed results, so they stay right when those change. No answer is printed in a notebook
above its question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import model as M

__all__ = ["Exercise", "EXERCISES", "question", "answer", "check", "solution", "listing"]


@dataclass(frozen=True)
class Exercise:
    question: object  # text, or a function giving it (when it quotes a computed number)
    answer: object  # a function of nothing: the right answer (number, text, or a choice letter)
    hint: str
    working: object  # a function of nothing: the worked solution as text
    tolerance: float = 0.0  # relative, for numbers
    choices: tuple[str, ...] = field(default_factory=tuple)  # multiple choice: (a), (b), ...
    absolute: float = 0.0  # absolute tolerance, for numbers given to a fixed number of decimals


# -----------------------------------------------------------------------------
# Answers, computed

def _blocks(variant: str) -> int:
    return sum(len(stage) for stage in M.build_model(variant).features[1:8])


def _residual_blocks(variant: str) -> int:
    return sum(m.use_residual for m in M.build_model(variant).modules() if isinstance(m, M.MBConv))


def _depthwise_macs(variant: str, stage: int, size: int) -> int:
    """Multiply-adds of the depthwise conv of the first block of a stage (the stride-carrying one)."""
    from .anatomy import conv_cost
    width, depth, _, _ = M.VARIANTS[variant]
    stages = M.scaled_stages(width, depth)
    s = stages[stage - 2]
    entering = M.stage_table(width, depth, size)[stage - 1]["resolution"]
    hidden = M.round_filters(s.in_channels, s.expand_ratio)
    return conv_cost(hidden, hidden, s.kernel, entering, s.stride, groups=hidden)["macs_measured"]


def _receptive_field(width, depth, size, stage) -> int:
    from .anatomy import receptive_fields
    t = receptive_fields(width, depth, size)
    return int(t.loc[t.stage == stage, "receptive_field"].iloc[0])


def _val_images(n: int) -> int:
    from .data import split_per_class
    return len(split_per_class([(f"img{i}", 0) for i in range(n)])[1])


def _seed_lr(epoch: int, epochs: int) -> float:
    from .recipes import RECIPES, Schedule
    return round(RECIPES["seed"].lr * Schedule("cosine", 1, epochs)(epoch), 4)


def _class_metric(name: str) -> float:
    """Class 0 of 12 (50 images each): 40 of its 50 found, 10 images of class 1 taken for it."""
    import numpy as np

    from .metrics import per_class_table
    y_true = np.repeat(np.arange(12), 50)
    y_pred = y_true.copy()
    y_pred[40:50] = 1
    y_pred[50:60] = 0
    return round(float(per_class_table(y_true, y_pred, list(range(12))).loc[0, name]), 3)


def _final_map(resolution: int) -> int:
    from .scaling_study import BASE
    return M.stage_table(BASE.width, BASE.depth, resolution)[-1]["resolution"]


def _phi_resolution(phi: int) -> int:
    from .scaling_study import PAPER_TRIPLE, QUICK, compound
    return compound(QUICK, *PAPER_TRIPLE, phi=phi).image_size


def _full_table():
    from .scaling_study import load_results
    return load_results()[0]


def _head_channels() -> tuple[int, int]:
    from .scaling_study import BASE
    rows = M.stage_table(BASE.width, BASE.depth, 32)
    return rows[-2]["channels"], rows[-1]["channels"]  # the last stage's output, the head's output


def _head_macs(resolution: int) -> int:
    c_in, c_out = _head_channels()
    return c_in * c_out * _final_map(resolution) ** 2


def _triples(phi: int):
    from .scaling_analysis import compare, compound_curve
    t = _full_table()
    p, f = (compound_curve(t, e).set_index("phi").loc[phi] for e in ("compound_paper", "compound_found"))
    return p, f, compare(p.test_mean, p.test_std, p.seeds, f.test_mean, f.test_std, f.seeds)


def _triples_at(phi: int) -> str:
    return {"beats": "a", "ties": "b", "loses": "c"}[_triples(phi)[2][2]]


def _triples_working(phi: int) -> str:
    p, f, (diff, se, v) = _triples(phi)
    return (f"paper {p.test_mean:.4f} (SD {p.test_std:.4f}), found {f.test_mean:.4f} (SD {f.test_std:.4f}): "
            f"difference {diff * 100:+.2f} points, SE {se * 100:.2f}, so it {v} by the rule")


def _resumed_factor(done: int, new_epochs: int) -> float:
    from .recipes import Schedule
    return round(Schedule("cosine", 1, new_epochs)(done), 3)


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


def _macro_vs_weighted() -> float:
    """90 images of class a, all found; 10 of class b, all taken for a: macro minus weighted recall."""
    import numpy as np

    from .metrics import report
    y_true = np.array([0] * 90 + [1] * 10)
    s = report(y_true, np.zeros(100, int), ["a", "b"]).summary
    return round(s["macro_recall"] - s["weighted_recall"], 3)


# -----------------------------------------------------------------------------
# The exercises

def _e(question, answer, hint, working, tolerance=0.0, choices=(), absolute=0.0):
    return Exercise(question, answer, hint, working, tolerance, tuple(choices), absolute)


EXERCISES: dict[str, Exercise] = {
    "00.1": _e("How many MBConv blocks does EfficientNet-B3 have?", lambda: _blocks("b3"),
               "Scale each stage's layers of B0 (1,2,2,3,3,4,1) by B3's depth 1.4 and round up.",
               lambda: f"ceil(1.4 x [1,2,2,3,3,4,1]) = [2,3,3,5,5,6,2], {_blocks('b3')} blocks."),
    "00.2": _e("How many of B0's 16 blocks have a residual connection (and can be dropped by stochastic depth)?",
               lambda: _residual_blocks("b0"),
               "A block has a residual only where its input and output shapes agree: stride 1 and the same "
               "number of channels in and out. The first block of each stage changes one of them.",
               lambda: f"Every block but the first of each of the 7 stages: 16 - 7 = {_residual_blocks('b0')}."),
    "00.3": _e("How many multiply-adds does the depthwise 5x5 convolution of the first block of stage 4 of B0 "
               "do on one 224 px image? (It has stride 2.)", lambda: _depthwise_macs("b0", 4, 224),
               "A depthwise kxk convolution does k*k multiply-adds per output value; count the expanded "
               "channels (24 x 6) and the output map (stride 2 halves the 56x56 entering the stage).",
               lambda: f"5*5 x 144 channels x 28*28 = {_depthwise_macs('b0', 4, 224):,} (an ordinary 5x5 "
                       f"conv 144->144 would do 144 times more).", 0.01),
    "00.4": _e(lambda: f"The small base (width 0.25, depth 0.34) sees {_receptive_field(0.25, 0.34, 32, 6)} px "
               "with one output pixel of stage 6 at 32 px input. What is the receptive field of stage 6 at 48 px input?", lambda: _receptive_field(0.25, 0.34, 48, 6),
               "The receptive field depends on kernels and strides only, not on the size of the input.",
               lambda: f"{_receptive_field(0.25, 0.34, 48, 6)} px, the same: the input size changes the maps, "
                       f"not what one output pixel sees."),
    "00.5": _e("B0 needs about 10x fewer multiply-adds than ResNet-50 but is not 10x faster. Why?",
               lambda: "b", "Think about what a depthwise convolution reads for each multiply-add it does.",
               lambda: "(b): depthwise convolutions do few multiply-adds per value read, and B0 keeps more "
                       "activation memory; time is bounded by memory traffic, not only by arithmetic.",
               choices=("its parameters take longer to load from disk",
                        "its depthwise convolutions and activations move more bytes per multiply-add, and "
                        "memory traffic bounds the time as well as arithmetic",
                        "the flop counter undercounts SiLU and squeeze-and-excitation",
                        "ResNet-50 has fewer layers")),
    "01.1": _e("Count by hand: the base's head is a 1x1 convolution from the last stage's channels to "
               "round_filters(1280 x width) channels (stage 9's), run on the last stage's map. How many multiply-adds does it "
               "do for one 32 px image?",
               lambda: _head_macs(32), "A 1x1 convolution does one multiply-add per input channel, output channel "
               "and output position; the stage table above has the channels and the map size.",
               lambda: f"{_head_channels()[0]} x {_head_channels()[1]} x {_final_map(32)}^2 = {_head_macs(32):,}; "
                       "`scaling.measure` counts the same for that layer."),
    "01.2": _e("A residual block whose last BatchNorm starts with its scale at zero: what does that change about a "
               "deeper network at the start of training?",
               lambda: "a",
               "Write out what the block computes when its residual branch outputs zero.",
               lambda: "(a): each added block passes its input through unchanged at the start, so the deeper "
                       "network starts as the shallower one and learns from there. It adds no parameters and no "
                       "view of the image; what the regime's pilots measured (data/results/REGIME.md, pilot 2) is "
                       "this starting point, not a cure for vanishing gradients.",
               choices=("it starts out computing the same function as the shallower network",
                        "it removes vanishing gradients",
                        "it has fewer parameters to train",
                        "its last stages see larger feature maps")),
    "01.3": _e("At 100 px input, how many pixels wide is the base's last feature map (before pooling)?",
               lambda: _final_map(100), "Count the stride-2 layers in the stage table, and mind what a stride-2 "
               "layer does to an odd side.",
               lambda: f"100 -> 50 -> 25 -> 13 -> 7 -> 4: {_final_map(100)} px (a stride-2 layer with padding "
                       "rounds an odd side up)."),
    "02.1": _e("The notebook compares each compound network with single-dimension ones, not the two triples with "
               "each other. At phi = 3, does the paper's triple beat, tie with or lose to the found triple, by the "
               "rule (more than 2 SE either way)? Use the means and SDs of the two compound curves.",
               lambda: _triples_at(3), "The SE of a difference of two means over n seeds each is "
               "sqrt(sd_a^2 / n + sd_b^2 / n).",
               lambda: f"({_triples_at(3)}): {_triples_working(3)}",
               choices=("beats", "ties with", "loses to")),
    "02.2": _e("With the paper's triple, what input resolution (px) does phi = 2 give the study's base?",
               lambda: _phi_resolution(2), "resolution x gamma^phi, rounded.",
               lambda: f"round(32 x 1.15^2) = {_phi_resolution(2)}."),
    "02.3": _e("Why does the method search alpha, beta, gamma only at phi = 1 and then keep them fixed?",
               lambda: "a", "What would a grid search at phi = 7 cost?",
               lambda: "(a): every grid point is a training run, affordable only on the small network; "
                       "that the triple still fits at larger phi is an assumption, which the grid at phi = 1 "
                       "cannot check.",
               choices=("a grid of training runs is affordable only on the small base network; the found triple "
                        "is then assumed to hold for larger phi",
                        "the constraint alpha*beta^2*gamma^2 = 2 holds only at phi = 1",
                        "larger networks cannot be trained with a fixed resolution",
                        "at larger phi the three coefficients would all be equal")),
    "03.1": _e("With the practitioner's rule (int(0.2 * n) per class), how many validation images does a class of "
               "143 images give?", lambda: _val_images(143), "int() rounds down.",
               lambda: f"int(0.2 x 143) = int(28.6) = {_val_images(143)}."),
    "03.2": _e("The seed recipe anneals lr 0.01 with a cosine over 30 epochs, stepped once per epoch. What is the "
               "lr in epoch 16 (index 15)? (four decimals)", lambda: _seed_lr(15, 30),
               "0.01 x (1 + cos(pi x 15 / 30)) / 2.", lambda: f"{_seed_lr(15, 30)}: half-way, half the rate.", 0.001),
    "03.3": _e("A run trained 6 epochs with the cosine schedule; you resume it with --epochs 10. By what factor of "
               "the base rate does epoch 7 (index 6) train? (three decimals)", lambda: _resumed_factor(6, 10),
               "The schedule is recomputed for the new number of epochs: (1 + cos(pi x 6 / 10)) / 2.",
               lambda: f"{_resumed_factor(6, 10)}: what a 10-epoch plan gives epoch 7.", 0.002),
    "03.4": _e("For a parameter whose gradients are tiny, which takes the larger step with lr, decay and eps equal "
               "(eps 1e-3)?", lambda: "b", "Compare the smallest denominators: sqrt(v + eps) against sqrt(v) + eps.",
               lambda: "(b): PyTorch's denominator can fall to about 0.001, TensorFlow's not below sqrt(0.001) = "
                       "0.03, so PyTorch's step can be 30 times larger.",
               choices=("TensorFlow's RMSProp", "PyTorch's RMSprop", "both take the same step")),
    "04.1": _e("A class has 50 test images; the model finds 40 of them and also labels 10 images of other classes "
               "as this one. What is its precision? (two decimals)", lambda: _class_metric("precision"),
               "Precision = right among those predicted as the class.",
               lambda: f"40 / (40 + 10) = {_class_metric('precision')}.", 0.01),
    "04.2": _e("Same class, in a 12-class test set of 50 images per class: what is its specificity? (three "
               "decimals)", lambda: _class_metric("specificity"), "Specificity = TN / (TN + FP), over the other "
               "550 images.", lambda: f"540 / 550 = {_class_metric('specificity')}.", 0.001),
    "04.3": _e("A test set holds 90 images of class a, all recognised, and 10 of class b, all taken for a. What is "
               "macro recall minus weighted recall? (two decimals)", _macro_vs_weighted,
               "Macro averages the classes' recalls equally; weighted weighs each by its number of images.",
               lambda: f"macro (1 + 0) / 2 = 0.5, weighted (90 x 1 + 10 x 0) / 100 = 0.9: {_macro_vs_weighted()}. "
                       f"The weighted average hides the class the model never gets.", absolute=0.006),
    "05.1": _e(f"In the confusion matrix {SMALL_CM} (rows: true classes a, b, c; columns: predicted), which "
               "confused pair is the largest? Answer as 'true->predicted', e.g. 'a->b'.", _worst_pair,
               "Look off the diagonal, row by row.", lambda: f"{_worst_pair()}: 3 images of b taken for c."),
    "05.2": _e("In the same matrix, what is the precision of class c? (three decimals)",
               lambda: _small_cm_metric("c", "precision"), "Column c: how many of the images predicted as c are c?",
               lambda: f"10 / 14 = {_small_cm_metric('c', 'precision')}; its recall is 1.0: every c is found, "
                       f"but 4 others are taken for it.", 0.001),
    "05.3": _e("Grad-CAM weighs each channel of the last feature map by what, before summing them?", lambda: "c",
               "It needs one number per channel that says how much that channel pushes the chosen class.",
               lambda: "(c): the gradient of the class score, averaged over the map's positions.",
               choices=("the channel's mean activation", "the squeeze-and-excitation weight",
                        "the average over positions of the gradient of the class score with respect to the channel",
                        "the classifier's bias")),
}


# -----------------------------------------------------------------------------
# Asking and checking

def question(key: str) -> str:
    ex = _get(key)
    text = ex.question() if callable(ex.question) else ex.question
    if ex.choices:
        text += "".join(f"\n    ({chr(97 + i)}) {c}" for i, c in enumerate(ex.choices))
    return text


def answer(key: str):
    return _get(key).answer()


def solution(key: str) -> str:
    """The worked answer (print it once you have tried)."""
    ex = _get(key)
    return f"{key}: {ex.working()}"


def listing(keys) -> str:
    return "\n\n".join(f"{k}  {question(k)}" for k in keys)


def _get(key: str) -> Exercise:
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; there are {sorted(EXERCISES)}")
    return EXERCISES[key]


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "").replace("_", ""))
    except ValueError:
        return None


def _is_right(ex: Exercise, value) -> bool:
    right = ex.answer()
    if value is None:
        return False
    if ex.choices:
        given = str(value).strip().lower()
        return given.strip("()") == right or given == ex.choices[ord(right) - 97].lower()
    if isinstance(right, str):
        return str(value).replace(" ", "").lower() == right.replace(" ", "").lower()
    number = _number(value)
    if number is None:
        return False
    return math.isclose(number, float(right), rel_tol=ex.tolerance, abs_tol=max(ex.absolute, 1e-9))


def check(key: str, value) -> bool:
    """True when `value` answers exercise `key`; otherwise a hint is printed."""
    ex = _get(key)
    ok = _is_right(ex, value)
    if ok:
        print(f"exercise {key}: right ({value!r})")
    elif value is None:
        print(f"exercise {key}: no answer yet. Hint: {ex.hint}")
    else:
        print(f"exercise {key}: not yet ({value!r}). Hint: {ex.hint}")
    return ok
