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
# 2. read a class's row of the confusion matrix among its most-confused neighbours,
# 3. look at the confused images themselves, most confident mistakes first,
# 4. use Grad-CAM to see where the model looked for the predicted and for the true class.
#
# **Quick mode (default).** It explores the quick-mode run of notebook 03 (the built-in textures,
# a small model trained for minutes); the marked cell switches to your own run or to any
# predictions CSV. The explorer only reads results: it never trains.

# %%
from effnet_lib import exercises
from effnet_lib.errors import ErrorAnalysis
from effnet_lib.explorer import ConfusionExplorer
from effnet_lib.predict import EvalResult, Predictor
from effnet_lib.train import train_or_load
from effnet_lib.workbook import full_training_config, quick_training_config

# %% [markdown]
# ▶ **Switch to your own results here**: `MY_DATA` as in notebook 03, or `PREDICTIONS_CSV` for
# the predictions of any model (columns `path, true, pred_1, prob_1, ...`; Grad-CAM then needs
# the checkpoint too).

# %%
MY_DATA = None  # e.g. "/data/birds-400"
PREDICTIONS_CSV = None  # e.g. "runs/birds/eval-test/predictions.csv"

if PREDICTIONS_CSV:
    result, predictor = EvalResult.load(PREDICTIONS_CSV), None
else:
    config = full_training_config(MY_DATA, name="my-data") if MY_DATA else quick_training_config("notebook-quick")
    run = train_or_load(config)  # reads the finished run back (trains only if it is missing)
    predictor = Predictor.from_checkpoint(run.best)
    split = "test" if run.folder.test else "val"
    result = predictor.evaluate(run.folder.split(split))
    print(f"{'QUICK MODE · ' if config.quick else ''}{len(result.paths)} {split} images, {len(result.classes)} classes")

# %% [markdown]
# ## The explorer
#
# Type in *search* to filter the classes, pick one in the list (sorted worst first by the chosen
# metric), switch the normalisation, choose a confused pair to see its images, pick one of them
# and press *Grad-CAM*. *Save view as PNG* writes what you see for a handout.

# %%
explorer = ConfusionExplorer(result, predictor)
explorer

# %% [markdown]
# ## The same answers without the widget
#
# Every panel is a call to `ErrorAnalysis`; use it directly for reports.

# %%
analysis = ErrorAnalysis(result)
analysis.class_table("f1").head(5).round(3)

# %%
analysis.top_pairs(5)

# %% [markdown]
# ## Exercises

# %%
for key in ["05.1", "05.2"]:
    print(key, exercises.question(key))

# %%
my_answers = {"05.1": None, "05.2": None}  # fill in
for key, value in my_answers.items():
    exercises.check(key, value)
