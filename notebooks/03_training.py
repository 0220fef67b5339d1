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
# 2. name what the *seed* recipe (the practitioner's B0 experiment) and the *paper* recipe do, and
#    where each value of the paper's comes from,
# 3. read training curves, know what a run folder holds, and continue, extend or replace a run
#    without losing one,
# 4. run the reference experiment's sequence: train on one folder split 80/20, evaluate on a
#    held-out test folder whole, predict five images of one class,
# 5. measure what transfer learning buys: a network trained on five articles, fine-tuned on five
#    others from a few images each, against the same network from scratch (offline, on the
#    built-in data), and start from ImageNet weights when you have a weights file.
#
# **Quick mode (default).** On the built-in Fashion-MNIST subset (10 classes of clothing, 5,000
# training images), a small EfficientNet (width 0.5, depth 0.34 of B0) at 32 px for 10 epochs (the
# line under the imports says how long this notebook took on 2 CPU cores). Its numbers are
# quick-mode numbers, not the reference
# experiment's. The marked cell below switches to your own folder and the full settings (B0,
# 224 px, 30 epochs; use a GPU).

# %%
import json
from dataclasses import asdict
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from effnet_lib import exercises
from effnet_lib.data import load_image
from effnet_lib.display import PredictionGallery, TrainingCurves
from effnet_lib.study import transfer
from effnet_lib.training import (
    PAPER_SOURCES,
    RECIPES,
    dataset_for,
    fit,
    full_training_config,
    quick_mode_timing,
    quick_training_config,
    repo_root,
    train_or_load,
)

print(quick_mode_timing("03_training"))
pd.set_option("display.max_colwidth", None)

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
    config = quick_training_config("notebook-quick")  # QUICK MODE: built-in Fashion-MNIST, 32 px
pd.Series(asdict(config)).to_frame("setting")

# %% [markdown]
# `None` means "not set here": `model` is empty because width and depth are given directly
# instead of a variant name (`b0`...), `lr`, `warmup_epochs`, `label_smoothing`, `ema`, `dropout`
# and `stochastic_depth` take the recipe's value, `pretrained` starts from random weights and
# `max_steps_per_epoch` trains every batch. A `batch_size` left empty is chosen from the data (the
# largest of 64, 32, 16, 8 that gives at least 10 steps per epoch). `amp` (mixed precision) takes
# effect on a GPU only. `val_fraction` applies to a folder of class subfolders; the built-in set
# comes with its own validation split.

# %% [markdown]
# ## The data
#
# The built-in set is a class-balanced subset of Fashion-MNIST (MIT licence; see
# `data/fashion-mnist/README.md`): train and validation from the original training set, test from
# the original test set. A user's folder goes through exactly the same code.

# %%
folder, transforms = dataset_for(config)
print(folder.summary())
if folder.manifest:
    print("split manifest (reused by later runs):", folder.manifest)
folder.counts()

# %%
examples = folder.examples("train")
PredictionGallery([load_image(p).permute(1, 2, 0) for p, _ in examples],
                  [folder.classes[k] for _, k in examples]).plot(ncols=5);

# %% [markdown]
# What the network sees in training (random flips; for photos of scenes, random resized crops
# too) and the deterministic evaluation view (right), at the run's resolution.

# %%
image = load_image(examples[0][0], transforms.working_size)
torch.manual_seed(0)
views = [transforms.train()(image) for _ in range(5)] + [transforms.eval()(image)]
PredictionGallery([transforms.to_image(v) for v in views], ["train view"] * 5 + ["eval view"]).plot(ncols=6);

# %% [markdown]
# ## The recipes
#
# `seed` is the practitioner's experiment (SGD 0.01, momentum 0.9, weight decay 1e-4, cosine
# annealing, BatchNorm eps 1e-3 momentum 0.1, dropout 0.2, with the stochastic depth 0.2 of
# torchvision's B0); quick mode uses it unchanged. `paper`
# is the EfficientNet paper's ImageNet recipe as its official TensorFlow code ran it. `short` is the
# scaling study's recipe for budgets of a few CPU epochs (notebook 01). The fields:
# - `optimizer`, `lr`, `momentum`, `weight_decay`: the optimiser; `lr_batch`, where set, is the
#   batch size `lr` is given for, and the rate is scaled linearly to the run's batch size;
# - `schedule`: `cosine` anneals per epoch; `step` multiplies the rate by `decay` every
#   `decay_epochs` (the paper's), so those two are listed but ignored under a cosine schedule;
#   `warmup_epochs` ramps the rate up from zero first;
# - `bn`: which BatchNorm eps and momentum (notebook 00, section 4c); `decay_batchnorm`: whether
#   weight decay applies to BatchNorm's own weights;
# - `dropout` before the classifier (`None`: the variant's own, 0.2 for B0 up to 0.5 for B7),
#   `stochastic_depth` (notebook 00), `autoaugment` and `label_smoothing`: regularisation;
#   `ema`: an exponential moving average of the weights, evaluated instead of the weights;
# - `init`: how the weights start (torchvision's, or the official code's for depthwise filters);
#   `zero_init_residual`: every residual block starts as the identity (notebook 01);
# - `eval_crop`: the centre crop at evaluation (`None`: torchvision's per variant).

# %%
pd.DataFrame({name: asdict(r) for name, r in RECIPES.items()})

# %% [markdown]
# Each value of the paper recipe and where it comes from (the paper's section, or the flag or line
# of the official code in tensorflow/tpu, models/official/efficientnet):

# %%
pd.DataFrame(PAPER_SOURCES, index=["value", "source"]).T

# %% [markdown]
# **PyTorch's RMSprop is not the paper's.** TensorFlow adds epsilon *inside* the square root,
# starts the running mean square at 1 (PyTorch at 0, so PyTorch's first steps divide by a small
# number and are large) and folds the learning rate into the momentum buffer
# (`effnet_lib.training.optim`). With the paper's optimiser settings (decay 0.9, momentum 0.9, eps 1e-3,
# lr 0.016 per 256 images) on one small network (width 0.25, depth 0.34, 32 px, the built-in
# data, one seed; no warm-up, weight decay or label smoothing, so that only the optimiser
# differs), PyTorch's first steps are far larger. The measurement was made by
# `benchmarks/rmsprop_compare.py`; the table below it is the training loss of each epoch, higher
# with PyTorch's in all three (one seed: a sign, not a verdict):

# %%
compare = json.loads((repo_root() / "benchmarks" / "rmsprop_compare.json").read_text())
prov = compare["provenance"]
print(f"{compare['command']} | lr {compare['lr']}, batch {compare['batch']}, {compare['epochs']} epochs, "
      f"seed {prov['seed']}"
      f" | {prov['device']} | commit {prov['commit']} | {prov['date'][:10]}")
steps = pd.DataFrame({r["optimizer"]: r["first_step_sizes"] for r in compare["results"]})
steps.index = steps.index + 1
steps.index.name = "step"
losses = pd.DataFrame({r["optimizer"]: r["epoch_loss"] for r in compare["results"]})
losses.index = losses.index + 1
losses.index.name = "epoch"
ax = steps.plot(logy=True, marker=".", figsize=(7, 3.2), title="mean absolute weight change per step")
ax.set_ylabel("mean |change| of a weight")
ax.xaxis.get_major_locator().set_params(integer=True)
losses.round(3)

# %% [markdown]
# ## Train
#
# The cell trains without progress bars (on the command line they show loss, accuracy and images
# per second); the table of every epoch comes when it finishes. If the run folder already holds a
# finished run of this exact config, it is read back instead of trained again; a half-finished
# one is resumed (the same as `python -m effnet_lib train --resume`).

# %%
run = train_or_load(config, progress=False)
print("run folder:", run.out)
history = run.history_frame()
history.round(3).assign(lr=history.lr.map("{:.2e}".format))

# %%
TrainingCurves(run.history).plot(title=f"{'QUICK MODE · ' if config.quick else ''}training curves");

# %% [markdown]
# Validation accuracy above training accuracy, in most epochs here, is not a bug: training accuracy
# is averaged over the epoch while the network is still learning, on augmented images with dropout
# and stochastic depth on; validation is measured at the end of the epoch, in evaluation mode.
# `best.pt` holds the epoch with the best validation accuracy (not always the last): that is the
# network notebooks 04 and 05 evaluate.

# %%
best = history.loc[history.val_acc.idxmax()]
print(f"best.pt: epoch {int(best.epoch)} of {len(history)}, validation accuracy {best.val_acc:.3f}")

# %% [markdown]
# The run folder holds everything needed to continue or inspect the run:

# %%
sorted(p.name for p in run.out.iterdir())

# %% [markdown]
# ## Nothing trained is lost by accident
#
# A folder that holds a run is never trained over silently: a second `fit` (or
# `python -m effnet_lib train`) into it is refused, with the way out in one line.

# %%
try:
    fit(config, progress=False)
except FileExistsError as refused:
    print(refused)

# %% [markdown]
# On the command line:
# - `--resume` continues the run to its own number of epochs with its own settings; options that
#   would change what is trained (`--width`, `--image-size`, `--lr`, ...) are refused with the
#   differences named, and `--data` may point to the same classes moved elsewhere;
# - `--resume --epochs N` extends it: the cosine schedule is recomputed for N epochs, so the
#   remaining epochs get the rates a run planned for N epochs would have had (exercise 03.3);
# - `--overwrite` replaces it, and the old files go only once the new run has saved its first
#   epoch;
# - a run whose loss or weights become NaN or infinite stops with a non-zero exit, keeps its last
#   finite checkpoint and names the epoch; `evaluate` refuses a checkpoint with non-finite weights.
#
# ## The reference experiment's sequence
#
# The practitioner trained B0 on the one `train/` folder of the bird set (58,388 images split
# 80/20 per class: 46,853 + 11,535), then tested on the held-out `test/` folder and predicted five
# images of one class. With the BIRDS layout (`DIR/train/`, `DIR/valid/`, `DIR/test/`):
#
# ```bash
# python -m effnet_lib train --data DIR/train --out runs/birds \
#     --model b0 --epochs 30  # split 80/20, manifest saved
# python -m effnet_lib evaluate --checkpoint runs/birds/best.pt --data DIR/test \
#     --out runs/birds/eval-test  # every test image
# python -m effnet_lib predict --checkpoint runs/birds/best.pt --out five.csv --batch-size 5 "DIR/test/ABBOTTS BABBLER"
# ```
#
# `evaluate` scores every image of a folder that has no split of its own, writes nothing into it,
# and accepts a test folder that lacks some training classes (their rows stay empty). The same
# rule on the quick run, in the library:

# %%
from effnet_lib.evaluation import evaluation_samples

chosen = evaluation_samples(Path(folder.root) / "test", run.classes)
print(f"{len(chosen.samples)} images: {chosen.what}")

# %% [markdown]
# ## Transfer learning, offline
#
# Starting from weights learned on a large dataset is how most practitioners train EfficientNet on
# a folder of their own. ImageNet weights cannot be downloaded here, so the built-in data plays
# both parts. The *source* task: five articles (T-shirts, trousers, pullovers, dresses, coats),
# 500 training images each, trained as the quick run above. The *target* task: the other five
# (sandals, shirts, sneakers, bags, ankle boots) from only 5 to 100 images per class. One network
# starts from the source network's features with a fresh classifier for the five new classes
# (`transfer.features_only`), the other from scratch; everything else is the same: the recipe, the
# images, the epochs (more for fewer images, so that every run sees at least 1,500 images:
# `transfer.epochs_for`), and a validation split as small as the training split (a user with five
# images per class has no hundred more to hold back). Each start is trained at three learning
# rates (0.001, 0.003 and the recipe's 0.01) and keeps the one its own validation split prefers
# (the `lr` column): one rate for both would let the rate decide the comparison. Both are judged
# on the same 500 test images per target class.
# A seed draws the few images, initialises and shuffles; the gain is paired by seed (same images).
#
# **Predict first.** At 5 images per class, how many points of test accuracy will the source
# network's start be worth? At 100? Write your two guesses down before you run the next cells.
#
# The table below was computed by `python scripts/transfer_study.py` (the line under it says at
# which commit, on which machine and with which seeds); the rule is the course's: *beats* or
# *loses* when the gain is beyond 2 SE over the seeds, otherwise *ties*.

# %%
table, made = transfer.load_results()
print(f"{made['command']}: {made['rows']} runs, seeds {made['seeds']}, trained at commit "
      f"{', '.join(made['trained_at_commits'])} on {', '.join(made['trained_on'])}")
gains = transfer.gains(table)
for r in gains.to_dict("records"):
    print(f"{r['per_class']:>3} images per class: from scratch {r['from scratch']:.3f}, from the source network "
          f"{r['from the source network']:.3f}: gain {r['gain'] * 100:+.1f} ± {r['gain_se'] * 100:.1f} points "
          f"(SE over {r['seeds']} seeds): {r['verdict']}")

# %% [markdown]
# Left: each start's accuracy, its mean ± 2 SE over the seeds on its own (unpaired). Right: what the
# verdicts use, the gain of each seed (the same images for both starts) and its mean with 2 SE of
# the paired gain; a verdict other than *ties* needs the bar clear of zero. So the left panel's bars
# can overlap where the paired gain is clear.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
sns.lineplot(data=table, x="per_class", y="test_acc", hue="start", marker="o", errorbar=("se", 2),
             err_style="bars", ax=left)
left.axhline(1 / len(transfer.TARGET), color="grey", ls=":", label="chance (1 in 5)")
left.set(xscale="log", xlabel="training images per target class (log scale)",
         ylabel=f"target test accuracy (mean of {table.seed.nunique()} seeds)", title="Each start")
left.legend(title="start", fontsize=8)
seed_gain = (transfer.seed_gains(table) * 100).reset_index()
sns.stripplot(data=seed_gain, x="per_class", y="gain", color="0.6", size=5, ax=right, label="one seed")
right.errorbar(range(len(gains)), gains.gain * 100, yerr=2 * gains.gain_se * 100, fmt="o", color="C3", capsize=4,
               label="mean, 2 SE (paired)")
right.axhline(0, color="k", lw=0.8)
right.set(xlabel="training images per target class", ylabel="gain of the source network's start (points)",
          title="The paired gain the verdicts use")
handles, labels = right.get_legend_handles_labels()
right.legend(handles[-2:], labels[-2:], fontsize=8)
for ax in (left,):
    ax.set_xticks(list(transfer.PER_CLASS), [str(n) for n in transfer.PER_CLASS])

# %% [markdown]
# **What it shows, by the rule.** The verdicts use the SE of the *paired* gain (the same images
# for both starts, seed by seed), where notebooks 01-02 compare separately trained networks with an
# unpaired SE. At 5, 10 and 100 images per class the study cannot tell the two starts apart (*ties*:
# the mean gain is within 2 SE; at 10 images the gain could be anything from well below to well
# above zero). At 25 images the source network's start is *behind* (loses, -2.9 ± 0.9 points, SE)
# and at 50 it is *ahead* (beats, +4.8 ± 2.0 points, SE, just past the line): two verdicts of
# opposite sign among five points tested with 5 seeds, where one chance verdict is not unlikely.
# Read together: on this pair of tasks, starting from the source network is worth a few points at
# most, either way, and it did not buy what transfer is known for, learning from a handful of
# images.
#
# Why not, when ImageNet weights help so much? These are candidates, not tested here: the source
# is small (2,500 images of five articles, against ImageNet's 1.28 million in 1,000 classes), the
# network is small and trained for minutes, and clothes may share less with shoes and bags than
# ImageNet's photos share with most photos. Two more things to know before trusting any one row:
# the validation split of 25-500 images picks both the learning rate (among three; the `lr`
# column; a tie goes to the smaller rate) and the epoch kept, and at 5 images per class its accuracy
# moves in steps of 4 points; and the comparison is fair only because each start chose its own
# rate. Rerun the study with one rate for both, `transfer.run(lrs=(0.01,))` (it trains 55 networks),
# and see how much of a "transfer gain" a learning rate alone can make or hide.
#
# **QUICK MODE: one row recomputed here.** The source network of seed 0 and the target runs at 10
# images per class (each start at each of the three learning rates), trained (or read back from
# `runs/transfer/`) by the same code. On this kind
# of machine (CPU, one thread per run) the numbers are the committed ones to the last digit; on
# other hardware they differ a little (sums in another order), not in kind. One seed is one point
# of the right panel's scatter, not its mean: at 10 images per class the seeds' gains spread widely
# (the ± above), so a single seed's gain may well have the other sign.

# %%
live = transfer.run(per_class=(10,), seeds=(0,))
committed = table[(table.per_class == 10) & (table.seed == 0)].set_index("start")
for r in live.itertuples():
    print(f"{r.start}: learning rate {r.lr:g}, test accuracy {r.test_acc:.4f} here; "
          f"{committed.lr[r.start]:g}, {committed.test_acc[r.start]:.4f} committed")

# %% [markdown]
# ## Transfer learning from ImageNet weights
#
# `--pretrained FILE` (or `TrainConfig(pretrained=...)`) starts from a torchvision EfficientNet
# weights file; the classifier is replaced when the number of classes differs, and
# `--freeze-features` trains only the classifier. Nothing is downloaded at run time: fetch the
# file once (the URL comes from torchvision's own metadata below) and point `WEIGHTS` at it.
# Every layer but the classifier must have the file's shapes, so the network needs the file's width
# and depth (B0 for the B0 file); a mismatch is refused with the layers named. The resolution is not
# checked: train at the file's own (224 px for B0).

# %%
from torchvision.models import EfficientNet_B0_Weights

print("B0 ImageNet weights:", EfficientNet_B0_Weights.IMAGENET1K_V1.url)
WEIGHTS = None  # e.g. "~/Downloads/efficientnet_b0_rwightman-7f5810bc.pth"

if WEIGHTS:
    imagenet_config = full_training_config(MY_DATA or "fashion", name="imagenet", freeze_features=True, epochs=3,
                                           pretrained=str(Path(WEIGHTS).expanduser()))
    TrainingCurves(train_or_load(imagenet_config).history).plot(title="B0 from ImageNet weights, classifier only")
else:
    print("no weights file given: this section is skipped (set WEIGHTS to run it)")

# %% [markdown]
# ## Exercises
#
# Answer in the cell, then run it: `exercises.check` says whether the answer is right and gives a
# hint if not; `exercises.solution(key)` shows the worked answer once you have tried.

# %%
print(exercises.listing(["03.1", "03.2", "03.3", "03.4"]))

# %%
my_answers = {"03.1": None, "03.2": None, "03.3": None, "03.4": None}  # fill in
for key, value in my_answers.items():
    exercises.check(key, value)

# %% [markdown]
# ## Questionnaire
#
# Answer each question in a few sentences from what this notebook shows. The teacher's version
# (`make assignments`) holds model answers.
#
# 1. In which two layouts can a folder of images be given to the workbook, and what does it do with
#    the second kind so that later runs train and validate on the same images?
# 2. What is the *seed* recipe, and how does quick mode use it?
# 3. Name four ways in which the *paper* recipe differs from the seed recipe, and say how a student
#    can check where each of its values comes from.
# 4. Why does the library implement its own RMSprop for the paper recipe instead of using
#    `torch.optim.RMSprop` with the same numbers, and what did the measured comparison show?
# 5. In the quick run's training curves, validation accuracy lies above training accuracy in most
#    epochs. Why is that not a bug, and which epoch does `best.pt` keep?
# 6. A folder already holds a run. What happens if you train into it again with `fit` or `python -m
#    effnet_lib train` without any option, and what would you use to (a) finish it after an
#    interruption, (b) give it more epochs, (c) retrain it with a different width?
# 7. Describe the three steps of the reference experiment. Why does it still need a validation split
#    when the bird set comes with its own `test/` folder (the practitioner did not use the
#    download's `valid/` folder)?
# 8. In the offline transfer study, what are the source and target tasks, and why is each of the two
#    starts trained at three learning rates instead of one?
# 9. What does the transfer study conclude by the course's rule, and what does the right-hand panel
#    of its figure show that the left-hand panel does not?
# 10. What do you need in order to start training from ImageNet weights, and what must match between
#    your network and the weights file?

# %% [markdown]
# ## Further research
#
# Open questions for a discussion in class or a short essay: no single answer is right.
#
# 1. Most rows of the recipe table differ between the seed recipe and the paper recipe: optimiser,
#    schedule, warm-up, weight decay, label smoothing, AutoAugment, weight averaging. When a paper
#    reports that a new architecture beats an older one, how much of the gap could belong to the
#    training recipe rather than to the network? What would you hold fixed to tell the two apart,
#    and what would it cost to do so fairly for both networks?
#    *Reading:* [EfficientNet: Rethinking Model Scaling for Convolutional Neural
#    Networks](https://arxiv.org/abs/1905.11946) (Tan & Le, 2019); [Revisiting ResNets: Improved
#    Training and Scaling Strategies](https://arxiv.org/abs/2103.07579) (Bello et al., 2021);
#    [ResNet strikes back: An improved training procedure in timm](https://arxiv.org/abs/2110.00476)
#    (Wightman et al., 2021)
# 2. On this pair of Fashion-MNIST tasks, starting from a source network was worth a few points at
#    most, either way, while ImageNet weights are known to help far more. The notebook lists
#    candidate reasons without testing them: a small source set, a small network trained for
#    minutes, and clothes that may share little with shoes and bags. Which of these does the
#    literature support, and how would you design a run with this workbook that tests one of them?
#    *Reading:* [How transferable are features in deep neural
#    networks?](https://arxiv.org/abs/1411.1792) (Yosinski et al., 2014); [Do Better ImageNet Models
#    Transfer Better?](https://arxiv.org/abs/1805.08974) (Kornblith et al., 2019)
# 3. The network trains on random views of each image and is evaluated on one deterministic centre
#    view, and the full settings (B0, 224 px, 30 epochs) call for a GPU where quick mode runs at 32
#    px on a CPU. Would you train at the same resolution you test at, at a lower one, or grow it
#    during training? What would you measure to decide: accuracy, images per second, memory, or all
#    three?
#    *Reading:* [Fixing the train-test resolution discrepancy](https://arxiv.org/abs/1906.06423)
#    (Touvron et al., 2019); [EfficientNetV2: Smaller Models and Faster
#    Training](https://arxiv.org/abs/2104.00298) (Tan & Le, 2021); [Fast and Accurate Model
#    Scaling](https://arxiv.org/abs/2103.06877) (Dollár, Singh & Girshick, 2021)
