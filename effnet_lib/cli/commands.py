"""The command line's commands: each parses nothing itself (`parser` does), calls one or two
library functions and prints what they return. `main` runs one: the library's own errors print one
line with the parameters shown as their flags, exit 2; anything else is a bug and keeps its
traceback, exit 1. Nothing already written is lost.
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from ..errors import ExistsError, ParameterError, as_flags, failed, flags_of
from .parser import build_parser

SHOWN = 20  # predictions printed by `predict`; all of them go to --out

__all__ = ["main"]


def _config(args):
    """The TrainConfig of the options given, and their names (on --resume, `fit` applies only those
    to the run's own config)."""
    from ..training.config import TrainConfig

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
    from ..display.outputs import verdict
    from ..study.pipeline import train_and_evaluate

    cfg, given = _config(args)
    done = train_and_evaluate(
        cfg,
        ("val",),
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        given=given if args.resume else None,
    )
    if "val" in done.reports:
        rep, run = done.reports["val"], done.run
        print(
            f"best checkpoint: {run.best}\nvalidation {verdict(rep)} (macro F1 {rep.summary['macro_f1']:.3f}); "
            f"evaluation in {run.out / 'eval-val'}"
        )


def cmd_evaluate(args):
    from ..display.outputs import verdict, write_evaluation
    from ..evaluation.predict import Predictor, evaluation_samples, seen_in_training

    predictor = Predictor.from_checkpoint(args.checkpoint, args.device)
    # The run's own split rule: another seed or fraction would mix training images into "val".
    chosen = evaluation_samples(
        args.data,
        predictor.classes,
        args.split,
        val_fraction=predictor.config.get("val_fraction", 0.2),
        seed=predictor.config.get("seed", 0),
    )
    samples = chosen.samples
    print(f"evaluating {len(samples)} images: {chosen.what}")
    seen = seen_in_training(predictor.config, samples) if args.split != "train" else []
    if seen:
        warnings.warn(
            f"{len(seen)} of these {len(samples)} images are images the run trained on (first: {seen[0]}); "
            f"their accuracy is not a test accuracy: evaluate on images the run never saw",
            stacklevel=2,
        )
    rep = write_evaluation(
        predictor.evaluate(samples, args.batch_size, progress=not args.no_progress), args.out, title=chosen.what
    )
    print(rep.per_class.round(3).to_string())
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rep.summary.items()}))
    if "predicts" in verdict(rep):
        print(verdict(rep))


def _data_root(data):
    from ..data.datasets import resolve

    return resolve(data)


def cmd_predict(args):
    from ..evaluation.predict import Predictor
    from ..files import atomic_write_text

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
    print(
        shown.head(SHOWN).to_string(index=False)
        + (f"\n... {len(table) - SHOWN} more in {out}" if len(table) > SHOWN else "")
    )
    skipped = f"; {len(bad)} unreadable skipped: {bad[:5]}{' ...' if len(bad) > 5 else ''}" if bad else ""
    print(f"{len(table)} image(s) predicted -> {out}" + skipped)


def cmd_data(args):
    if args.action == "builtin":
        from ..data.builtin import ensure

        root = ensure(args.root)
        from ..data.folders import open_image_folder

        print(open_image_folder(root).summary())
    elif args.action == "fetch":
        from ..data.downloads import FILE_SETS, fetch, fetch_files

        print(fetch_files(args.name, args.cache) if args.name in FILE_SETS else fetch(args.name, args.cache))
    else:
        from ..data.folders import open_image_folder

        folder = open_image_folder(_data_root(args.name), val_fraction=args.val_fraction, seed=args.seed, write=False)
        kept = (
            f"\nsplit manifest: {folder.manifest}"
            if folder.manifest
            else f"\nsplit drawn here, not written: the first training run writes it to {folder.manifest_target}"
            if folder.manifest_target
            else ""
        )
        print(folder.summary() + kept)


def cmd_table(args):
    print(variant_table_text())


def variant_table_text() -> str:
    import pandas as pd

    from ..model.scaling import variant_table

    t = pd.DataFrame(variant_table())
    t["params"] = t["params"].map("{:,}".format)
    t["MACs (B)"] = (t.pop("macs") / 1e9).round(3)
    return t[
        [
            "model",
            "width",
            "depth",
            "resolution",
            "dropout",
            "stem",
            "channels",
            "repeats",
            "head",
            "params",
            "paper_params_M",
            "MACs (B)",
            "paper_macs_B",
        ]
    ].to_string(index=False)


def cmd_scaling(args):
    """The scaling experiments (Fig. 3, Fig. 4, the grid, compound vs single) in one mode."""
    from ..study import scaling_analysis, scaling_claims, scaling_results, scaling_study
    from ..study.executors import Slurm, open_executor

    slurm = Slurm(
        partition=args.partition,
        cores=args.cores,
        memory=args.memory,
        walltime=args.walltime,
        jobs=args.slurm_jobs,
        account=args.account,
    )
    with open_executor(args.executor, args.jobs, args.scheduler, slurm) as executor:
        table = scaling_study.run(args.mode, cache=args.cache, progress=not args.no_progress, executor=executor)
    if args.mode == "full":
        command = "python -m effnet_lib scaling --mode full" + (
            f" --executor {args.executor}"
            if args.executor != "local"
            else f" --jobs {args.jobs}"
            if args.jobs > 1
            else ""
        )
        path = scaling_results.save_results(table, command)
        print(f"wrote {path} and {path.with_suffix('.json').name}")
    found = scaling_analysis.best_triple(table)
    print(f"best triple at phi = 1 (mean validation accuracy): alpha, beta, gamma = {found}")
    print(scaling_claims.paper_claims(table).to_string(index=False))


def cmd_demo(args):
    """The main job: train a small EfficientNet on the built-in data, evaluate, predict, report."""
    from ..files import replace_folder, scratch_folder

    final = Path(args.out)
    if args.epochs is not None and args.epochs < 1:
        raise ParameterError(f"--epochs {args.epochs}: must be at least 1")
    if final.exists() and any(final.iterdir()) and not (final / "demo.json").exists():
        raise ExistsError(
            f"{final}: holds something other than a demo run; the demo replaces only its own "
            f"earlier run: choose another --out"
        )
    print("EfficientNet B0-B7 as built by effnet_lib (params and MACs measured):")
    print(variant_table_text(), "\n")
    # The demo owns its folder: it is built beside it and swapped in whole at the end, so a second
    # `make demo` replaces the first in one step and an interrupted one leaves the old run as it was.
    with scratch_folder(final) as out:
        _demo(args, out, final)
        replace_folder(out, final)
    print(
        f"written to {final}: demo.json, history.csv, best.pt, last.pt, batch_test.csv/.png, and in eval-val/ "
        f"and eval-test/: curves, confusion matrices, per_class.csv, predictions.csv, summary.json"
    )


def _demo(args, out: Path, final: Path):
    from ..display.outputs import verdict
    from ..study.pipeline import demo, demo_config

    cfg = demo_config(args.epochs)
    print(
        f"Training a small EfficientNet (width {cfg.width}, depth {cfg.depth}, {cfg.image_size} px, "
        f"{cfg.epochs} epochs, recipe '{cfg.recipe}' (lr {cfg.recipe_().lr}), batch {cfg.batch_size}, "
        f"seed {cfg.seed}) on the built-in "
        f"'{cfg.data}' set; this is the quick demo, not a full run."
    )
    record, done = demo(
        out,
        args.epochs,
        progress=not args.no_progress,
        recorded_out=final,
        command="python -m effnet_lib demo" + (f" --epochs {args.epochs}" if args.epochs else ""),
    )
    val, test, test_images = done.reports["val"], done.reports["test"], len(done.run.folder.test)
    print(f"\nPer-class metrics on the test split ({test_images} images):")
    print(test.per_class.round(3).to_string())
    right = record["batch_test"]
    print(
        f"\nvalidation {verdict(val)}, test {verdict(test)} (chance {record['chance']:.3f}); batch test of five "
        f"'{right['class']}' images: {right['right']}/5 right"
    )


def cmd_report(args):
    from ..display.report import build_report

    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"--out {args.out}: the report is one HTML file; name it .html")
    print(f"wrote {build_report(args.eval_dir, args.out, compare=args.compare, val=args.val, train=args.train)}")


def cmd_relabel(args):
    from ..evaluation.relabel import apply, plan

    moves = plan(args.file)  # every row checked before anything moves
    for m in moves:
        print(f"{m.source} -> {m.target.parent.name}/")
    if not moves:
        print(f"{args.file}: no row has a new_label; nothing to move")
    elif args.apply:
        print(f"moved {len(moves)} file(s); the log of every move: {apply(args.file, moves)}")
    else:
        print(f"nothing moved: add --apply to move these {len(moves)} file(s)")


def main(argv=None) -> int:
    parser = build_parser()
    args, flags = parser.parse_args(argv), flags_of(parser)
    show = warnings.showwarning  # the library's warnings name parameters: show their flags
    warnings.showwarning = lambda msg, *a, **k: show(as_flags(str(msg), flags), *a, **k)
    handler = {
        "train": cmd_train,
        "evaluate": cmd_evaluate,
        "predict": cmd_predict,
        "data": cmd_data,
        "table": cmd_table,
        "demo": cmd_demo,
        "report": cmd_report,
        "scaling": cmd_scaling,
        "relabel": cmd_relabel,
    }[args.command]
    from ..training.loop import TrainingStopped

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
