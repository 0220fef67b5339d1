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
from effnet_lib.evaluation import batch_test, write_evaluation
from effnet_lib.metrics import top_confusions
from effnet_lib.plots import ConfusionHeatmap, PredictionGallery
from effnet_lib.predict import Predictor
from effnet_lib.presets import full_training_config, quick_training_config, quick_mode_timing
from effnet_lib.train import train_or_load

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
#   common classes, and equal the macro ones when every class has as many images (exercise 04.3);
# - **top-5 accuracy** counts an image as right when its true class is among the five classes the
#   model finds most likely: with 400 similar species it says whether the model is close, where
#   top-1 says whether it is exact. It needs more than 5 classes, and says little with few: on
#   the built-in set's 10 classes, guessing five at random already scores 0.5.
#
# The test accuracy differs from the validation accuracy of `best.pt` for two reasons: that epoch
# was *chosen* for its validation score, which makes the score slightly optimistic, and each is
# measured on a finite set of images, so each carries a standard error (printed under the table).
# The test split played no part in any choice, so its number is the fair estimate.

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
# Specificity is TN / (TN + FP): how rarely the model says "this class" for images of other
# classes. With many classes it is close to 1 for every class (most images are negatives), so it
# separates classes less than precision and recall do.

# %% [markdown]
# ## Confusion matrix
#
# Rows are the true class, columns the prediction. Normalised by the true class, each row shows
# where that class's images go. With hundreds of classes the heatmap is cut to the classes with
# the most errors (`max_classes`).

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
# one batch and saved the results. Here: the first class of this dataset.

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
