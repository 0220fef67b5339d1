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
# # 04 · Evaluating a trained EfficientNet: where does it go wrong?
#
# **Learning goals.** After this notebook you can
# 1. compute and read per-class precision, recall, specificity, F1 and support, and the overall
#    accuracy, macro/weighted averages and top-5 accuracy,
# 2. read a confusion matrix in counts and normalised by true class, and cut a large one (400
#    classes) to its most-confused classes,
# 3. reproduce the reference batch test: five images of one class predicted in one batch, with
#    the results saved.
#
# **Quick mode (default).** It evaluates the quick-mode run of notebook 03 (trained here if it is
# not there yet), so the numbers are those of a small model trained for minutes on the built-in
# Fashion-MNIST subset. The marked cell switches to your own run.

# %%
import pandas as pd

from effnet_lib import exercises
from effnet_lib.display import ConfusionHeatmap, PredictionGallery, batch_test, write_evaluation
from effnet_lib.evaluation import Predictor, top_confusions
from effnet_lib.training import full_training_config, quick_mode_timing, quick_training_config, train_or_load

print(quick_mode_timing("04_evaluation"))
pd.set_option("display.max_colwidth", None)

# %% [markdown]
# ▶ **Switch to your own run here**: the same `MY_DATA` as in notebook 03 (its finished run is
# found by its config), or set `config` to any `TrainConfig` you trained.

# %%
MY_DATA = None  # e.g. "/data/birds-400"

config = full_training_config(MY_DATA, name="my-data") if MY_DATA else quick_training_config("notebook-quick")
run = train_or_load(config, progress=False)  # reads the finished run back; trains only if it is missing
predictor = Predictor.from_checkpoint(run.best)
split = "test" if run.folder.test else "val"
print(f"{'QUICK MODE · ' if config.quick else ''}evaluating {run.best} on the {split} split "
      f"({len(run.folder.split(split))} images)")

# %% [markdown]
# ## Predictions and metrics
#
# `evaluate` predicts every image of the split; `write_evaluation` saves the predictions, the
# per-class table, the summary and the confusion-matrix figures into the run folder.
#
# Three summaries in the table below need a word first:
# - **macro** averages give every class the same weight: the mean of the per-class precisions,
#   recalls, F1 scores, so a rare class counts as much as a common one;
# - **weighted** averages weigh each class by its support (its number of images): they follow the
#   common classes, and equal the macro ones when every class has as many images (exercise 04.3
#   shows how far apart they fall when the classes are unbalanced);
# - **top-5 accuracy** counts an image as right when its true class is among the five classes the
#   model finds most likely: with 400 similar species it says whether the model is close, where
#   top-1 says whether it is exact. It needs more than 5 classes, and says little with few: on
#   the built-in set's 10 classes, guessing five at random already scores 0.5.
#
# The test accuracy differs from the validation accuracy of `best.pt` for two reasons: that epoch
# was *chosen* for its validation score, which makes the score slightly optimistic, and each is
# measured on a finite set of images, so each carries a standard error (printed under the table).
# The test split played no part in any choice, so its number is the fair estimate. (A folder
# without a test split is evaluated on its validation split; then both lines use the same images,
# and neither is a fair estimate.)

# %%
result = predictor.evaluate(run.folder.split(split))
report = write_evaluation(result, run.out / f"eval-{split}", title=f"{split} split")
history = run.history_frame()
best = history.loc[history.val_acc.idxmax()]
for name, acc, n in (("validation (best.pt's epoch)", best.val_acc, len(run.folder.split("val"))),
                     (f"{split} (this evaluation)", report.summary["accuracy"], len(result.paths))):
    print(f"{name}: accuracy {acc:.3f} ± {(acc * (1 - acc) / n) ** 0.5:.3f} (SE over {n} images)")
pd.Series(report.summary, dtype=object).to_frame("value")

# %%
report.per_class.sort_values("f1").round(3)

# %% [markdown]
# Specificity is TN / (TN + FP): the share of the other classes' images that the model does *not*
# call "this class". With many classes it is close to 1 for every class (most images are negatives), so it
# separates classes less than precision and recall do.

# %% [markdown]
# ## Confusion matrix
#
# Rows are the true class, columns the prediction. Normalised by the true class, each row shows
# where that class's images go. With hundreds of classes the heatmap is cut to the classes with
# the most errors (`max_classes`), counting a class's errors both as the true class and as the
# prediction.

# %%
ConfusionHeatmap(report.confusion, report.classes).plot();

# %%
ConfusionHeatmap(report.confusion, report.classes, normalize="true").plot();

# %% [markdown]
# The same matrix cut as a 400-class one would be, to the classes with the most errors (here 5 of
# 10, so that the cut shows):

# %%
ConfusionHeatmap(report.confusion, report.classes, max_classes=5).plot();

# %%
top_confusions(report.confusion, report.classes, n=10)

# %% [markdown]
# ## The batch test: five images of one class in one batch
#
# The reference experiment predicted five test images of its first class ("ABBOTTS BABBLER") in
# one batch and saved the results. Here: the first class of this dataset in alphabetical order (the
# class with label 0).

# %%
five = [p for p, y in run.folder.split(split) if y == 0][:5]
table = batch_test(predictor, five, run.classes[0], run.out)
print("saved to", run.out / "batch_test.csv", "and", run.out / "batch_test.png")
table

# %%
PredictionGallery.from_predictions(table).plot();

# %% [markdown]
# ## Exercises

# %%
print(exercises.listing(["04.1", "04.2", "04.3"]))

# %%
my_answers = {"04.1": None, "04.2": None, "04.3": None}  # fill in
for key, value in my_answers.items():
    exercises.check(key, value)

# %% [markdown]
# ## Questionnaire
#
# Answer each question in a few sentences from what this notebook shows. The teacher's version
# (`make assignments`) holds model answers.
#
# 1. For one class, what do its *precision*, its *recall* and its *support* measure?
# 2. What is specificity, and why does the notebook say it separates the classes less than precision
#    and recall do?
# 3. How do macro and weighted averages differ, and why are they the same in the summary table of
#    this notebook?
# 4. What does top-5 accuracy count, and why does it say little about the quick-mode model?
# 5. Under the summary table the notebook prints two accuracies with a ± standard error: one for the
#    validation split at `best.pt`'s epoch and one for the evaluated split. Why do they differ, and
#    which one is the fair estimate?
# 6. In this notebook's confusion matrix, what do the rows and the columns stand for, and what does
#    a row of the matrix *normalised by true class* tell you?
# 7. Look at the normalised confusion matrix and the `top_confusions` table of the quick-mode run.
#    Which kinds of classes does the model mix up most, and what does that suggest about its errors?
# 8. Why would a heatmap of a full 400-class confusion matrix be hard to use, and what does the
#    notebook do about it?
# 9. What is the reference batch test, and what does this notebook save when it reproduces it?
# 10. The gallery under the batch test shows each image with its top prediction and confidence,
#    coloured green when right and red when wrong. Why does this test say much less about the model
#    than the evaluation of the whole split earlier in the notebook?

# %% [markdown]
# ## Further research
#
# Open questions for a discussion in class or a short essay: no single answer is right.
#
# 1. The EfficientNet paper compares networks by one top-1 and one top-5 accuracy on ImageNet, and
#    later work argues that differences between architectures are often smaller than those due to
#    training recipes. Using the per-class tables, confusion matrices and standard errors of this
#    notebook, what does a single accuracy number hide, and how large must a difference between two
#    models be before you would believe it?
#    *Reading:* [EfficientNet: Rethinking Model Scaling for Convolutional Neural
#    Networks](https://arxiv.org/abs/1905.11946) (Tan & Le, 2019); [Revisiting ResNets: Improved
#    Training and Scaling Strategies](https://arxiv.org/abs/2103.07579) (Bello et al., 2021);
#    [Pervasive Label Errors in Test Sets Destabilize Machine Learning
#    Benchmarks](https://arxiv.org/abs/2103.14749) (Northcutt et al., 2021)
# 2. The quick-mode model confuses shirts, T-shirts, pullovers and coats far more than other
#    classes. How would you decide whether these are errors of the model, genuinely ambiguous
#    images, or wrong labels in the data set, and what would each answer mean for how you should
#    train or evaluate?
#    *Reading:* [Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
#    Algorithms](https://arxiv.org/abs/1708.07747) (Xiao et al., 2017); [Confident Learning:
#    Estimating Uncertainty in Dataset Labels](https://arxiv.org/abs/1911.00068) (Northcutt et al.,
#    2021); [Pervasive Label Errors in Test Sets Destabilize Machine Learning
#    Benchmarks](https://arxiv.org/abs/2103.14749) (Northcutt et al., 2021)
# 3. The batch-test gallery prints a confidence beside each prediction, and some wrong predictions
#    can come with a high one. When could you trust such a number as a probability, and would a
#    larger, better-scaled network (as in EfficientNet's family) be expected to make it more or less
#    trustworthy?
#    *Reading:* [On Calibration of Modern Neural Networks](https://arxiv.org/abs/1706.04599) (Guo et
#    al., 2017); [EfficientNet: Rethinking Model Scaling for Convolutional Neural
#    Networks](https://arxiv.org/abs/1905.11946) (Tan & Le, 2019)
