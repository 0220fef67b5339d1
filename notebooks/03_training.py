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
# # 03 · Training EfficientNet on a folder of images
#
# **Learning goals.** After this notebook you can
# 1. point the workbook at a folder of images in either layout (`train/ val/ test/`, or one folder
#    of class subfolders split 80/20 per class with a saved manifest),
# 2. name what the *seed* recipe (the practitioner's B0 experiment) and the *paper* recipe do,
# 3. read training curves, and know what a run folder holds and how `resume` continues it.
#
# **Quick mode (default).** On the built-in texture set, a small EfficientNet (width 0.5,
# depth 0.34 of B0) at 64 px for a few epochs: a couple of minutes on a laptop CPU. Its numbers are
# quick-mode numbers, not the reference experiment's. The marked cell below switches to your own
# folder and the full settings (B0, 224 px, 30 epochs; use a GPU).

# %%
from dataclasses import asdict

import pandas as pd

from effnet_lib import exercises
from effnet_lib.data import load_image
from effnet_lib.plots import PredictionGallery, TrainingCurves
from effnet_lib.train import RECIPES, dataset_for, train_or_load
from effnet_lib.workbook import full_training_config, quick_training_config

# %% [markdown]
# ## Choose the data and the settings
#
# ▶ **Switch to your own data here.** Set `MY_DATA` to a folder, e.g. the BIRDS-400 download
# (the folder that holds `train/ valid/ test/`), or any folder of class subfolders.

# %%
MY_DATA = None  # e.g. "/data/birds-400"

if MY_DATA:
    config = full_training_config(MY_DATA, name="my-data")  # B0, 224 px, seed recipe, 30 epochs
else:
    config = quick_training_config("notebook-quick")  # QUICK MODE: built-in textures, 64 px
pd.Series(asdict(config)).to_frame("setting")

# %% [markdown]
# ## The data
#
# The built-in set is cut from photographs bundled with scikit-image: 12 classes of materials and
# photos (not species), train/val/test taken from disjoint regions of each photo; see
# `data/BUILTIN.md`. A user's folder goes through exactly the same code.

# %%
folder, transforms = dataset_for(config)
print(folder.summary())
if folder.manifest:
    print("split manifest (reused by later runs):", folder.manifest)
folder.counts().head(12)

# %%
examples = folder.examples("train")[:12]
PredictionGallery([load_image(p, 128).permute(1, 2, 0) for p, _ in examples],
                  [folder.classes[k] for _, k in examples]).plot(ncols=6);

# %% [markdown]
# What the network sees in training: random resized crops and flips of one image (top) and the
# deterministic evaluation view (bottom left), at the run's resolution.

# %%
import torch

image = load_image(examples[0][0], transforms.working_size)
torch.manual_seed(0)
views = [transforms.train()(image) for _ in range(5)] + [transforms.eval()(image)]
PredictionGallery([transforms.to_image(v) for v in views], ["train view"] * 5 + ["eval view"]).plot(ncols=6);

# %% [markdown]
# ## The recipes
#
# `seed` is the practitioner's experiment (SGD 0.01, momentum 0.9, weight decay 1e-4, cosine
# annealing, BatchNorm eps 1e-3 momentum 0.1, dropout 0.2). `paper` is the EfficientNet paper's
# ImageNet recipe (RMSProp, lr 0.256 per 4096 images, ×0.97 every 2.4 epochs, AutoAugment,
# stochastic depth, EMA). Quick mode uses `seed` unchanged.

# %%
pd.DataFrame({name: asdict(r) for name, r in RECIPES.items()})

# %% [markdown]
# ## Train
#
# Progress bars show loss, accuracy and images per second. If the run folder already holds a
# finished run of this exact config, it is read back instead of trained again; a half-finished
# one is resumed (the same as `python -m effnet_lib train --resume`).

# %%
run = train_or_load(config)
print("run folder:", run.out)
run.history_frame().round(3)

# %%
TrainingCurves(run.history).plot(title=f"{'QUICK MODE · ' if config.quick else ''}training curves");

# %% [markdown]
# The run folder holds everything needed to continue or inspect the run:

# %%
sorted(p.name for p in run.out.iterdir())

# %% [markdown]
# ## Exercises

# %%
for key in ["03.1", "03.2"]:
    print(key, exercises.question(key))

# %%
my_answers = {"03.1": None, "03.2": None}  # fill in
for key, value in my_answers.items():
    exercises.check(key, value)
