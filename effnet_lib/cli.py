"""Command line: ``python -m effnet_lib train|evaluate|predict|data|table|demo|report|scaling|relabel``.

A thin shell over the library: each command parses its options, calls one or two library
functions and prints what they return. Failures print one line (the file and the fix) and exit
non-zero; nothing already written is lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from .errors import ExistsError, ParameterError, as_flags, failed, flags_of

SHOWN = 20  # predictions printed by `predict`; all of them go to --out

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line (what is wrong and where to read more), not the whole usage."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _train_parser(sub):
    from .training.config import TrainConfig
    from .training.recipes import RECIPES
    # Defaults are None here and filled from TrainConfig, so that --resume knows what was given.
    p = sub.add_parser("train", help="train on a folder of images; writes history, checkpoints and "
                       "the validation evaluation into --out", description=TRAIN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d = TrainConfig()
    p.add_argument("--data", help="'builtin' (textures), 'fashion' (Fashion-MNIST subset), or a folder: "
                   "DIR/<class>/images (split 80/20 per class with a saved manifest) or "
                   f"DIR/train|val|valid|test/<class>/images (default: {d.data})")
    p.add_argument("--out", required=True, help="run folder (history.csv, best.pt, last.pt, evaluation)")
    p.add_argument("--model", choices=[f"b{i}" for i in range(8)],
                   help=f"named variant; ignored when --width/--depth are given (default: {d.model})")
    p.add_argument("--width", type=float, help="width coefficient (any value above 0, e.g. 0.25 for a tiny model)")
    p.add_argument("--depth", type=float, help="depth coefficient (any value above 0)")
    p.add_argument("--image-size", type=int, help="input resolution in px (default: the variant's)")
    p.add_argument("--epochs", type=int, help=f"number of epochs (default: {d.epochs}; with --resume: the run's "
                   "own target; a larger value recomputes the cosine schedule for the new number of epochs)")
    p.add_argument("--batch-size", type=int, help="global batch size (default: 64, halved down to 8 while an epoch "
                   "would have fewer than 10 steps)")
    p.add_argument("--recipe", choices=sorted(RECIPES),
                   help=f"seed: SGD 0.01/cosine/BN eps 1e-3 (the reference experiment); paper: RMSProp, "
                   f"0.97 every 2.4 epochs, AutoAugment, EMA; short: AdamW for short CPU budgets (default: {d.recipe})")
    p.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    p.add_argument("--warmup-epochs", type=float, help="linear warm-up (default: the recipe's)")
    p.add_argument("--label-smoothing", type=float, help="cross-entropy label smoothing")
    p.add_argument("--ema", type=float, help="weight EMA decay, e.g. 0.9999; 0 turns it off")
    p.add_argument("--dropout", type=float, help="dropout before the classifier (default: the recipe's)")
    p.add_argument("--stochastic-depth", type=float, help="final stochastic-depth drop rate (default: the recipe's)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow first epoch)")
    p.add_argument("--augment-on", choices=["auto", "loader", "device"],
                   help="crop and flip per image in the loader, or the whole batch on the device (default "
                   "auto: device on CUDA)")
    p.add_argument("--seed", type=int, help=f"seed for split, init, order and augmentation (default: {d.seed})")
    p.add_argument("--val-fraction", type=float, help=f"per-class validation share (default: {d.val_fraction})")
    p.add_argument("--workers", type=int, help=f"DataLoader worker processes (default: {d.workers})")
    p.add_argument("--device", help=f"auto, cpu, cuda or cuda:N (default: {d.device})")
    p.add_argument("--no-amp", action="store_true", help="train in fp32 on CUDA")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    p.add_argument("--cache-mb", type=int,
                   help=f"decoded image cache limit; 0: decode every epoch (default: {d.cache_mb})")
    p.add_argument("--pretrained", help="torchvision-format weights file to start from (transfer learning)")
    p.add_argument("--freeze-features", action="store_true", help="train only the classifier")
    p.add_argument("--max-steps-per-epoch", type=int, help="quick runs: cut each epoch short")
    p.add_argument("--quick", action="store_true", help="label the run as a quick (not full) run")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt (see below)")
    g.add_argument("--overwrite", action="store_true", help="replace the run in --out (without it, a folder that "
                   "holds a run is refused)")
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


def _config(args):
    """The TrainConfig of the options given, and their names (on --resume, `fit` applies only those
    to the run's own config)."""
    from .training.config import TrainConfig
    names = {f.name for f in fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.no_amp:
        given["amp"] = False
    if args.no_channels_last:
        given["channels_last"] = False
    if args.width is not None or args.depth is not None:
        given.setdefault("model", None)
    if given.get("model") and (args.width is not None or args.depth is not None):
        given["model"] = None  # --width/--depth build a custom network; the variant's name would mislead
    return TrainConfig(**given), set(given)


def cmd_train(args):
    from .display.outputs import verdict
    from .study.pipeline import train_and_evaluate
    cfg, given = _config(args)
    done = train_and_evaluate(cfg, ("val",), resume=args.resume, overwrite=args.overwrite,
                              progress=not args.no_progress, given=given if args.resume else None)
    if "val" in done.reports:
        rep, run = done.reports["val"], done.run
        print(f"best checkpoint: {run.best}\nvalidation {verdict(rep)} (macro F1 {rep.summary['macro_f1']:.3f}); "
              f"evaluation in {run.out / 'eval-val'}")


def cmd_evaluate(args):
    from .display.outputs import verdict, write_evaluation
    from .evaluation.predict import Predictor, evaluation_samples, seen_in_training
    predictor = Predictor.from_checkpoint(args.checkpoint, args.device)
    # The run's own split rule: another seed or fraction would mix training images into "val".
    chosen = evaluation_samples(args.data, predictor.classes, args.split,
                                val_fraction=predictor.config.get("val_fraction", 0.2),
                                seed=predictor.config.get("seed", 0))
    samples = chosen.samples
    print(f"evaluating {len(samples)} images: {chosen.what}")
    seen = seen_in_training(predictor.config, samples) if args.split != "train" else []
    if seen:
        warnings.warn(f"{len(seen)} of these {len(samples)} images are images the run trained on (first: {seen[0]}); "
                      f"their accuracy is not a test accuracy: evaluate on images the run never saw", stacklevel=2)
    rep = write_evaluation(predictor.evaluate(samples, args.batch_size, progress=not args.no_progress), args.out,
                           title=chosen.what)
    print(rep.per_class.round(3).to_string())
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rep.summary.items()}))
    if "predicts" in verdict(rep):
        print(verdict(rep))


def _data_root(data):
    from .data.datasets import resolve
    return resolve(data)


def cmd_predict(args):
    from .evaluation.predict import Predictor
    from .files import atomic_write_text
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".json"):
        raise ParameterError(f"--out {out}: write .csv or .json (other formats are not written)")
    if args.topk < 1 or args.batch_size < 1:
        raise ParameterError(f"--topk {args.topk} --batch-size {args.batch_size}: both must be at least 1")
    predictor = Predictor.from_checkpoint(args.checkpoint, args.device)
    table, bad = predictor.predict(args.paths, args.topk, args.batch_size, progress=not args.no_progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        atomic_write_text(out, table.to_json(orient="records", indent=2))
    else:
        atomic_write_text(out, table.to_csv(index=False))
    shown = table[["path", "pred_1", "prob_1"]]
    print(shown.head(SHOWN).to_string(index=False) + (f"\n... {len(table) - SHOWN} more in {out}" if len(table) > SHOWN
                                                      else ""))
    skipped = f"; {len(bad)} unreadable skipped: {bad[:5]}{' ...' if len(bad) > 5 else ''}" if bad else ""
    print(f"{len(table)} image(s) predicted -> {out}" + skipped)


def cmd_data(args):
    if args.action == "builtin":
        from .data.builtin import ensure
        root = ensure(args.root)
        from .data.folders import open_image_folder
        print(open_image_folder(root).summary())
    elif args.action == "fetch":
        from .data.downloads import FILE_SETS, fetch, fetch_files
        print(fetch_files(args.name, args.cache) if args.name in FILE_SETS else fetch(args.name, args.cache))
    else:
        from .data.folders import open_image_folder
        folder = open_image_folder(_data_root(args.name), val_fraction=args.val_fraction, seed=args.seed, write=False)
        kept = (f"\nsplit manifest: {folder.manifest}" if folder.manifest else
                f"\nsplit drawn here, not written: the first training run writes it to {folder.manifest_target}"
                if folder.manifest_target else "")
        print(folder.summary() + kept)


def cmd_table(args):
    print(variant_table_text())


def variant_table_text() -> str:
    import pandas as pd

    from .model.scaling import variant_table
    t = pd.DataFrame(variant_table())
    t["params"] = t["params"].map("{:,}".format)
    t["MACs (B)"] = (t.pop("macs") / 1e9).round(3)
    return t[["model", "width", "depth", "resolution", "dropout", "stem", "channels", "repeats",
              "head", "params", "paper_params_M", "MACs (B)", "paper_macs_B"]].to_string(index=False)


def cmd_scaling(args):
    """The scaling experiments (Fig. 3, Fig. 4, the grid, compound vs single) in one mode."""
    from .study import scaling_analysis, scaling_study
    from .study.executors import Slurm, open_executor
    slurm = Slurm(partition=args.partition, cores=args.cores, memory=args.memory, walltime=args.walltime,
                  jobs=args.slurm_jobs, account=args.account)
    with open_executor(args.executor, args.jobs, args.scheduler, slurm) as executor:
        table = scaling_study.run(args.mode, cache=args.cache, progress=not args.no_progress, executor=executor)
    if args.mode == "full":
        command = "python -m effnet_lib scaling --mode full" + (f" --executor {args.executor}"
                                                                 if args.executor != "local"
                                                                 else f" --jobs {args.jobs}" if args.jobs > 1 else "")
        path = scaling_study.save_results(table, command)
        print(f"wrote {path} and {path.with_suffix('.json').name}")
    found = scaling_analysis.best_triple(table)
    print(f"best triple at phi = 1 (mean validation accuracy): alpha, beta, gamma = {found}")
    print(scaling_analysis.paper_claims(table).to_string(index=False))


def cmd_demo(args):
    """The main job: train a small EfficientNet on the built-in data, evaluate, predict, report."""
    from .files import replace_folder, scratch_folder
    final = Path(args.out)
    if args.epochs is not None and args.epochs < 1:
        raise ParameterError(f"--epochs {args.epochs}: must be at least 1")
    if final.exists() and any(final.iterdir()) and not (final / "demo.json").exists():
        raise ExistsError(f"{final}: holds something other than a demo run; the demo replaces only its own "
                              f"earlier run: choose another --out")
    print("EfficientNet B0-B7 as built by effnet_lib (params and MACs measured):")
    print(variant_table_text(), "\n")
    # The demo owns its folder: it is built beside it and swapped in whole at the end, so a second
    # `make demo` replaces the first in one step and an interrupted one leaves the old run as it was.
    with scratch_folder(final) as out:
        _demo(args, out, final)
        replace_folder(out, final)
    print(f"written to {final}: demo.json, history.csv, best.pt, last.pt, batch_test.csv/.png, and in eval-val/ "
          f"and eval-test/: curves, confusion matrices, per_class.csv, predictions.csv, summary.json")


def _demo(args, out: Path, final: Path):
    from .display.outputs import verdict
    from .study.pipeline import demo, demo_config
    cfg = demo_config(args.epochs)
    print(f"Training a small EfficientNet (width {cfg.width}, depth {cfg.depth}, {cfg.image_size} px, "
          f"{cfg.epochs} epochs, recipe '{cfg.recipe}' (lr {cfg.recipe_().lr}), batch {cfg.batch_size}, "
          f"seed {cfg.seed}) on the built-in "
          f"'{cfg.data}' set; this is the quick demo, not a full run.")
    record, done = demo(out, args.epochs, progress=not args.no_progress, recorded_out=final,
                        command="python -m effnet_lib demo" + (f" --epochs {args.epochs}" if args.epochs else ""))
    val, test, test_images = done.reports["val"], done.reports["test"], len(done.run.folder.test)
    print(f"\nPer-class metrics on the test split ({test_images} images):")
    print(test.per_class.round(3).to_string())
    right = record["batch_test"]
    print(f"\nvalidation {verdict(val)}, test {verdict(test)} (chance {record['chance']:.3f}); batch test of five "
          f"'{right['class']}' images: {right['right']}/5 right")


def cmd_report(args):
    from .display.report import build_report
    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"--out {args.out}: the report is one HTML file; name it .html")
    print(f"wrote {build_report(args.eval_dir, args.out, compare=args.compare, val=args.val, train=args.train)}")


def cmd_relabel(args):
    from .evaluation.relabel import apply, plan
    moves = plan(args.file)  # every row checked before anything moves
    for m in moves:
        print(f"{m.source} -> {m.target.parent.name}/")
    if not moves:
        print(f"{args.file}: no row has a new_label; nothing to move")
    elif args.apply:
        print(f"moved {len(moves)} file(s); the log of every move: {apply(args.file, moves)}")
    else:
        print(f"nothing moved: add --apply to move these {len(moves)} file(s)")


def _add_scaling_parser(sub):
    """`scaling`'s options: the mode and where its configs train (this machine, Dask, SLURM)."""
    p = sub.add_parser("scaling", help="the scaling experiments; full mode writes data/results/scaling_full.csv")
    p.add_argument("--mode", choices=["quick", "full"], default="quick")
    p.add_argument("--cache", help="where finished configs are kept (default: runs/experiments)")
    p.add_argument("--executor", choices=["local", "dask", "slurm"], default="local",
                   help="where configs train: this machine, a Dask scheduler, or SLURM jobs (default: local)")
    p.add_argument("--jobs", type=int, default=1, help="local: configs trained at once, one process each "
                   "(default 1: one after another)")
    p.add_argument("--scheduler", help="dask: the scheduler's address, e.g. tcp://HOST:8786")
    p.add_argument("--partition", help="slurm: the partition (queue) to submit worker jobs to")
    p.add_argument("--account", help="slurm: the account to charge")
    p.add_argument("--cores", type=int, default=2, help="slurm: cores per worker job (default 2)")
    p.add_argument("--memory", default="8GB", help="slurm: memory per worker job (default 8GB)")
    p.add_argument("--walltime", default="02:00:00", help="slurm: time limit per worker job (default 02:00:00)")
    p.add_argument("--slurm-jobs", type=int, default=4, help="slurm: worker jobs to ask for (default 4)")
    p.add_argument("--no-progress", action="store_true")


def build_parser():
    parser = _Parser(prog="python -m effnet_lib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    p = sub.add_parser("evaluate", help="metrics, confusion matrix and predictions of a checkpoint on a split")
    p.add_argument("--checkpoint", required=True, help="best.pt or last.pt of a run")
    p.add_argument("--data", required=True, help="'builtin', 'fashion' or a dataset folder: a held-out folder of "
                   "class subfolders is scored whole; a folder with train/ and val/ or test/ (or the run's own "
                   "split data) on one split")
    p.add_argument("--split", choices=["train", "val", "test", "all"], help="default: test if the folder has "
                   "one, val for the run's own split data, all for a folder without a split of its own")
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
    p = sub.add_parser("data", help="build the built-in set, download a public set, or inspect a folder")
    p.add_argument("action", choices=["builtin", "fetch", "info"])
    p.add_argument("name", nargs="?", default="builtin",
                   help="fetch: flowers|imagenette160|fashion-mnist; info: a folder")
    p.add_argument("--root", help="builtin: where to write it")
    p.add_argument("--cache", help="fetch: cache folder")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    sub.add_parser("table", help="print the B0-B7 table (measured params and MACs against the paper)")
    _add_scaling_parser(sub)
    p = sub.add_parser("report",
                       help="one self-contained HTML report of an evaluation folder (optionally against another)")
    p.add_argument("eval_dir",
                   help="an evaluation folder (predictions.csv, probabilities.npy, ...) or a predictions CSV")
    p.add_argument("--compare", help="a second evaluation of the same images, e.g. another network's")
    p.add_argument("--val", help="the same network's evaluation of the validation split: temperature scaling")
    p.add_argument("--train", help="the same network's evaluation of the training split: label-issue neighbours")
    p.add_argument("--out", required=True, help="the .html file to write")
    p = sub.add_parser("relabel", help="move the images whose new_label you filled in a label_issues.csv "
                       "(only with --apply)")
    p.add_argument("file", help="the label_issues.csv an evaluation wrote, with new_label filled in where a label "
                   "is wrong")
    p.add_argument("--apply", action="store_true", help="move the files (without it: say what would move)")
    p = sub.add_parser("demo", help="the main job on the built-in data (quick, CPU-sized)")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--epochs", type=int, help="default: the quick config's")
    p.add_argument("--no-progress", action="store_true")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args, flags = parser.parse_args(argv), flags_of(parser)
    show = warnings.showwarning  # the library's warnings name parameters: show their flags
    warnings.showwarning = lambda msg, *a, **k: show(as_flags(str(msg), flags), *a, **k)
    handler = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "data": cmd_data,
               "table": cmd_table, "demo": cmd_demo, "report": cmd_report,
               "scaling": cmd_scaling, "relabel": cmd_relabel}[args.command]
    from .training.loop import TrainingStopped
    try:
        handler(args)
    except TrainingStopped as e:
        print(f"stopped: {as_flags(str(e), flags)}", file=sys.stderr)
        return 130 if e.args and str(e).startswith(("SIGINT", "SIGTERM")) else 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        return failed(e, flags)
    finally:
        warnings.showwarning = show
    return 0
