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
# 1. state the paper's first observation about scaling and read the published evidence for it,
# 2. say what width, depth and resolution scaling each cost in multiply-adds (MACs), measured
#    rather than assumed,
# 3. reproduce the paper's Fig. 3 on a small base and decide, by a stated rule, which dimension pays,
# 4. find the cause when a dimension does not pay, by an experiment that changes only that cause.
#
# **How this notebook works.** It follows one question from claim to cause: the paper's claim, the
# evidence the paper publishes, *your* prediction, the experiment, what it shows by the rule, and
# why. The results you judge are the *full-mode* ones committed in `data/results/` (3 seeds per
# network, with the command, commit, device and dates that made them). A *quick-mode* run at the
# end, labelled QUICK MODE, trains the same kind of curve live in a few minutes with one seed: it
# shows how the curves are made and can decide nothing.

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from effnet_lib import exercises
from effnet_lib.data import fashion
from effnet_lib.display import DIMENSION_COLOURS, GainOverBase, ScalingCurves
from effnet_lib.model import stage_table, zoo
from effnet_lib.study import open_executor, scaling_claims, scaling_results
from effnet_lib.study import scaling_analysis as analysis
from effnet_lib.study import scaling_study as study
from effnet_lib.training import quick_mode_timing

sns.set_theme(style="whitegrid", context="notebook")
pd.set_option("display.max_colwidth", None)
CHANCE = 1 / len(fashion.CLASSES)
print(quick_mode_timing("01_single_dimension_scaling"))

# %% [markdown]
# ## 1. The claim
#
# Section 3.2 of the paper, *Observation 1*: scaling up any one dimension of a network, its width
# (channels per layer), its depth (layers) or its input resolution, improves accuracy, but the gain
# diminishes as the network gets bigger. The paper's intuitions: a deeper network captures richer,
# more complex features but is harder to train; a wider one captures finer-grained features and is
# easier to train but saturates quickly when it stays shallow; a higher resolution shows finer
# patterns, with diminishing returns.
#
# ## 2. The published evidence
#
# The paper's Table 3 scales three other networks, one dimension at a time and all three together,
# to about four times their FLOPs, and reports ImageNet top-1 accuracy. The gain over each baseline:

# %%
table3 = zoo.paper_table3()
print(zoo.TABLE3_SOURCE)
ax = sns.barplot(data=table3[table3.scaled_by != "baseline"], x="network", y="gain", hue="scaled_by",
                 hue_order=["width", "depth", "resolution", "compound"], palette=DIMENSION_COLOURS)
ax.set(ylabel="top-1 points over the baseline (ImageNet)", xlabel="",
       title="Paper, Table 3: each network scaled to about 4x its FLOPs")
ax.legend(title="scaled by", fontsize=8);

# %%
single = table3[~table3.scaled_by.isin(["baseline", "compound"])]
print(f"single dimensions: {single.gain.min():+.1f} to {single.gain.max():+.1f} points; every network has one "
      f"run per row (no seeds, no error bars)")
table3.round(2)

# %% [markdown]
# On ImageNet every single dimension gains at about four times the FLOPs (MobileNetV1 has no
# depth row), and compound scaling gains more than any one of them for every network; that second
# part is notebook 02's subject. These are single runs: the paper gives no spread, so this
# notebook's rule (below) cannot be applied to them, and a gain of a point could be noise.
# ImageNet models see 224 px photos of a thousand classes, trained for hundreds of epochs. Does the first part hold for
# a network small enough to train here?
#
# ## 3. Your prediction
#
# The base network of this notebook is B0 at a quarter of its width and a third of its depth (10
# blocks), at 32 px, trained 6 epochs on 5,000 Fashion-MNIST images (10 classes of clothing, photos
# of 28 px) with the `short` recipe (SGD at lr 0.05 after a one-epoch warm-up, cosine annealing,
# no dropout; notebook 03 lists every recipe). Its last stages work on 2x2 and 1x1 feature maps. Before you look at any
# result, write
# down how many accuracy points (test set) you expect each dimension to gain when it alone makes the
# network cost about 2.3 times the base's MACs, and why.

# %%
my_prediction = {"width": None, "depth": None, "resolution": None}  # points gained at about 2.3x the MACs
my_reason = ""

# %% [markdown]
# ## 4. The experiment
#
# ### What each dimension costs
#
# Notebook 00's rule of thumb: FLOPs grow linearly with depth and with the square of width and of
# resolution. On a network this small the rule bends: channels round to multiples of 8, layer
# counts round up (depth 0.34 and 0.5 build the same 10 blocks), and a small map's side rounds up at
# each stride-2 layer. So the study does not choose its points by nominal factor: each single-
# dimension point is the width, depth or resolution whose *measured* MACs come nearest to those of a
# compound network of notebook 02, so that every comparison there is at equal cost. The table
# lists the points matched to the paper's triple; the triple notebook 02 finds adds the points
# matched to its own networks (49 px), so the curves below hold more points than the table.

# %%
base = study.BASE
print(f"base: width {base.width}, depth {base.depth}, {base.image_size} px, data '{base.data}', "
      f"recipe '{base.recipe}', batch {base.batch_size}")
pd.DataFrame(stage_table(base.width, base.depth, base.image_size))

# %%
study.costs(study.FULL).round(2)

# %% [markdown]
# ### The committed full-mode results
#
# Every row is one trained network and seed; the record says how the table was made.

# %%
full, how = scaling_results.load_results()
print(f"{how['rows']} rows ({how['trained_configs']} networks trained, seeds {how['seeds']}, "
      f"{how['epochs'][0]} epochs), "
      f"made by `{how['command']}` on {', '.join(how['trained_on'])}; the full record: data/results/scaling_full.json")

# %% [markdown]
# ### Fig. 3 on the small base
#
# Mean test accuracy over 3 seeds, with the standard error (SE) as error bars, against measured
# MACs relative to the base (log scale: each step right is a doubling). The y-axis is fitted to the
# data, so one or two points of accuracy are visible; chance (0.10) is far below it.

# %%
curves = {dim: analysis.dimension_curve(full, dim) for dim in ("width", "depth", "resolution")}
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True, layout="constrained")
for ax, (dim, curve) in zip(axes, curves.items()):
    ScalingCurves({f"{dim}, full mode, {len(how['seeds'])} seeds": curve}, label=dim, chance=CHANCE).plot(
        ax=ax, title=f"scale {dim} alone")

# %% [markdown]
# ## 5. What it shows, by the rule
#
# One rule decides every verdict in notebooks 01 and 02: network a **beats** network b when a - b
# is more than twice the standard error of the difference over seeds, **loses** when b - a is, and
# **ties** otherwise. A ± after a number always says which it is: SD (the standard deviation of
# the seeds' results) or SE (the standard error of a mean or a difference). With one seed there is no standard error and
# no verdict. The gain of each
# step per doubling of MACs, and the paper's claims held against the table:

# %%
pd.concat({dim: analysis.gain_per_doubling(curve) for dim, curve in curves.items()}).round(2)

# %%
claims = scaling_claims.paper_claims(full[full.experiment == "single_dimension"])
claims

# %%
first_steps = claims[claims.claim.str.startswith("Fig. 3: the first step")]
for row in first_steps.itertuples():
    dim = row.claim.split("step of ")[1].split(" ")[0]
    guess = my_prediction.get(dim)
    print(f"{dim:>10}: measured {row.measured.split(': ', 1)[1]}"
          + (f"; you predicted {guess:+.1f} points" if guess is not None else ""))

# %% [markdown]
# Read the verdicts above before the next paragraph. In this regime **resolution's first step beats
# the base** and every later resolution point ties with the first: the curve rises once and is
# flat. **Width and depth tie with the base at every point**, up to more than five times its MACs:
# no gain to diminish. The paper's diminishing returns cannot be shown by the rule for any
# dimension here (the `shrinks` rows: for resolution the fall in gain per doubling is less than
# twice its SE, by a hair; the gain per doubling is computed only between points at least a
# quarter of a doubling apart, so 48 px, just above 42 px, is skipped). So the first half of Observation 1 holds for one
# dimension of three. Why not for
# width and depth?
#
# ## 6. Why? Testing one explanation: room in the last stages
#
# A 32 px input leaves the base's last stages on tiny maps: stages 6 and 7 take a 2x2 map, stage 8
# and the head a 1x1 one (the stage table above; its `resolution` is each stage's input). A 3x3 depthwise filter on a
# 1x1 map sees one position, so extra channels or extra blocks
# there have no spatial pattern to work on. That is an explanation, not yet a measurement. If it is
# the cause, a first width step and a first depth step should start to pay when the last stage has
# room, with nothing else changed. Fashion-MNIST's photos are 28 px, so a 64 or 128 px input
# carries no finer detail than 32 px: it only gives every stage a larger map. The experiment: the
# base, one width step (width 0.38, about 1.7x the MACs) and one depth step (depth 0.76, about
# 1.5x) at 32, 64 and 128 px, where the last stage works on 1x1, 2x2 and 4x4 maps; 3 seeds each,
# the same data, recipe and 6 epochs. These steps are smaller than Fig. 3's first points (width
# 0.47, depth 1.33): they are the ones that match the cost of the paper's phi = 1 network at
# 64 px, which kept the experiment to a few CPU hours. Before you run the next cell: what do you
# expect at 4x4?

# %%
room = scaling_results.load_room()
print(f"{len(room)} trained networks, seeds {sorted(int(s) for s in room.seed.unique())}, "
      f"on {', '.join(room.prov_device.unique())}; "
      f"each row's command and commit are in data/results/pilots/")
room_gain = analysis.room_table(room)
GainOverBase(room_gain.assign(step=room_gain.step.map({"width": "width 0.25 -> 0.38",
                                                       "depth": "depth 0.34 -> 0.76"})),
             group="last_map", xlabel="the last stage's map").plot(
    title="The first width and depth steps, by the size of the last stage's map")
room_gain.round(3)

# %% [markdown]
# The base alone, with more room and nothing else changed, by the same rule (and the 32 px base
# here beside Fig. 3's: the same network and seeds, trained again for this experiment by a later
# version of the library):

# %%
print(f"32 px base: {room_gain.base_mean.iloc[0]:.3f} here, {curves['width'].test_mean.iloc[0]:.3f} in Fig. 3")
analysis.room_base_gains(room).round(3)

# %% [markdown]
# **What it shows, by the rule: the explanation is not enough.** Every row ties: with the last
# stage on 4x4 maps the width step still gains nothing measurable, and the depth step's gain is
# just short of twice its standard error. Two things do move. The base itself gains with room:
# its first step of room (1x1 to 2x2) beats by the rule, the second ties. That is what resolution
# buys here, larger maps for every stage. And
# depth's gain rises at each step of room, while width's does not keep rising; but with 3 seeds
# the rule cannot call that growth real, so it is a hint, not a finding. So room in the last stages is at most
# part of the reason width and depth do not pay on this base. Untested candidates remain: what a
# few CPU minutes cannot give a bigger network (5,000 training images and 6 epochs, against the
# paper's 1.28 million images and far longer training), and the recipe (one learning rate for
# every network, where each size might want its own, and not the paper's recipe). Each experiment
# that would test one costs a multiple of this one.
#
# The intuitions again, each against what was measured here:
#
# - **Depth**: richer features, harder to train. The `short` recipe starts the last BatchNorm of
#   every residual block with its scale at zero (exercise 01.2 asks what that changes). A block on a 1x1 map costs
#   little, so the depth line needs several times more blocks to
#   reach the same MACs as the other lines; given room, the first depth step gains a little more,
#   though not by the rule.
# - **Width**: finer-grained features, quick saturation when shallow. Here it saturates before it
#   starts, with or without room.
# - **Resolution**: finer patterns with diminishing returns. Above 28 px there is no finer pattern
#   in these photos; what resolution buys here is room for every stage, which is why its first
#   step pays and then stops.
#
# For teachers: how the regime was chosen (the data, the base, the recipe, what else was tried)
# is recorded in [`data/results/REGIME.md`](../data/results/REGIME.md).
#
# ## 7. Quick mode, live
#
# The single-dimension curves at quick-mode size, trained here: **QUICK MODE** trains 200 images
# per class (2,000 in all) for 3 epochs with one seed. Finished networks are cached under
# `runs/experiments`, so running the cell again reads them back at once. The networks train side
# by side, one per CPU core on one thread each; the results are the same as one after another.
# The study always trains the paper's compound networks too (rows `compound_paper` below, for
# notebook 02); the figure shows the single-dimension lines only.

# %%
with open_executor("local", jobs=os.cpu_count() or 1) as pool:
    quick = study.run("quick", only=["single_dimension"], executor=pool, progress=False)
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True, layout="constrained")
for ax, dim in zip(axes, ("width", "depth", "resolution")):
    ScalingCurves({f"{dim}, QUICK MODE (3 epochs)": analysis.dimension_curve(quick, dim)}, label=dim,
                  chance=CHANCE).plot(ax=ax, title=f"QUICK MODE · scale {dim} alone")

# %%
quick[["experiment", "width", "depth", "resolution", "epochs", "seed", "params", "macs_ratio", "val_acc", "test_acc",
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

# %% [markdown]
# ## Questionnaire
#
# Answer each question in a few sentences from what this notebook shows. The teacher's version
# (`make assignments`) holds model answers.
#
# 1. What is the paper's *Observation 1* about scaling a single dimension, and what intuition does
#    the paper give for each of width, depth and resolution?
# 2. What does the bar chart of the paper's Table 3 in section 2 show, and why can this notebook's
#    rule not be applied to it?
# 3. Why does the study choose each single-dimension point by its *measured* MACs rather than by a
#    nominal scaling factor?
# 4. In the costs table printed in section 4, compare each point's nominal factor with its measured
#    one. For which dimension does the measured cost come out *higher* than the rule of thumb
#    predicts, and which reason given in the notebook explains it?
# 5. State the rule that decides every verdict in this notebook. Why can the quick-mode run in
#    section 7 decide nothing?
# 6. What does the Fig. 3 reproduction (the three panels in section 4, read with the verdicts in
#    section 5) show for each dimension?
# 7. Does this notebook confirm the paper's diminishing returns for resolution, whose curve looks
#    flat after its first step? Why or why not?
# 8. Section 6 tests the explanation that the last stages have no room. What is the explanation, and
#    why is enlarging the input from 32 px to 64 or 128 px a test of room alone on Fashion-MNIST?
#    What would change if the photos were 128 px?
# 9. What does the figure in section 6 (the first width and depth steps, by the size of the last
#    stage's map) show, and what does the notebook conclude from it?
# 10. The base network itself was also trained at 32, 64 and 128 px in section 6. What did more room
#    do for it, and what does that tell you about what resolution buys on this data set?

# %% [markdown]
# ## Further research
#
# Open questions for a discussion in class or a short essay: no single answer is right.
#
# 1. On this base, trained on 5,000 images for 6 epochs with one learning rate for every network,
#    width and depth do not pay while resolution's first step does; the notebook names the small
#    data, the short training and the recipe as untested candidates. The paper trained on 1.28
#    million images for far longer. How might the training regime decide which dimension pays, and
#    what experiment would you run, within a budget of a few CPU hours, to test one of these
#    candidates?
#    *Reading:* [EfficientNet: Rethinking Model Scaling for Convolutional Neural
#    Networks](https://arxiv.org/abs/1905.11946) (Tan & Le, 2019); [Revisiting ResNets: Improved
#    Training and Scaling Strategies](https://arxiv.org/abs/2103.07579) (Bello et al., 2021);
#    [ResNet strikes back: An improved training procedure in timm](https://arxiv.org/abs/2110.00476)
#    (Wightman et al., 2021)
# 2. This notebook compares networks at equal measured MACs. Resolution raises MACs without adding a
#    parameter, while a block on a 1x1 map adds parameters but costs few MACs. Is MACs the right
#    axis on which to call two networks equally costly? How might the verdicts change if cost were
#    measured by parameters, by activations (memory) or by training time on a real accelerator?
#    *Reading:* [Fast and Accurate Model Scaling](https://arxiv.org/abs/2103.06877) (Dollár, Singh &
#    Girshick, 2021); [EfficientNetV2: Smaller Models and Faster
#    Training](https://arxiv.org/abs/2104.00298) (Tan & Le, 2021)
# 3. Here, a larger input pays only because it gives every stage a larger feature map: the 28 px
#    photos have no finer detail to show. On ImageNet a larger input gives both more detail and
#    larger maps, and also changes the apparent size of objects. How could you separate these
#    effects on real photographs, and what would it mean for how resolution should be scaled?
#    *Reading:* [Fixing the train-test resolution discrepancy](https://arxiv.org/abs/1906.06423)
#    (Touvron et al., 2019); [EfficientNet: Rethinking Model Scaling for Convolutional Neural
#    Networks](https://arxiv.org/abs/1905.11946) (Tan & Le, 2019)
