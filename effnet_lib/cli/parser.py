"""The command line's options: one parser per command, and the help that explains them.

`commands` runs what they ask for; a bad option gets one line (what is wrong, and `--help`).
"""

from __future__ import annotations

import argparse

__all__ = ["DESCRIPTION", "TRAIN_HELP", "build_parser"]

DESCRIPTION = "Command line: ``python -m effnet_lib train|evaluate|predict|data|table|demo|report|scaling|relabel``."


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line (what is wrong and where to read more), not the whole usage."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(prog="python -m effnet_lib", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    _evaluation_parsers(sub)
    _data_and_table_parsers(sub)
    _add_scaling_parser(sub)
    _report_relabel_demo_parsers(sub)
    return parser


def _train_parser(sub):
    from ..training.config import TrainConfig
    from ..training.recipes import RECIPES

    # Defaults are None here and filled from TrainConfig, so that --resume knows what was given.
    p = sub.add_parser(
        "train",
        help="train on a folder of images; writes history, checkpoints and the validation evaluation into --out",
        description=TRAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = TrainConfig()
    p.add_argument(
        "--data",
        help="'builtin' (textures), 'fashion' (Fashion-MNIST subset), or a folder: "
        "DIR/<class>/images (split 80/20 per class with a saved manifest) or "
        f"DIR/train|val|valid|test/<class>/images (default: {d.data})",
    )
    p.add_argument("--out", required=True, help="run folder (history.csv, best.pt, last.pt, evaluation)")
    p.add_argument(
        "--model",
        choices=[f"b{i}" for i in range(8)],
        help=f"named variant; ignored when --width/--depth are given (default: {d.model})",
    )
    p.add_argument("--width", type=float, help="width coefficient (any value above 0, e.g. 0.25 for a tiny model)")
    p.add_argument("--depth", type=float, help="depth coefficient (any value above 0)")
    p.add_argument("--image-size", type=int, help="input resolution in px (default: the variant's)")
    p.add_argument(
        "--epochs",
        type=int,
        help=f"number of epochs (default: {d.epochs}; with --resume: the run's "
        "own target; a larger value recomputes the cosine schedule for the new number of epochs)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        help="global batch size (default: 64, halved down to 8 while an epoch would have fewer than 10 steps)",
    )
    p.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        help=f"seed: SGD 0.01/cosine/BN eps 1e-3 (the reference experiment); paper: RMSProp, "
        f"0.97 every 2.4 epochs, AutoAugment, EMA; short: AdamW for short CPU budgets (default: {d.recipe})",
    )
    p.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    p.add_argument("--warmup-epochs", type=float, help="linear warm-up (default: the recipe's)")
    p.add_argument("--label-smoothing", type=float, help="cross-entropy label smoothing")
    p.add_argument("--ema", type=float, help="weight EMA decay, e.g. 0.9999; 0 turns it off")
    p.add_argument("--dropout", type=float, help="dropout before the classifier (default: the recipe's)")
    p.add_argument("--stochastic-depth", type=float, help="final stochastic-depth drop rate (default: the recipe's)")
    _train_machine_options(p, d)


def _train_machine_options(p, d):
    """`train`'s options of how and where, not what, it trains; and what to do with a run folder."""
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow first epoch)")
    p.add_argument(
        "--augment-on",
        choices=["auto", "loader", "device"],
        help="crop and flip per image in the loader, or the whole batch on the device (default auto: device on CUDA)",
    )
    p.add_argument("--seed", type=int, help=f"seed for split, init, order and augmentation (default: {d.seed})")
    p.add_argument("--val-fraction", type=float, help=f"per-class validation share (default: {d.val_fraction})")
    p.add_argument("--workers", type=int, help=f"DataLoader worker processes (default: {d.workers})")
    p.add_argument("--device", help=f"auto, cpu, cuda or cuda:N (default: {d.device})")
    p.add_argument("--no-amp", action="store_true", help="train in fp32 on CUDA")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    p.add_argument(
        "--cache-mb", type=int, help=f"decoded image cache limit; 0: decode every epoch (default: {d.cache_mb})"
    )
    p.add_argument("--pretrained", help="torchvision-format weights file to start from (transfer learning)")
    p.add_argument("--freeze-features", action="store_true", help="train only the classifier")
    p.add_argument("--max-steps-per-epoch", type=int, help="quick runs: cut each epoch short")
    p.add_argument("--quick", action="store_true", help="label the run as a quick (not full) run")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt (see below)")
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in --out (without it, a folder that holds a run is refused)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


TRAIN_HELP = """Train an EfficientNet on a folder of images.

A run folder that already holds a run is never replaced by accident: continue it with --resume,
replace it with --overwrite, or choose another --out.

--resume continues to the run's own number of epochs, with its own settings. --epochs N sets a new
target (N at least the epochs done): the cosine schedule is recomputed for N epochs, so the
remaining epochs get the learning rates a run planned for N epochs would have had. Options that
change what is trained (--model, --width, --depth, --image-size, --recipe, --lr, --batch-size,
--seed, ...) are refused on resume with the differences named; --data may point to the same
classes in another place (a moved dataset)."""


def _evaluation_parsers(sub):
    """`evaluate` and `predict`: a checkpoint on a folder of images, or on image files."""
    p = sub.add_parser("evaluate", help="metrics, confusion matrix and predictions of a checkpoint on a split")
    p.add_argument("--checkpoint", required=True, help="best.pt or last.pt of a run")
    p.add_argument(
        "--data",
        required=True,
        help="'builtin', 'fashion' or a dataset folder: a held-out folder of "
        "class subfolders is scored whole; a folder with train/ and val/ or test/ (or the run's own "
        "split data) on one split",
    )
    p.add_argument(
        "--split",
        choices=["train", "val", "test", "all"],
        help="default: test if the folder has "
        "one, val for the run's own split data, all for a folder without a split of its own",
    )
    p.add_argument("--out", required=True, help="folder for predictions, per_class, summary, label_issues, PNGs")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("predict", help="top-k classes of image files or folders")
    p.add_argument("--checkpoint", required=True, help="best.pt or last.pt of a run")
    p.add_argument("--out", required=True, help="output file, .csv or .json")
    p.add_argument("--topk", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")


def _data_and_table_parsers(sub):
    """`data` (build, download or inspect a set) and `table` (B0-B7 measured against the paper)."""
    p = sub.add_parser("data", help="build the built-in set, download a public set, or inspect a folder")
    p.add_argument("action", choices=["builtin", "fetch", "info"])
    p.add_argument(
        "name", nargs="?", default="builtin", help="fetch: flowers|imagenette160|fashion-mnist; info: a folder"
    )
    p.add_argument("--root", help="builtin: where to write it")
    p.add_argument("--cache", help="fetch: cache folder")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    sub.add_parser("table", help="print the B0-B7 table (measured params and MACs against the paper)")


def _add_scaling_parser(sub):
    """`scaling`'s options: the mode and where its configs train (this machine, Dask, SLURM)."""
    p = sub.add_parser("scaling", help="the scaling experiments; full mode writes data/results/scaling_full.csv")
    p.add_argument("--mode", choices=["quick", "full"], default="quick")
    p.add_argument("--cache", help="where finished configs are kept (default: runs/experiments)")
    p.add_argument(
        "--executor",
        choices=["local", "dask", "slurm"],
        default="local",
        help="where configs train: this machine, a Dask scheduler, or SLURM jobs (default: local)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="local: configs trained at once, one process each (default 1: one after another)",
    )
    p.add_argument("--scheduler", help="dask: the scheduler's address, e.g. tcp://HOST:8786")
    p.add_argument("--partition", help="slurm: the partition (queue) to submit worker jobs to")
    p.add_argument("--account", help="slurm: the account to charge")
    p.add_argument("--cores", type=int, default=2, help="slurm: cores per worker job (default 2)")
    p.add_argument("--memory", default="8GB", help="slurm: memory per worker job (default 8GB)")
    p.add_argument("--walltime", default="02:00:00", help="slurm: time limit per worker job (default 02:00:00)")
    p.add_argument("--slurm-jobs", type=int, default=4, help="slurm: worker jobs to ask for (default 4)")
    p.add_argument("--no-progress", action="store_true")


def _report_relabel_demo_parsers(sub):
    """`report`, `relabel` and `demo`."""
    p = sub.add_parser(
        "report", help="one self-contained HTML report of an evaluation folder (optionally against another)"
    )
    p.add_argument(
        "eval_dir", help="an evaluation folder (predictions.csv, probabilities.npy, ...) or a predictions CSV"
    )
    p.add_argument("--compare", help="a second evaluation of the same images, e.g. another network's")
    p.add_argument("--val", help="the same network's evaluation of the validation split: temperature scaling")
    p.add_argument("--train", help="the same network's evaluation of the training split: label-issue neighbours")
    p.add_argument("--out", required=True, help="the .html file to write")
    p = sub.add_parser(
        "relabel", help="move the images whose new_label you filled in a label_issues.csv (only with --apply)"
    )
    p.add_argument(
        "file", help="the label_issues.csv an evaluation wrote, with new_label filled in where a label is wrong"
    )
    p.add_argument("--apply", action="store_true", help="move the files (without it: say what would move)")
    p = sub.add_parser("demo", help="the main job on the built-in data (quick, CPU-sized)")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--epochs", type=int, help="default: the quick config's")
    p.add_argument("--no-progress", action="store_true")
