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
# # 01 · Scaling one dimension at a time: width, depth, resolution
#
# **Learning goals.** After this notebook you can
# 1. say what width, depth and resolution scaling each do to an EfficientNet, and what each costs
#    in multiply-adds (MACs), measured rather than assumed,
# 2. reproduce the paper's Fig. 3 (accuracy against cost for each dimension scaled alone) on a
#    small base, and read from it whether and where each dimension stops paying off,
# 3. hold each of the paper's three intuitions (depth, width, resolution) against a measured curve,
# 4. judge a difference by its spread over seeds, and tell an effect of the architecture from an
#    effect of the training recipe.
#
# **Two kinds of numbers.** *Full mode*: the committed results in `data/results/scaling_full.csv`
# (every config trained with 3 seeds; the cell that loads them prints the command, commits,
# device and dates). *Quick mode*: a live run at the end, labelled QUICK MODE, on 200 training
# images per class (2,000, against full mode's 5,000) for 3 epochs with one seed: minutes on a
# laptop CPU, enough to see the mechanics; with one seed it can decide no claim (there is no spread
# to judge a difference by).
#
# **The regime.** B0 at width 0.25 and depth 0.34 (10 blocks), 32 px, on the built-in
# Fashion-MNIST subset (10 classes of clothing, 5,000 training images), trained 6 epochs with the
# `short` recipe. It was chosen by measurement among several candidates (texture patches, other
# crops, recipes and initialisations); the pilots and why each choice was made are in
# [`data/results/REGIME.md`](../data/results/REGIME.md).

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd

from effnet_lib import exercises
from effnet_lib import scaling_analysis as analysis
from effnet_lib import scaling_study as study
from effnet_lib.executors import open_executor
from effnet_lib.fashion import CLASSES
from effnet_lib.model import stage_table
from effnet_lib.plots import ScalingCurves

pd.set_option("display.max_colwidth", None)
CHANCE = 1 / len(CLASSES)
base = study.BASE
print(f"base: width {base.width}, depth {base.depth}, {base.image_size} px, data '{base.data}', "
      f"recipe '{base.recipe}', batch {base.batch_size}")
pd.DataFrame(stage_table(base.width, base.depth, base.image_size))

# %% [markdown]
# ## What each dimension costs
#
# The rule of thumb (notebook 00): FLOPs grow linearly with depth and with the square of width and
# of resolution. Measured on this base the rule bends, for three reasons:
# - **channels round** to multiples of 8 and a quarter of B0's 16 channels becomes 8, so a nominal
#   width step may change some layers and not others, and the depthwise convolutions grow only
#   linearly with width (one filter per channel);
# - **layer counts round up**, so depth moves in jumps (depth 0.34 and 0.5 build the same 10 blocks);
# - **small maps round up too**: at 32 px the last stages work on 2×2 and 1×1 maps, and 33 px
#   already gives them 3×3 and 2×2 (a stride-2 layer rounds the half up), so resolution's cost
#   jumps at first and then grows smoothly.
#
# So the single-dimension points of the study are not chosen by nominal factor: each is the width,
# depth or resolution whose *measured* MACs come nearest to those of a compound network of
# notebook 02, so that every comparison there is at equal cost. The costs, before any training:

# %%
study.costs(study.FULL).round(2)

# %% [markdown]
# ## Full mode: the committed results
#
# Every row of the table is one training run; the provenance says how the table was made.

# %%
full, how = study.load_results()
print(how["command"])
pd.Series(how).drop("command").to_frame("full-mode results")

# %% [markdown]
# ### Fig. 3: each dimension alone
#
# Mean test accuracy over the seeds with one standard deviation as error bars, against measured
# MACs relative to the base (log scale, so each step right is a doubling). In the paper all three
# curves rise and flatten near 80% on ImageNet.

# %%
curves = {dim: analysis.dimension_curve(full, dim) for dim in ("width", "depth", "resolution")}
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True, layout="constrained")
for ax, (dim, curve) in zip(axes, curves.items()):
    ScalingCurves({f"full mode, {len(how['seeds'])} seeds": curve}, label=dim, chance=CHANCE).plot(
        ax=ax, title=f"scale {dim} alone")

# %% [markdown]
# ### Where each dimension stops paying off
#
# Accuracy points gained per doubling of measured MACs, step by step from the base upwards, each
# with its standard error over seeds. The paper's observation is that this gain shrinks as the
# network grows: bigger is better, with diminishing returns. One rule decides every verdict in
# these notebooks: a difference counts when it exceeds twice its standard error.

# %%
pd.concat({dim: analysis.gain_per_doubling(curve) for dim, curve in curves.items()}).round(2)

# %% [markdown]
# ### The paper's claims, checked against these results
#
# Each row states a claim of section 3.2, what the committed table measures and whether the claim
# holds here by the rule (`None`: the table cannot decide).

# %%
claims = analysis.paper_claims(full[full.experiment == "single_dimension"])
claims

# %% [markdown]
# ## The three intuitions, held against the curves
#
# The paper explains each dimension with an intuition. Each is a statement about a curve above.
#
# **Depth**: a deeper network captures richer, more complex features and generalises better, but is
# harder to train (vanishing gradients); the gain of very deep networks diminishes. Both halves are
# visible in this workbook. In its first version (SGD at 0.01, residual blocks initialised like any
# other layer), depth *lowered* accuracy at every budget tried: the extra blocks were hard to train
# in a few epochs. With residual blocks that start as the identity (their last BatchNorm scaled by
# zero) a deeper network starts out computing what the shallower one does, and depth no longer
# hurts (the pilots that show the difference are in `data/results/REGIME.md`). But in the full-mode
# table it does not pay either: no depth point is more than two standard errors above the base.
# The first half of the intuition, harder to train, is what this workbook measured; the second,
# richer features, needs maps with room for them, and here the last stages work on 2×2 and 1×1
# maps. Note also how much depth it takes to add cost: a block on a 1×1 map costs little, so the
# depth line needs several times more blocks to reach the same MACs as the other lines.
#
# **Width**: a wider network captures finer-grained features and is easier to train, but a wide,
# shallow network struggles to capture higher-level features, so accuracy saturates quickly. Here
# it saturates before it starts: no width point is more than two standard errors from the base,
# with 5,000 training images and 6 epochs (notebook 02 gives the measured reasons).
#
# **Resolution**: a higher-resolution input lets the network see finer patterns, with diminishing
# returns. Fashion-MNIST's photos are 28 px, so above 32 px there is no finer pattern to see: what
# grows is the size of the feature maps the later stages work on (notebook 00, section 8). This is
# the dimension that behaves as in the paper here: its first step pays by more than two standard
# errors, and after it the curve is flat.
#
# What the table says about each, in numbers (the rows of the claims table for that dimension):

# %%
for dim in ("depth", "width", "resolution"):
    print(f"{dim.upper()}")
    for row in claims[claims.claim.str.contains(f" {dim} ")].itertuples():
        verdict = {True: "holds", False: "does not hold", None: "undecided"}[row.holds]
        print(f"  {row.claim}: {verdict}\n      {row.measured}")

# %% [markdown]
# ## Quick mode, live
#
# The same experiment at quick-mode size, trained here (finished configs are cached under
# `runs/experiments`, so a second run of this cell reads them back at once). **QUICK MODE** trains
# 200 images per class (2,000 in all) for 3 epochs with one seed: it shows how the curves are made,
# not whether a claim holds. Edit `study.QUICK` with `dataclasses.replace` to try other points.
# The networks train side by side, one per CPU core, each on one thread: the results are identical
# to training them one after another.

# %%
with open_executor("local", jobs=os.cpu_count() or 1) as pool:
    quick = study.run("quick", only=["single_dimension"], executor=pool)
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True, layout="constrained")
for ax, dim in zip(axes, ("width", "depth", "resolution")):
    ScalingCurves({"QUICK MODE (3 epochs, 1 seed)": analysis.dimension_curve(quick, dim)}, label=dim,
                  chance=CHANCE).plot(ax=ax, title=f"QUICK MODE · scale {dim} alone")

# %%
quick[["width", "depth", "resolution", "epochs", "seed", "params", "macs_ratio", "val_acc", "test_acc",
       "train_seconds"]].round(3)

# %% [markdown]
# ## Exercises
#
# Answer in the cell, then run it: `exercises.check` says whether the answer is right and gives a
# hint if not; `exercises.solution(key)` shows the worked answer once you have tried.

# %%
print(exercises.listing(["01.1", "01.2", "01.3"]))

# %%
my_answers = {"01.1": None, "01.2": None, "01.3": None}  # fill in
for key, value in my_answers.items():
    exercises.check(key, value)
