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
# 2. reproduce the paper's Fig. 3 (accuracy against FLOPs for each dimension scaled alone) on a
#    small base, and read from it where each dimension stops paying off,
# 3. tell an effect of the architecture from an effect of the training budget, and say where this
#    data does not show what the paper shows.
#
# **Two kinds of numbers.** *Full mode*: the committed results in `data/results/scaling_full.csv`
# (15 epochs per config, 3 seeds, made by `python -m effnet_lib scaling --mode full`; the cell that
# loads them prints the command, commit, device and date). *Quick mode*: a live run at the end
# (4 epochs, one seed, three points per dimension), labelled QUICK MODE: a couple of minutes on a
# laptop CPU, enough to see the mechanics, not to draw conclusions.
#
# **The base.** B0 at width 0.25 and depth 0.34, 48 px, on the built-in texture set (12 classes);
# small enough that one config trains in well under a minute on 2 CPU cores.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from effnet_lib import exercises
from effnet_lib import scaling_study as S
from effnet_lib.builtin import CLASSES
from effnet_lib.model import stage_table
from effnet_lib.plots import ScalingCurves

pd.set_option("display.max_colwidth", None)
CHANCE = 1 / len(CLASSES)
pd.DataFrame(stage_table(S.BASE.width, S.BASE.depth, S.BASE.resolution))

# %% [markdown]
# ## What each dimension costs
#
# The paper's rule of thumb: FLOPs grow linearly with depth and with the square of width and of
# resolution. Measured on this base (before training anything), the rule bends: channels round to
# multiples of 8 (a quarter of B0's 16 channels would be 4, so it becomes 8), layer counts round up
# (depth 0.34 and 0.5 give the same 10 blocks), and the fixed stem and head weigh more in a tiny
# network. `measured_factor` is what the curves below use.

# %%
S.costs(S.FULL).round(2)

# %% [markdown]
# ## Full mode: the committed results
#
# Every row of the table is one training run; the provenance says how the table was made.

# %%
full, how = S.load_results()
print(how["command"])
pd.Series(how).drop("command").to_frame("full-mode results")

# %% [markdown]
# ### Fig. 3: each dimension alone
#
# Mean test accuracy over the seeds with one standard deviation as error bars, against measured
# MACs relative to the base (log scale, so each step right is a doubling). In the paper all three
# curves rise and flatten near 80% on ImageNet.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True, layout="constrained")
for ax, dim in zip(axes, ("width", "depth", "resolution")):
    ScalingCurves({f"full mode, {len(how['seeds'])} seeds": S.dimension_curve(full, dim)},
                  label=dim, chance=CHANCE).plot(ax=ax, title=f"scale {dim} alone")

# %% [markdown]
# ### Where each dimension saturates
#
# Accuracy points gained per doubling of measured MACs, step by step from the base upwards. The
# paper's observation is that this gain shrinks as the network grows: bigger is better, with
# diminishing returns.

# %%
pd.concat({dim: S.gain_per_doubling(S.dimension_curve(full, dim)) for dim in ("width", "depth", "resolution")}).round(2)

# %% [markdown]
# ### The paper's claims, checked against these results
#
# Each row states a claim of section 3.2, what the committed table measures, and whether the claim
# holds here. A difference counts only when it is more than twice its standard error over seeds.
# Where a claim fails, the numbers say by how much: the built-in textures are not ImageNet, the
# networks are tiny and every config gets the same short budget.

# %%
S.paper_claims(full[full.experiment.isin(["single_dimension", "depth_budget"])])

# %% [markdown]
# ### Depth and the training budget
#
# Deeper networks have more layers for the gradient to pass through and learn more slowly: at a
# fixed short budget, depth can look useless or harmful although it is not. The full mode trains
# the base and one deep config again with three times the epochs; the last claim above compares
# the gap between them at both budgets.

# %%
budget = S.depth_budget_table(full)
budget[["depth", "epochs", "macs_ratio", "test_mean", "test_std", "seeds"]].round(3)

# %% [markdown]
# ## Quick mode, live
#
# The same experiment at quick-mode size, trained here (finished configs are cached under
# `runs/experiments`, so a second run of this cell reads them back at once). Edit `S.QUICK`'s
# fields with `dataclasses.replace` to try other points.

# %%
quick = S.run("quick", only=["single_dimension"])
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True, layout="constrained")
for ax, dim in zip(axes, ("width", "depth", "resolution")):
    ScalingCurves({"QUICK MODE (4 epochs, 1 seed)": S.dimension_curve(quick, dim)}, label=dim,
                  chance=CHANCE).plot(ax=ax, title=f"QUICK MODE · scale {dim} alone")

# %%
quick[["width", "depth", "resolution", "epochs", "seed", "params", "macs_ratio", "val_acc", "test_acc",
       "train_seconds"]].round(3)

# %% [markdown]
# ## Exercises
#
# Answer in the cell, then run it: `exercises.check` compares your answer with the library's.

# %%
for key in ["01.1", "01.2", "01.3"]:
    print(key, exercises.question(key))

# %%
my_answers = {"01.1": None, "01.2": None, "01.3": None}  # fill in
for key, value in my_answers.items():
    exercises.check(key, value)
