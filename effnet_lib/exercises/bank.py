"""The exercises of the notebooks, one entry each (`EXERCISES`, keyed '00.1' ... '05.n'): the
question, the answer as a function of the library (`answers`), a hint, and the worked solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..evaluation.changes import mcnemar_exact
from . import answers as A
from .student_code import cam_reference, se_reference, verify_cam, verify_se

__all__ = ["Exercise", "EXERCISES"]


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


def _e(question, answer, hint, working, tolerance=0.0, choices=(), absolute=0.0, verify=None):
    return Exercise(question, answer, hint, working, tolerance, tuple(choices), absolute, verify)


EXERCISES: dict[str, Exercise] = {
    "00.1": _e(
        "How many MBConv blocks does EfficientNet-B3 have?",
        lambda: A.blocks("b3"),
        "Depth scales the number of layers of every stage, and a stage cannot hold a fraction of a layer.",
        lambda: f"ceil(1.4 x [1,2,2,3,3,4,1]) = [2,3,3,5,5,6,2], {A.blocks('b3')} blocks.",
    ),
    "00.2": _e(
        "How many of EfficientNet-B3's blocks have a residual connection (and can be dropped by stochastic depth)?",
        lambda: A.residual_blocks("b3"),
        "A block has a residual only where its input and output shapes agree. Which block of a stage "
        "changes the shape, and does scaling the depth change how many such blocks there are?",
        lambda: (
            f"Every block but the first of each of the 7 stages (the first changes the channels or "
            f"the stride): {A.blocks('b3')} - 7 = {A.residual_blocks('b3')}."
        ),
    ),
    "00.3": _e(
        "How many multiply-adds does the depthwise 5x5 convolution of the first block of stage 4 of B0 "
        "do on one 224 px image? (It has stride 2.)",
        lambda: A.depthwise_macs("b0", 4, 224),
        "A depthwise convolution gives each channel its own filter: what does one output value cost, "
        "and how many output values are there?",
        lambda: (
            f"5*5 x 144 channels x 28*28 = {A.depthwise_macs('b0', 4, 224):,} (an ordinary 5x5 "
            f"conv 144->144 would do 144 times more)."
        ),
        0.01,
    ),
    "00.4": _e(
        "Write squeeze-and-excitation with tensor operations only (no nn layers): a function "
        "`my_se(x, w1, b1, w2, b2)` for x of shape N x C x H x W, w1 (S x C) and b1 (S) the squeeze "
        "layer's weights, w2 (C x S) and b2 (C) the excite layer's, returning the block's output. Answer "
        "with the function; the check gives it the weights of a library block and compares the outputs.",
        lambda: se_reference,
        "A 1x1 convolution on a 1x1 map is a matrix product. Squeeze the map to one number per "
        "channel, apply the two layers with their activations (read `SqueezeExcitation` above), and "
        "mind the shapes when you rescale x.",
        lambda: (
            "s = x.mean((2, 3)); s = silu(s @ w1.T + b1); s = sigmoid(s @ w2.T + b2); return x * "
            "s[:, :, None, None]. The weights are one number per channel, in (0, 1), computed from the "
            "whole image: the block can turn channels down, never up."
        ),
        verify=verify_se,
    ),
    "01.1": _e(
        "Count by hand: the base's head is a 1x1 convolution from the last stage's channels to "
        "round_filters(1280 x width) channels (stage 9's), run on the last stage's map. "
        "How many multiply-adds does it "
        "do for one 32 px image?",
        lambda: A.head_macs(32),
        "A 1x1 convolution does one multiply-add per input channel, output channel "
        "and output position; the stage table above has the channels and the map size.",
        lambda: (
            f"{A.head_channels()[0]} x {A.head_channels()[1]} x {A.final_map(32)}^2 = {A.head_macs(32):,}; "
            "`scaling.measure` counts the same for that layer."
        ),
    ),
    "01.2": _e(
        "A residual block whose last BatchNorm starts with its scale at zero: what does that change about a "
        "deeper network at the start of training?",
        lambda: "a",
        "Write out what the block computes when its residual branch outputs zero.",
        lambda: (
            "(a): each added block passes its input through unchanged at the start, so the deeper "
            "network starts as the shallower one and learns from there. It adds no parameters and no "
            "view of the image; what the regime's pilots measured (data/results/REGIME.md, pilot 2) is "
            "this starting point, not a cure for vanishing gradients."
        ),
        choices=(
            "it starts out computing the same function as the shallower network",
            "it removes vanishing gradients",
            "it has fewer parameters to train",
            "its last stages see larger feature maps",
        ),
    ),
    "01.3": _e(
        "At 100 px input, how many pixels wide is the base's last feature map (before pooling)?",
        lambda: A.final_map(100),
        "Count the stride-2 layers in the stage table, and mind what a stride-2 layer does to an odd side.",
        lambda: (
            f"100 -> 50 -> 25 -> 13 -> 7 -> 4: {A.final_map(100)} px (a stride-2 layer with padding "
            "rounds an odd side up)."
        ),
    ),
    "02.1": _e(
        "The notebook compares each compound network with single-dimension ones, not the two triples with "
        "each other. At phi = 3, does the paper's triple beat, tie with or lose to the found triple, by the "
        "rule (more than 2 SE either way)? Use the means and SDs of the two compound curves.",
        lambda: A.triples_at(3),
        "The SE of a difference of two means over n seeds each is sqrt(sd_a^2 / n + sd_b^2 / n).",
        lambda: f"({A.triples_at(3)}): {A.triples_working(3)}",
        choices=("beats", "ties with", "loses to"),
    ),
    "02.2": _e(
        "With the paper's triple, what input resolution (px) would phi = 4 give the study's base? (The "
        "study stops at phi = 3.)",
        lambda: A.phi_resolution(4),
        "How does one step of phi change the resolution, and what does the study do with a fraction of a pixel?",
        lambda: f"round(32 x 1.15^4) = {A.phi_resolution(4)}.",
    ),
    "02.3": _e(
        "With the paper's triple, what is the smallest phi at which the study's base (32 px) ends on a "
        "last feature map of at least 4x4 (the most room notebook 01's experiment gave its last stage)?",
        lambda: A.first_phi_with_map(4),
        "Resolution is rounded from 32 x gamma^phi; count what the stride-2 layers leave of it, minding odd sides.",
        lambda: (
            f"phi = {A.first_phi_with_map(4)}: {A.phi_resolution(A.first_phi_with_map(4))} px, whose "
            f"last map is {A.final_map(A.phi_resolution(A.first_phi_with_map(4)))} px wide (phi = "
            f"{A.first_phi_with_map(4) - 1} gives {A.phi_resolution(A.first_phi_with_map(4) - 1)} px "
            f"and {A.final_map(A.phi_resolution(A.first_phi_with_map(4) - 1))} px)."
        ),
    ),
    "03.1": _e(
        "With the practitioner's rule (int(0.2 * n) per class), how many validation images does a class of "
        "143 images give?",
        lambda: A.val_images(143),
        "int() rounds down.",
        lambda: f"int(0.2 x 143) = int(28.6) = {A.val_images(143)}.",
    ),
    "03.2": _e(
        "The seed recipe anneals lr 0.01 with a cosine over 30 epochs, stepped once per epoch. What is the "
        "lr in epoch 16 (index 15)? (four decimals)",
        lambda: A.seed_lr(15, 30),
        "A cosine schedule multiplies the base rate by (1 + cos(pi t / T)) / 2 in epoch index t of T.",
        lambda: f"0.01 x (1 + cos(pi x 15 / 30)) / 2 = {A.seed_lr(15, 30)}: half-way, half the rate.",
        0.001,
    ),
    "03.3": _e(
        "A run trained 6 epochs with the cosine schedule; you resume it with --epochs 10. By what factor of "
        "the base rate does epoch 7 (index 6) train? (three decimals)",
        lambda: A.resumed_factor(6, 10),
        "Does a resumed run keep its first plan's schedule, or build one for the new number of epochs? "
        "The list of what `--resume --epochs N` does says which.",
        lambda: (
            f"(1 + cos(pi x 6 / 10)) / 2 = {A.resumed_factor(6, 10)}: the schedule is rebuilt for 10 "
            f"epochs, and epoch 7 of a 10-epoch plan gets that factor."
        ),
        0.002,
    ),
    "03.4": _e(
        "A parameter's running average of squared gradients is v = 1e-8 (its gradients are tiny) and eps "
        "= 1e-3. With the same lr and gradient, how many times larger is PyTorch's RMSprop step than "
        "TensorFlow's? (one decimal)",
        lambda: A.rmsprop_ratio(1e-8, 1e-3),
        "Both divide the gradient by a denominator built from v and eps; write the two (where does "
        "each put eps?) and take their ratio.",
        lambda: (
            f"TensorFlow divides by sqrt(v + eps) = {math.sqrt(1e-8 + 1e-3):.5f}, PyTorch by sqrt(v) + "
            f"eps = {math.sqrt(1e-8) + 1e-3:.5f}: PyTorch's step is {A.rmsprop_ratio(1e-8, 1e-3)} "
            f"times larger, which is why the library's `paper` recipe uses the TensorFlow form."
        ),
        0.01,
    ),
    "04.1": _e(
        "A class has 50 test images; the model finds 40 of them and also labels 10 images of other classes "
        "as this one. What is its precision? (two decimals)",
        lambda: A.class_metric("precision"),
        "Precision = right among those predicted as the class.",
        lambda: f"40 / (40 + 10) = {A.class_metric('precision')}.",
        0.01,
    ),
    "04.2": _e(
        "Same class, in a 12-class test set of 50 images per class: what is its specificity? (three decimals)",
        lambda: A.class_metric("specificity"),
        "Specificity looks only at the images that are "
        "not of this class: what share of them did the model leave alone?",
        lambda: f"540 / 550 = {A.class_metric('specificity')}.",
        0.001,
    ),
    "04.3": _e(
        "A test set holds 90 images of class a, all recognised, and 10 of class b, all taken for a. What is "
        "macro recall minus weighted recall? (two decimals)",
        A.macro_vs_weighted,
        "Macro averages the classes' recalls equally; weighted weighs each by its number of images.",
        lambda: (
            f"macro (1 + 0) / 2 = 0.5, weighted (90 x 1 + 10 x 0) / 100 = 0.9: {A.macro_vs_weighted()}. "
            f"The weighted average hides the class the model never gets."
        ),
        absolute=0.006,
    ),
    "05.1": _e(
        f"In the confusion matrix {A.SMALL_CM} (rows: true classes a, b, c; columns: predicted), which "
        "confused pair is the largest? Answer as 'true->predicted', e.g. 'a->b'.",
        A.worst_pair,
        "Look off the diagonal, row by row.",
        lambda: f"{A.worst_pair()}: 3 images of b taken for c.",
    ),
    "05.2": _e(
        "In the same matrix, what is the precision of class c? (three decimals)",
        lambda: A.small_cm_metric("c", "precision"),
        "Precision looks at what was *predicted* as c.",
        lambda: (
            f"10 / 14 = {A.small_cm_metric('c', 'precision')}; its recall is 1.0: every c is found, "
            f"but 4 others are taken for it."
        ),
        0.001,
    ),
    "05.3": _e(
        "Write Grad-CAM's map from its description: a function `my_cam(activations, gradients)` that takes "
        "one image's activations of a layer and the gradients of the class score with respect to them "
        "(both C x H x W tensors) and returns the H x W map in [0, 1]. Answer with the function.",
        lambda: cam_reference,
        "Follow the steps of 'Grad-CAM, before we use it' in order. What shape must the weights have to "
        "multiply the activations channel by channel? Try your function on gradients that are all negative.",
        lambda: (
            "weights = gradients.mean((1, 2), keepdim=True); cam = relu((weights * activations).sum(0)); "
            "cam / cam.max() if cam.max() > 0 else cam (effnet_lib.evaluation.gradcam.cam_from). A map "
            "with no positive evidence stays zero instead of dividing by zero."
        ),
        verify=verify_cam,
    ),
    "05.4": _e(
        "Two networks on the same 500 images of a class: 17 images are right with the bigger network only, "
        "8 with the base only; of the other 475, both get 400 right and 75 wrong. What is the exact McNemar "
        "p-value (two-sided, three decimals)?",
        lambda: round(mcnemar_exact(17, 8), 3),
        "If the networks were equally good, each image that only one gets right favours either with "
        "probability 1/2. How many such images are there, and what do the agreeing images add?",
        lambda: (
            f"25 discordant images, 17 for the bigger network: two-sided binomial test with p = 1/2 gives "
            f"{mcnemar_exact(17, 8):.3f} (effnet_lib.evaluation.changes.mcnemar_exact). The agreeing images carry no "
            f"information on which network is better: had both got 450 right and 25 wrong, p would be "
            f"the same."
        ),
        0.0,
        absolute=0.0005,
    ),
}
