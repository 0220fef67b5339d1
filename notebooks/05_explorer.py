# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Explorer: which classes fail, what they are taken for, and why
#
# **Learning goals.** After this notebook you can
# 1. find the weakest classes of a model by any metric, and a class by name among hundreds,
# 2. read a class's row of the confusion matrix among its most-confused neighbours, and read a
#    whole matrix of many classes ordered by confusion clusters,
# 3. look at the confused images themselves, most confident mistakes first, and ask Grad-CAM where
#    the model looked,
# 4. tell a model error from a label error, and find the classes a model mixes in both directions,
# 5. judge whether the model's confidence can be trusted (calibration),
# 6. see the images on a map of the network's features, next to the training images they resemble,
# 7. compare two networks class by class: which classes did scaling help?
#
# **Quick mode (default).** It explores the quick-mode run of notebook 03 (the built-in
# Fashion-MNIST subset, a small model trained for minutes) and, for the comparison, two networks
# of the scaling study's quick mode (notebook 02). The marked cell switches to your own run or to
# any predictions CSV. The explorer widget only reads results and never trains; this notebook
# first trains notebook 03's quick run and the two scaling networks if they are not cached yet
# (the line below says how long that took the first time).

# %%
import pandas as pd
from IPython.display import Image as PNG
from IPython.display import display

from effnet_lib import exercises
from effnet_lib.display import (
    ConfusionExplorer,
    PredictionGallery,
    ReliabilityDiagram,
    build_report,
    cam_figure,
    write_evaluation,
)
from effnet_lib.evaluation import (
    ErrorAnalysis,
    EvalResult,
    Predictor,
    calibration,
    calibration_by_class,
    cam_layer,
    class_calibration,
    compare_results,
    ece_floor,
    label_issues,
    nearest_of_classes,
    overlapping_classes,
    temperature_report,
)
from effnet_lib.study import scaling_study as study
from effnet_lib.training import full_training_config, quick_mode_timing, quick_training_config, train_or_load

print(quick_mode_timing("05_explorer"))

# %% [markdown]
# ▶ **Switch to your own results here**: `MY_DATA` as in notebook 03, or `PREDICTIONS_CSV` for
# the predictions of any model (columns `path, true, pred_1, prob_1, ...`). Without the model,
# Grad-CAM, the map and the comparison are left out. A CSV holds only the top few probabilities
# of each image and the rest count as 0, so calibration, label issues and temperature scaling see
# truncated probabilities: give an evaluation folder (with `probabilities.npy`) where you have one.

# %%
MY_DATA = None  # e.g. "/data/birds-400"
PREDICTIONS_CSV = None  # e.g. "runs/birds/eval-test/predictions.csv"

train_result = None
if PREDICTIONS_CSV:
    result, predictor, eval_dir = EvalResult.load(PREDICTIONS_CSV), None, None
else:
    config = full_training_config(MY_DATA, name="my-data") if MY_DATA else quick_training_config("notebook-quick")
    run = train_or_load(config, progress=False)  # reads the finished run back (trains only if it is missing)
    predictor = Predictor.from_checkpoint(run.best)
    split = "test" if run.folder.test else "val"
    result = predictor.evaluate(run.folder.split(split))  # predictions and pooled features in one pass
    eval_dir = run.out / f"eval-{split}"
    write_evaluation(result, eval_dir, title=f"{split} split")
    train_result = predictor.evaluate(run.folder.train)  # for "which training images did it look like?"
    print(f"{'QUICK MODE · ' if config.quick else ''}{len(result.paths)} {split} images, {len(result.classes)} classes")

# %% [markdown]
# ## Grad-CAM, before we use it
#
# Grad-CAM (Selvaraju et al., 2017) asks where in the image the evidence for one class lies. Take
# a feature map and the gradient of the class's score with respect to it. Averaged over the
# positions, the gradient gives one weight per channel: how much that channel pushes the class.
# The weighted sum of the channels, with negative values cut to zero (ReLU) and divided by its
# maximum, is the map, upsampled to the image. In code it is two hooks and one backward pass (you
# write the map itself in exercise 05.3). The explorer shows it for the predicted and for the true
# class of a confused image, side by side.
#
# **Which feature map.** The usual one is the last before pooling (for EfficientNet the 1×1 head
# convolution: 7×7 positions at 224 px). At the quick mode's 32 px that map is 1×1: one value,
# spread over the whole image, which says nothing about *where*. So the map comes from the last
# stage whose output still has at least 4×4 positions (`gradcam.cam_layer`); it is less
# class-specific than the head, and coarse, but it can point at a place:

# %%
if predictor is not None:
    size = predictor.transforms.image_size
    index, side = cam_layer(predictor.model, size)
    print(f"at {size} px: Grad-CAM from features[{index}] of {len(predictor.model.features)} "
          f"({side}x{side} positions); the head's map is {cam_layer(predictor.model, size, min_side=1)[1]} wide")

# %% [markdown]
# ## The explorer
#
# *Classes*: type in *search* to filter, pick a class (sorted worst first by the chosen metric),
# switch the normalisation, choose a confused pair to see its images, pick one and press
# *Grad-CAM*; *Save view as PNG* writes what you see for a handout. The other tabs: the whole
# matrix ordered by confusion clusters (a cluster opens as its own sub-matrix), label-issue
# candidates, calibration, the embedding map (pick an image: its nearest training images), and the
# comparison with another network. Every tab keeps its settings while you move between them.

# %%
base_cfg = study.config(study.QUICK)
phi2_cfg = study.compound(study.QUICK, *study.PAPER_TRIPLE, phi=2)
for name, cfg in (("base", base_cfg), ("compound phi 2", phi2_cfg)):
    print(f"{name}: width {cfg.width:g}, depth {cfg.depth:g}, {cfg.image_size} px, recipe '{cfg.recipe}', "
          f"{cfg.epochs} epochs, seed {cfg.seed}")
study.run("quick", only=["compound_paper"], progress=False)  # both networks trained (or read back)
networks = {name: Predictor.from_checkpoint(study.run_folder(cfg) / "best.pt")
            for name, cfg in (("base", base_cfg), ("compound phi 2", phi2_cfg))}
samples = list(zip(result.paths, result.y_true)) if predictor is not None and not PREDICTIONS_CSV else None
scaled = {name: p.evaluate(samples) for name, p in networks.items()} if samples else {}

explorer = ConfusionExplorer(result, predictor, train=train_result, compare=scaled.get("compound phi 2"),
                             cache_dir=eval_dir)
explorer

# %% [markdown]
# Where widgets do not render (a static copy of this notebook, a PDF), the class view saved as a
# picture stands in for the widget:

# %%
if eval_dir is not None:
    display(PNG(filename=str(explorer.save(eval_dir / "explorer-view.png"))))

# %% [markdown]
# ## The same answers without the widget
#
# Every panel is a call to the library; use it directly for reports.

# %%
analysis = ErrorAnalysis(result)
analysis.class_table("f1").head(5).round(3)

# %%
analysis.top_pairs(5)

# %% [markdown]
# Grad-CAM for the most confident mistake of the most confused pair, as the explorer's *Grad-CAM*
# button draws it: where the evidence for the predicted class lies, and where the evidence for the
# true class does. Each map is scaled to its own maximum, so the colours say *where* within one
# map, not how strong one class's evidence is against the other's. The map is computed on the grid
# of the layer chosen above (4×4 at the quick mode's 32 px, 7×7 at 224 px) and smoothly (bilinearly) upsampled to
# the image, so its blobs are a few cells blurred together, and each cell sees a wide patch: heat on the background
# means the evidence lies in
# that cell's wide view, not in the background itself.

# %%
if predictor is not None:
    pair = analysis.top_pairs(1).iloc[0]
    mistake = analysis.misclassified(pair["true"], pair["predicted"]).iloc[0]
    print(f"{pair['true']} taken for {pair['predicted']} with confidence {mistake.confidence:.2f}: {mistake.path}")
    cam_figure(predictor, mistake.path, pair["true"], pair["predicted"]);

# %% [markdown]
# ### Model error or label error?
#
# A model error is an image the model gets wrong although its label is right; a label error is an
# image whose label is wrong. Confident learning (Northcutt, Jiang and Chuang, 2021) ranks the
# images by the *normalised margin*: the probability of the given label minus the highest
# probability of any other class. Most negative first: the model is sure it is something else.
# These are the labels to check first (the gallery titles give the class the model believes, its
# probability, and the given label). The overlapping classes are the pairs the model confidently
# mixes in both directions (candidates to merge, or to describe better). They are counted from
# the *confident joint*, not the confusion matrix: each image counts at most once, under the most probable
# of the classes whose probability reaches that class's threshold (the mean probability of the
# class over the images labelled with it); an image labelled a counted under b is "a as b". So the
# counts differ from the matrix's, which counts the top prediction; `share` is the pair's count
# both ways over all images.
#
# Look at the ten candidates: for each, is the label wrong, or is the model wrong about a
# correctly labelled image? Only the first kind is a label error. Count them by eye before you read
# on. On a carefully labelled set like Fashion-MNIST, expect most of the top of the list to be model
# errors: the list ranks where the model is most sure *and* disagrees with the label, and that is
# also where a model is confidently wrong.

# %%
issues = label_issues(result.y_true, result.probs, result.paths, result.classes).head(10)
PredictionGallery.from_predictions(issues.rename(columns={"suggested": "pred_1", "p_suggested": "prob_1",
                                                         "given": "true"}), max_images=10, size=64,
                                   truth_name="given").plot();

# %% [markdown]
# To decide one candidate in one look: the image, then the training images nearest to it in the
# network's features among its *given* class and among the class the model *believes* (cosine
# distance `d` of the pooled features in the titles). Measured in the network's own features, the
# believed class is nearer as a rule (that is why the network believes it), so the distances cannot
# decide the label: they show what the network matched the image with. You decide by looking: does
# the image show what its given class's images show? If it does, the label is right and the model
# is wrong.

# %%
if train_result is not None and result.features is not None:
    first = issues.iloc[0]
    near = nearest_of_classes(result.features[first["index"]], train_result, [first.given, first.suggested], k=4,
                              distances=True)
    shown = near[first.given] + near[first.suggested]
    PredictionGallery.from_paths(
        [first.path] + [p for p, _ in shown],
        [f"CANDIDATE\ngiven: {first.given}\nbelieved: {first.suggested} ({first.p_suggested:.1%})"]
        + [f"{name}\nd {d:.3f}" for name in (first.given, first.suggested) for _, d in near[name]],
        size=64).plot(ncols=5);

# %% [markdown]
# `write_evaluation` (called at the top) and `python -m effnet_lib evaluate` also write the first 200
# candidates as `label_issues.csv` beside the predictions (the path is printed below), ranked, with
# an empty `new_label` column. Write the right class there for the images whose label is wrong, then
# `python -m effnet_lib relabel PATH/label_issues.csv` says which files it would move, and with
# `--apply` it moves them into their new class folders and logs every move in
# `label_issues.csv.applied.csv` (from, to: move a file back by hand to undo). Nothing moves
# without `--apply`. **Careful:** these are *test* images here. Relabel training data; relabelling a
# test set from one model's suggestions bends the test towards that model, and changes the test set
# every other notebook reads (keep a copy of the original labels).

# %%
if eval_dir is not None:
    print("the candidates to edit:", eval_dir / "label_issues.csv")
overlapping_classes(result.y_true, result.probs, result.classes, n=5)

# %% [markdown]
# ### Can its confidence be trusted?
#
# A model is *calibrated* when, among the images it gives 80% confidence, 80% are right. The
# images are put in 15 bins by confidence; the expected calibration error (ECE) is the absolute gap
# between each bin's mean confidence and its accuracy, weighted by the bin's share of images and
# summed over the bins. Left: the bins against the diagonal of perfect calibration (below it:
# over-confident, above it: under-confident); right: how confident the right and the wrong answers
# were (20 bins). The explorer's *Calibration* tab adds the classes whose confidence is least to be
# trusted; its *Confusion matrix* tab orders a matrix of many classes by confusion clusters and its
# *Embedding map* shows the images on a map of the network's features (these two are not drawn in
# this notebook: see them in the widget or in the static report below).
#
# An ECE is never exactly zero, even for a perfectly calibrated model: on a finite number of
# images each bin's accuracy scatters around its confidence, and the absolute gaps add up. The
# *floor* (`ece_floor`) is the ECE a perfectly calibrated model with the same confidences shows,
# simulated 500 times: only an ECE above the floor's 95th percentile is a sign of miscalibration.

# %%
calib = calibration(result.y_true, result.probs, result.classes)
floor = ece_floor(result.probs.max(1))
t = calib["table"].dropna(subset=["accuracy"])
above = t["count"][t.accuracy > t.confidence].sum() / t["count"].sum()
print(f"expected calibration error: {calib['ece']:.4f}; a calibrated model's floor on these images: "
      f"{floor['mean']:.4f} (95th percentile {floor['p95']:.4f}): "
      + ("above the floor" if calib["ece"] > floor["p95"] else "within the floor: no sign of miscalibration overall"))
print(f"{above:.0%} of the images are in bins above the diagonal (right more often than the confidence says), "
      f"{1 - above:.0%} in bins on or below it")
ReliabilityDiagram(calib).plot();

# %% [markdown]
# Per class, the ECE is computed from the images predicted as that class alone (the table's
# `images`), far fewer than all, so its floor is higher: the table gives each of the five least calibrated classes its
# floor, and
# `beyond_floor` says whether its ECE clears the 95th percentile. Below, the diagrams of the two
# least calibrated.

# %%
by_class = calibration_by_class(result.y_true, result.probs, result.classes, n=5)
print(f"{int(by_class.beyond_floor.sum())} of the 5 least calibrated classes clear their floor's 95th percentile")
by_class.round(4)

# %%
for name in by_class.index[:2]:
    mine = class_calibration(result.y_true, result.probs, result.classes, name)
    ReliabilityDiagram(mine).plot(title=f"predicted as {name}: {by_class.images[name]} images, ECE {mine['ece']:.3f}");

# %% [markdown]
# **What to do about it: temperature scaling** (Guo et al., 2017). Divide the logits by one number
# T before the softmax: T > 1 softens an over-confident model, T < 1 sharpens an under-confident
# one, and since every image's ranking of the classes stays as it was, accuracy does not change. T
# is fitted on the *validation* split (it minimises the negative log-likelihood there) and judged
# on the test split, which played no part in it. It is one number for all classes: it can move the
# overall diagram, not repair single classes (the last line compares the classes above):

# %%
if predictor is not None and run.folder.test:
    val_result = predictor.evaluate(run.folder.split("val"))
    temp = temperature_report(val_result, result)
    T = temp["temperature"]
    print(f"T = {T:.3f} (fitted on {len(val_result.paths)} validation images): "
          + ("below 1, so the model was under-confident there and T sharpens it" if T < 1 else
             "above 1, so the model was over-confident there and T softens it"))
    print(f"test ECE {temp['ece_before']:.4f} -> {temp['ece_after']:.4f} (the floor's 95th percentile: "
          f"{floor['p95']:.4f}); NLL {temp['nll_before']:.4f} -> {temp['nll_after']:.4f}; accuracy "
          f"{temp['accuracy']:.4f} before and after")
    after = calibration(result.y_true, temp["probs_after"], result.classes)["per_class_ece"]
    print("per class, ECE before -> after: "
          + ", ".join(f"{c} {e:.3f} -> {after[c]:.3f}" for c, e in by_class.ece.items()))
    ReliabilityDiagram(calibration(result.y_true, temp["probs_after"], result.classes)).plot(
        title=f"after temperature scaling (T = {T:.3f}; ECE {temp['ece_after']:.3f})");

# %% [markdown]
# Read the lines above before you conclude: when the ECE was already within the floor, a change
# smaller than the gap between the floor's mean and its 95th percentile is noise, and a T close to 1 says the model
# needed little. Where
# a model *is* over-confident (deep networks trained long often are; Guo et al. found it on
# ImageNet), T above 1 is the fix, and it costs nothing in accuracy.

# %% [markdown]
# ## Which classes does scaling help?
#
# The base network of the scaling study and its compound-scaled version at phi = 2, evaluated on
# the same test images, notebook 03's test split (a is the base, b the bigger one). **QUICK MODE**: each is one seed
# trained
# 3 epochs on 200 images per class (notebook 02); notebook 03's run is wider (width 0.5 against the
# base's 0.25), trained 10 epochs on 500 images per class, hence its higher accuracy.
#
# Some classes change by chance alone, so each class gets a test. Only the images one network gets
# right and the other wrong say anything (`right_b_only`, `right_a_only`); if the two networks
# were equally good, each such image would favour either with probability 1/2. The exact McNemar
# test turns that into a p-value per class. With many classes some p-values are small by chance,
# so they are adjusted by Benjamini-Hochberg (`q_value`): calling the classes with q <= 0.05
# changed keeps the expected share of false calls among them at 5% at most. `verdict` is that call
# on recall ("no change shown" is not "no change": too few images flipped to tell).
# `f1_low`-`f1_high` is a 95% interval for the change in F1 from resampling the test images 1,000
# times (a paired percentile bootstrap). The two can disagree: F1 moves with precision too (other
# classes' images taken for this one), which the test on recall does not see, and the intervals
# are not adjusted for testing many classes. Rows are sorted by q, then by the change in F1.
# What neither covers: another training seed. They say whether *these two networks* differ on
# images like these, not whether scaling helps every time it is tried (the committed full-mode
# results of notebooks 01-02 answer that with 3 seeds per network).

# %%
if scaled:
    base_r, big_r = scaled["base"], scaled["compound phi 2"]
    comparison = compare_results(base_r, big_r, tested=True)  # images paired by path, classes by name
    print(f"QUICK MODE · accuracy {comparison['accuracy_a']:.3f} (base) -> {comparison['accuracy_b']:.3f} "
          f"(compound phi 2): {len(comparison['wrong_to_right'])} images become right, "
          f"{len(comparison['right_to_wrong'])} become wrong")
    changes = comparison["tested"]
    print("verdicts on recall (q <= 0.05):", changes.verdict.value_counts().to_dict())
    display_table = changes.drop(columns=["f1_a", "f1_b"], errors="ignore").round(3)
    for column in ("p_value", "q_value"):
        display_table[column] = [f"{v:.3f}" if v >= 0.001 else "<0.001" for v in changes[column]]
else:
    display_table = pd.DataFrame()
display_table

# %% [markdown]
# ## A static report
#
# One self-contained HTML file (every figure and thumbnail embedded) with the per-class table, the
# ordered confusion matrix, the worst classes with their confused images, label-issue candidates,
# calibration with temperature scaling, the embedding map and the comparison; it opens in any
# browser with no kernel. On the command line: `python -m effnet_lib report EVAL_DIR
# [--compare EVAL_DIR2] [--val VAL_EVAL_DIR] [--train TRAIN_EVAL_DIR] --out report.html` (the
# evaluations of the validation and training splits add temperature scaling and the label-issue
# candidates beside their nearest training images).

# %%
if eval_dir is not None:
    other_dir = None
    if scaled:
        other_dir = eval_dir.parent / "eval-compound-phi2"
        write_evaluation(scaled["compound phi 2"], other_dir)
    more = {}
    if run.folder.test:  # the validation and training splits, evaluated above
        more = {"val": run.out / "eval-val", "train": run.out / "eval-train"}
        write_evaluation(val_result, more["val"], title="val split")
        write_evaluation(train_result, more["train"], title="train split")
    print("report written to", build_report(eval_dir, eval_dir / "report.html", compare=other_dir, **more))

# %% [markdown]
# ## Exercises
#
# Answer in the cell, then run it: `exercises.check` says whether the answer is right and gives a
# hint if not; `exercises.solution(key)` shows the worked answer once you have tried. Exercise
# 05.3 asks for code: write `my_cam` below and put the function itself in the answers.

# %%
print(exercises.listing(["05.1", "05.2", "05.3", "05.4"]))

# %%
def my_cam(activations, gradients):
    """Exercise 05.3: Grad-CAM's map on the layer's grid, from one image's C x H x W tensors."""
    return None  # your code


my_answers = {"05.1": None, "05.2": None, "05.3": None, "05.4": None}  # fill in (05.3: my_cam)
for key, value in my_answers.items():
    exercises.check(key, value)

# %% [markdown]
# ## Questionnaire
#
# Answer each question in a few sentences from what this notebook shows. The teacher's version
# (`make assignments`) holds model answers.
#
# 1. Under *The same answers without the widget*, the first table lists the five weakest classes by
#    F1 and the next lists the five most confused pairs. Which class is weakest, and what do the two
#    tables together suggest about why the weak classes are weak?
# 2. Why does the explorer show a class's confusion-matrix row among its most-confused neighbours,
#    and order the whole matrix by confusion clusters, instead of drawing the full matrix in the
#    classes' own order (think of notebook 04's 400-class case)?
# 3. Grad-CAM is usually computed on the last feature map before pooling. Why does this notebook use
#    an earlier stage in quick mode, and what does it give up by doing so?
# 4. The Grad-CAM figure for the most confident mistake of the most confused pair shows one map for
#    the predicted class and one for the true class. Why can you not conclude from the colours that
#    one class's evidence is stronger than the other's, and how should you read heat that falls on
#    the black background?
# 5. What is the difference between a model error and a label error, and how does confident
#    learning's *normalised margin* rank the images to check? On Fashion-MNIST, what should you
#    expect to find at the top of that list?
# 6. For the first label-issue candidate, the notebook shows its nearest training images in the
#    given class and in the believed class, with the cosine distance `d` of the pooled features. Why
#    can these distances not decide whether the label is wrong, and what does decide it?
# 7. The overlapping-classes table and the top-pairs table both count images of one class assigned
#    to another, but their counts differ. How is the overlapping-classes table counted, and what
#    does a pair that is large in both directions suggest?
# 8. What is the expected calibration error (ECE), why is it never exactly zero even for a perfectly
#    calibrated model, and what did the printed line under *Can its confidence be trusted?* conclude
#    about this model overall?
# 9. What does temperature scaling do, why does it leave the accuracy unchanged, and why should you
#    not read much into the before/after lines it prints for this quick-mode model?
# 10. The last table compares the base network with its compound-scaled version at φ = 2, class by
#    class. Did scaling help every class? What does the verdict "no change shown" mean, and what
#    question can neither the verdicts nor the F1 intervals answer?

# %% [markdown]
# ## Further research
#
# Open questions for a discussion in class or a short essay: no single answer is right.
#
# 1. Tan & Le judge compound scaling by one number, top-1 accuracy against FLOPs, averaged over all
#    classes. This notebook's comparison shows a bigger network that gains on some classes and loses
#    on others. Should a scaling strategy also be judged class by class, and what could a per-class
#    view add to the choice of which dimension to grow (width, depth or resolution), next to the
#    cost measures, such as activations and run time, that Dollár et al. argue for?
#    *Reading:* [EfficientNet: Rethinking Model Scaling for Convolutional Neural
#    Networks](https://arxiv.org/abs/1905.11946) (Tan & Le, 2019); [Fast and Accurate Model
#    Scaling](https://arxiv.org/abs/2103.06877) (Dollár, Singh & Girshick, 2021)
# 2. Both networks compared here share one short recipe, whatever their size and input resolution,
#    and each is a single seed. Bello et al. argue that much of what is credited to architecture
#    comes from training and scaling strategies, and EfficientNetV2 adapts the regularisation to the
#    image size. How would you design the comparison so that a per-class verdict says something
#    about scaling itself rather than about the recipe or the seed, and what would it cost?
#    *Reading:* [Revisiting ResNets: Improved Training and Scaling
#    Strategies](https://arxiv.org/abs/2103.07579) (Bello et al., 2021); [EfficientNetV2: Smaller
#    Models and Faster Training](https://arxiv.org/abs/2104.00298) (Tan & Le, 2021)
# 3. Confident learning flags label errors from the model's own probabilities, through class
#    thresholds and margins, and Northcutt et al. found label errors in the test sets of widely used
#    benchmarks. How far should a label-error hunt trust a model whose calibration has not been
#    checked, would temperature scaling change which images get flagged, and when, if ever, is it
#    acceptable to relabel a test set?
#    *Reading:* [Confident Learning: Estimating Uncertainty in Dataset
#    Labels](https://arxiv.org/abs/1911.00068) (Northcutt et al., 2021); [Pervasive Label Errors in
#    Test Sets Destabilize Machine Learning Benchmarks](https://arxiv.org/abs/2103.14749) (Northcutt
#    et al., 2021); [On Calibration of Modern Neural Networks](https://arxiv.org/abs/1706.04599)
#    (Guo et al., 2017)
