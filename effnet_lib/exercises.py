"""Exercises for the notebooks, with answers computed by the library (never typed in).

``question(key)`` gives the question (with its choices), ``check(key, answer)`` says whether an
answer is right and, if not, gives a hint, and ``solution(key)`` shows the worked answer. Numbers
may be given as numbers or text ("0.35", "1,024") and are compared within a tolerance; "why"
questions are multiple choice, answered with the letter; "write" exercises take the student's own
code (a class or a function) and check it against the library's on the same weights and inputs.
Answers are functions of the library and of the committed results, so they stay right when those
change. No answer is printed in a notebook above its question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .evaluation.changes import mcnemar_exact
from .exercise_code import cam_reference, se_reference, verify_cam, verify_se
from .model import network as M

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
    verify: object = None  # "write" exercises: a function of the student's code giving (right, why not)


# -----------------------------------------------------------------------------
# Answers, computed

def _blocks(variant: str) -> int:
    return sum(len(stage) for stage in M.build_model(variant).features[1:8])


def _residual_blocks(variant: str) -> int:
    return sum(m.use_residual for m in M.build_model(variant).modules() if isinstance(m, M.MBConv))


def _depthwise_macs(variant: str, stage: int, size: int) -> int:
    """Multiply-adds of the depthwise conv of the first block of a stage (the stride-carrying one)."""
    from .model.anatomy import conv_cost
    width, depth, _, _ = M.VARIANTS[variant]
    stages = M.scaled_stages(width, depth)
    s = stages[stage - 2]
    entering = M.stage_table(width, depth, size)[stage - 1]["resolution"]
    hidden = M.round_filters(s.in_channels, s.expand_ratio)
    return conv_cost(hidden, hidden, s.kernel, entering, s.stride, groups=hidden)["macs_measured"]


def _receptive_field(width, depth, size, stage) -> int:
    from .model.anatomy import receptive_fields
    t = receptive_fields(width, depth, size)
    return int(t.loc[t.stage == stage, "receptive_field"].iloc[0])


def _val_images(n: int) -> int:
    from .data.folders import split_per_class
    return len(split_per_class([(f"img{i}", 0) for i in range(n)])[1])


def _seed_lr(epoch: int, epochs: int) -> float:
    from .training.recipes import RECIPES, Schedule
    return round(RECIPES["seed"].lr * Schedule("cosine", 1, epochs)(epoch), 4)


def _class_metric(name: str) -> float:
    """Class 0 of 12 (50 images each): 40 of its 50 found, 10 images of class 1 taken for it."""
    import numpy as np

    from .evaluation.metrics import per_class_table
    y_true = np.repeat(np.arange(12), 50)
    y_pred = y_true.copy()
    y_pred[40:50] = 1
    y_pred[50:60] = 0
    return round(float(per_class_table(y_true, y_pred, list(range(12))).loc[0, name]), 3)


def _final_map(resolution: int) -> int:
    from .study.scaling_study import BASE
    return M.stage_table(BASE.width, BASE.depth, resolution)[-1]["resolution"]


def _phi_resolution(phi: int) -> int:
    from .study.scaling_study import PAPER_TRIPLE, QUICK, compound
    return compound(QUICK, *PAPER_TRIPLE, phi=phi).image_size


def _full_table():
    from .study.scaling_study import load_results
    return load_results()[0]


def _head_channels() -> tuple[int, int]:
    from .study.scaling_study import BASE
    rows = M.stage_table(BASE.width, BASE.depth, 32)
    return rows[-2]["channels"], rows[-1]["channels"]  # the last stage's output, the head's output


def _head_macs(resolution: int) -> int:
    c_in, c_out = _head_channels()
    return c_in * c_out * _final_map(resolution) ** 2


def _triples(phi: int):
    from .study.scaling_analysis import compare, compound_curve
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
    from .training.recipes import Schedule
    return round(Schedule("cosine", 1, new_epochs)(done), 3)


def _rmsprop_ratio(v: float, eps: float) -> float:
    """PyTorch's step over TensorFlow's for the same gradient: sqrt(v + eps) / (sqrt(v) + eps)."""
    return round(math.sqrt(v + eps) / (math.sqrt(v) + eps), 1)


def _first_phi_with_map(side: int) -> int:
    return next(phi for phi in range(1, 40) if _final_map(_phi_resolution(phi)) >= side)


SMALL_CM = [[8, 1, 1], [2, 5, 3], [0, 0, 10]]  # rows: true class a, b, c; columns: predicted


def _small_cm():
    import numpy as np
    cm = np.array(SMALL_CM)
    y_true = np.repeat(np.repeat(np.arange(3), 3), cm.flatten())
    y_pred = np.repeat(np.tile(np.arange(3), 3), cm.flatten())
    return cm, y_true, y_pred


def _worst_pair() -> str:
    from .evaluation.metrics import top_confusions
    row = top_confusions(_small_cm()[0], ["a", "b", "c"], 1).iloc[0]
    return f"{row['true']}->{row['predicted']}"


def _small_cm_metric(cls: str, name: str) -> float:
    from .evaluation.metrics import per_class_table
    _, y_true, y_pred = _small_cm()
    return round(float(per_class_table(y_true, y_pred, ["a", "b", "c"]).loc[cls, name]), 3)


def _macro_vs_weighted() -> float:
    """90 images of class a, all found; 10 of class b, all taken for a: macro minus weighted recall."""
    import numpy as np

    from .evaluation.metrics import report
    y_true = np.array([0] * 90 + [1] * 10)
    s = report(y_true, np.zeros(100, int), ["a", "b"]).summary
    return round(s["macro_recall"] - s["weighted_recall"], 3)


# -----------------------------------------------------------------------------
# The exercises

def _e(question, answer, hint, working, tolerance=0.0, choices=(), absolute=0.0, verify=None):
    return Exercise(question, answer, hint, working, tolerance, tuple(choices), absolute, verify)


EXERCISES: dict[str, Exercise] = {
    "00.1": _e("How many MBConv blocks does EfficientNet-B3 have?", lambda: _blocks("b3"),
               "Depth scales the number of layers of every stage, and a stage cannot hold a fraction of a "
               "layer.",
               lambda: f"ceil(1.4 x [1,2,2,3,3,4,1]) = [2,3,3,5,5,6,2], {_blocks('b3')} blocks."),
    "00.2": _e("How many of EfficientNet-B3's blocks have a residual connection (and can be dropped by "
               "stochastic depth)?", lambda: _residual_blocks("b3"),
               "A block has a residual only where its input and output shapes agree. Which block of a stage "
               "changes the shape, and does scaling the depth change how many such blocks there are?",
               lambda: f"Every block but the first of each of the 7 stages (the first changes the channels or "
                       f"the stride): {_blocks('b3')} - 7 = {_residual_blocks('b3')}."),
    "00.3": _e("How many multiply-adds does the depthwise 5x5 convolution of the first block of stage 4 of B0 "
               "do on one 224 px image? (It has stride 2.)", lambda: _depthwise_macs("b0", 4, 224),
               "A depthwise convolution gives each channel its own filter: what does one output value cost, "
               "and how many output values are there?",
               lambda: f"5*5 x 144 channels x 28*28 = {_depthwise_macs('b0', 4, 224):,} (an ordinary 5x5 "
                       f"conv 144->144 would do 144 times more).", 0.01),
    "00.4": _e("Write squeeze-and-excitation with tensor operations only (no nn layers): a function "
               "`my_se(x, w1, b1, w2, b2)` for x of shape N x C x H x W, w1 (S x C) and b1 (S) the squeeze "
               "layer's weights, w2 (C x S) and b2 (C) the excite layer's, returning the block's output. Answer "
               "with the function; the check gives it the weights of a library block and compares the outputs.",
               lambda: se_reference,
               "A 1x1 convolution on a 1x1 map is a matrix product. Squeeze the map to one number per "
               "channel, apply the two layers with their activations (read `SqueezeExcitation` above), and "
               "mind the shapes when you rescale x.",
               lambda: "s = x.mean((2, 3)); s = silu(s @ w1.T + b1); s = sigmoid(s @ w2.T + b2); return x * "
                       "s[:, :, None, None]. The weights are one number per channel, in (0, 1), computed from the "
                       "whole image: the block can turn channels down, never up.",
               verify=verify_se),
    "01.1": _e("Count by hand: the base's head is a 1x1 convolution from the last stage's channels to "
               "round_filters(1280 x width) channels (stage 9's), run on the last stage's map. "
               "How many multiply-adds does it "
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
    "02.2": _e("With the paper's triple, what input resolution (px) would phi = 4 give the study's base? (The "
               "study stops at phi = 3.)", lambda: _phi_resolution(4),
               "How does one step of phi change the resolution, and what does the study do with a fraction of a "
               "pixel?",
               lambda: f"round(32 x 1.15^4) = {_phi_resolution(4)}."),
    "02.3": _e("With the paper's triple, what is the smallest phi at which the study's base (32 px) ends on a "
               "last feature map of at least 4x4 (the most room notebook 01's experiment gave its last stage)?",
               lambda: _first_phi_with_map(4),
               "Resolution is rounded from 32 x gamma^phi; count what the stride-2 layers leave of it, "
               "minding odd sides.",
               lambda: f"phi = {_first_phi_with_map(4)}: {_phi_resolution(_first_phi_with_map(4))} px, whose "
                       f"last map is {_final_map(_phi_resolution(_first_phi_with_map(4)))} px wide (phi = "
                       f"{_first_phi_with_map(4) - 1} gives {_phi_resolution(_first_phi_with_map(4) - 1)} px "
                       f"and {_final_map(_phi_resolution(_first_phi_with_map(4) - 1))} px)."),
    "03.1": _e("With the practitioner's rule (int(0.2 * n) per class), how many validation images does a class of "
               "143 images give?", lambda: _val_images(143), "int() rounds down.",
               lambda: f"int(0.2 x 143) = int(28.6) = {_val_images(143)}."),
    "03.2": _e("The seed recipe anneals lr 0.01 with a cosine over 30 epochs, stepped once per epoch. What is the "
               "lr in epoch 16 (index 15)? (four decimals)", lambda: _seed_lr(15, 30),
               "A cosine schedule multiplies the base rate by (1 + cos(pi t / T)) / 2 in epoch index t of T.",
               lambda: f"0.01 x (1 + cos(pi x 15 / 30)) / 2 = {_seed_lr(15, 30)}: half-way, half the rate.", 0.001),
    "03.3": _e("A run trained 6 epochs with the cosine schedule; you resume it with --epochs 10. By what factor of "
               "the base rate does epoch 7 (index 6) train? (three decimals)", lambda: _resumed_factor(6, 10),
               "Does a resumed run keep its first plan's schedule, or build one for the new number of epochs? "
               "The list of what `--resume --epochs N` does says which.",
               lambda: f"(1 + cos(pi x 6 / 10)) / 2 = {_resumed_factor(6, 10)}: the schedule is rebuilt for 10 "
                       f"epochs, and epoch 7 of a 10-epoch plan gets that factor.", 0.002),
    "03.4": _e("A parameter's running average of squared gradients is v = 1e-8 (its gradients are tiny) and eps "
               "= 1e-3. With the same lr and gradient, how many times larger is PyTorch's RMSprop step than "
               "TensorFlow's? (one decimal)", lambda: _rmsprop_ratio(1e-8, 1e-3),
               "Both divide the gradient by a denominator built from v and eps; write the two (where does "
               "each put eps?) and take their ratio.",
               lambda: f"TensorFlow divides by sqrt(v + eps) = {math.sqrt(1e-8 + 1e-3):.5f}, PyTorch by sqrt(v) + "
                       f"eps = {math.sqrt(1e-8) + 1e-3:.5f}: PyTorch's step is {_rmsprop_ratio(1e-8, 1e-3)} "
                       f"times larger, which is why the library's `paper` recipe uses the TensorFlow form.", 0.01),
    "04.1": _e("A class has 50 test images; the model finds 40 of them and also labels 10 images of other classes "
               "as this one. What is its precision? (two decimals)", lambda: _class_metric("precision"),
               "Precision = right among those predicted as the class.",
               lambda: f"40 / (40 + 10) = {_class_metric('precision')}.", 0.01),
    "04.2": _e("Same class, in a 12-class test set of 50 images per class: what is its specificity? (three "
               "decimals)", lambda: _class_metric("specificity"), "Specificity looks only at the images that are "
               "not of this class: what share of them did the model leave alone?",
               lambda: f"540 / 550 = {_class_metric('specificity')}.", 0.001),
    "04.3": _e("A test set holds 90 images of class a, all recognised, and 10 of class b, all taken for a. What is "
               "macro recall minus weighted recall? (two decimals)", _macro_vs_weighted,
               "Macro averages the classes' recalls equally; weighted weighs each by its number of images.",
               lambda: f"macro (1 + 0) / 2 = 0.5, weighted (90 x 1 + 10 x 0) / 100 = 0.9: {_macro_vs_weighted()}. "
                       f"The weighted average hides the class the model never gets.", absolute=0.006),
    "05.1": _e(f"In the confusion matrix {SMALL_CM} (rows: true classes a, b, c; columns: predicted), which "
               "confused pair is the largest? Answer as 'true->predicted', e.g. 'a->b'.", _worst_pair,
               "Look off the diagonal, row by row.", lambda: f"{_worst_pair()}: 3 images of b taken for c."),
    "05.2": _e("In the same matrix, what is the precision of class c? (three decimals)",
               lambda: _small_cm_metric("c", "precision"), "Precision looks at what was *predicted* as c.",
               lambda: f"10 / 14 = {_small_cm_metric('c', 'precision')}; its recall is 1.0: every c is found, "
                       f"but 4 others are taken for it.", 0.001),
    "05.3": _e("Write Grad-CAM's map from its description: a function `my_cam(activations, gradients)` that takes "
               "one image's activations of a layer and the gradients of the class score with respect to them "
               "(both C x H x W tensors) and returns the H x W map in [0, 1]. Answer with the function.",
               lambda: cam_reference,
               "Follow the steps of 'Grad-CAM, before we use it' in order. What shape must the weights have to "
               "multiply the activations channel by channel? Try your function on gradients that are all negative.",
               lambda: "weights = gradients.mean((1, 2), keepdim=True); cam = relu((weights * activations).sum(0)); "
                       "cam / cam.max() if cam.max() > 0 else cam (effnet_lib.evaluation.gradcam.cam_from). A map "
                       "with no positive evidence stays zero instead of dividing by zero.",
               verify=verify_cam),
    "05.4": _e("Two networks on the same 500 images of a class: 17 images are right with the bigger network only, "
               "8 with the base only; of the other 475, both get 400 right and 75 wrong. What is the exact McNemar "
               "p-value (two-sided, three decimals)?",
               lambda: round(mcnemar_exact(17, 8), 3),
               "If the networks were equally good, each image that only one gets right favours either with "
               "probability 1/2. How many such images are there, and what do the agreeing images add?",
               lambda: f"25 discordant images, 17 for the bigger network: two-sided binomial test with p = 1/2 gives "
                       f"{mcnemar_exact(17, 8):.3f} (class_changes.mcnemar_exact). The agreeing images carry no "
                       f"information on which network is better: had both got 450 right and 25 wrong, p would be "
                       f"the same.", 0.0, absolute=0.0005),
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


def _is_right(ex: Exercise, value) -> tuple[bool, str]:
    """(right, why not): the reason is given only by "write" exercises, whose checks run code."""
    if value is None:
        return False, ""
    if ex.verify is not None:
        return ex.verify(value)
    return _is_right_value(ex, value), ""


def _is_right_value(ex: Exercise, value) -> bool:
    right = ex.answer()
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
    ok, why = _is_right(ex, value)
    shown = getattr(value, "__name__", None) if ex.verify is not None else None
    shown = shown or repr(value)
    if ok:
        print(f"exercise {key}: right ({shown})")
    elif value is None:
        print(f"exercise {key}: no answer yet. Hint: {ex.hint}")
    else:
        print(f"exercise {key}: not yet ({shown}{': ' + why if why else ''}). Hint: {ex.hint}")
    return ok
