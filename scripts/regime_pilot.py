"""Pilots for choosing the scaling study's regime (dataset x base x recipe x budget).

Each candidate is a small set of training runs: the base, one step of each dimension and a few
more, at one budget. Every run is cached under runs/pilots/<config hash> and its row appended to
data/results/regime_pilots.csv with how it was made (command, commit, device, seed), so the data
card data/results/REGIME.md quotes only measured numbers.

    python scripts/regime_pilot.py CANDIDATE [CANDIDATE ...]     # run them
    python scripts/regime_pilot.py --list                        # what each candidate trains
    python scripts/regime_pilot.py --summary                     # mean/sd per config from the CSV
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from effnet_lib.evaluation.predict import Predictor
from effnet_lib.files import atomic_write_text
from effnet_lib.model.scaling import measure
from effnet_lib.provenance import provenance
from effnet_lib.study.scaling_study import BASE
from effnet_lib.training.checkpoint import load_checkpoint
from effnet_lib.training.config import TrainConfig, config_key
from effnet_lib.training.loop import train_or_load

ROOT = Path(__file__).resolve().parents[1]
PILOTS = ROOT / "data" / "results" / "pilots"  # one CSV per candidate
CACHE = ROOT / "runs" / "pilots"


def fashion(counts):
    """Pilots draw from the full Fashion-MNIST (Debian's dataset-fashion-mnist package), so a
    pilot's folder does not change when the vendored subset does."""
    from effnet_lib.data import fashion as F

    if not (F.DEBIAN / "train-images-idx3-ubyte.gz").is_file():  # only the candidates that use it fail
        return f"{F.DEBIAN} (missing: install Debian's dataset-fashion-mnist)"
    return str(F.build(counts=counts, source=F.DEBIAN))


def _points(base: TrainConfig, steps: dict) -> list[TrainConfig]:
    out = [base]
    for field, values in steps.items():
        out += [replace(base, **{field: v}) for v in values]
    return out


def candidates() -> dict[str, list[TrainConfig]]:
    fm = lambda counts=(600, 150, 150): fashion(counts)  # noqa: E731
    textures = TrainConfig(
        data="builtin", model=None, width=0.25, depth=0.34, image_size=48, epochs=15, batch_size=64, quick=False
    )
    c = {}
    # 32 px, 5,000 training images, 6 epochs, one network per process thread.
    s32 = replace(textures, data=fm((500, 100, 400)), image_size=32, epochs=6, recipe="short")
    sh = replace(s32, recipe="short")
    c["fm32-sgdshort-a"] = _points(sh, {"depth": [0.67, 1.34], "width": [0.5]}) + [
        replace(sh, recipe="seed", lr=0.05, warmup_epochs=1, stochastic_depth=0.0, dropout=0.0, depth=1.34)
    ]
    c["fm32-sgdshort-b"] = [replace(sh, width=1.0), replace(sh, image_size=48), replace(sh, image_size=64)]
    c["fm32-sgdshort-base"] = [sh]
    c["fm32-sgdshort-wide-lr"] = [replace(sh, width=1.0, lr=0.02), replace(sh, width=0.5, lr=0.02)]
    # With the whole image (flip only): one step of each dimension.
    c["fm32-flip-a"] = [replace(sh, width=0.5), replace(sh, depth=0.67), replace(sh, image_size=48)]
    c["fm32-flip-b"] = [replace(sh, width=1.0), replace(sh, depth=1.34)]
    # The texture set again (its patches hold detail up to 96 px), with the short recipe.
    tex = replace(textures, recipe="short")
    c["tex48-short-a"] = [tex, replace(tex, width=0.5), replace(tex, depth=0.67), replace(tex, image_size=64)]
    c["tex48-short-b"] = [replace(tex, width=1.0), replace(tex, depth=1.34), replace(tex, image_size=96)]
    # After the depthwise initialisation of the official code joined the short recipe.
    c["init-a"] = [tex, replace(tex, width=1.0), replace(tex, width=0.5)]
    c["init-b"] = [replace(sh, width=1.0), sh, replace(sh, width=0.5)]
    # The base alone under recipe variants: which one trains a tiny network furthest in 6 epochs?
    seed32 = replace(s32, recipe="seed")
    c["fm32-recipes-a"] = [
        replace(seed32, lr=0.05, warmup_epochs=1),
        replace(seed32, lr=0.05, warmup_epochs=1, stochastic_depth=0.0, dropout=0.0),
    ]
    c["fm32-recipes-b"] = [replace(seed32, lr=0.1, warmup_epochs=1, stochastic_depth=0.0, dropout=0.0)]
    # Fashion-MNIST, base at 32 px (the last stages run on 1x1 maps), seed recipe.
    f32 = replace(textures, data=fm(), image_size=32, epochs=8)
    c["fm32-seed"] = _points(f32, {"width": [0.5, 1.0], "depth": [0.67, 1.34], "image_size": [48, 64]})
    # The same base at 64 px: room for the last stages (2x2), seed recipe, and a warm-up at lr 0.05.
    f64 = replace(f32, image_size=64)
    c["fm64-seed"] = _points(f64, {"width": [0.5, 1.0], "depth": [0.67, 1.34], "image_size": [96, 128]})
    c["fm64-lr05"] = _points(replace(f64, lr=0.05, warmup_epochs=1), {"width": [0.5], "depth": [0.67, 1.34]})
    # A 64 px base on the study's own set (the last stage sees 2x2 maps instead of 1x1): the base,
    # the first width and depth steps matched to the measured MACs of the paper's compound network
    # at phi 1 (width 0.38 at 1.72x, depth 0.76 at 1.54x; the compound network 1.70x), and that network.
    s64 = replace(BASE, image_size=64, epochs=6)
    c["fm64-study"] = [
        s64,
        replace(s64, width=0.38),
        replace(s64, depth=0.76),
        replace(s64, width=0.275, depth=0.408, image_size=74),
    ]
    # The cause: the same width and depth steps with the last stage on 1x1 (32 px), 2x2 (64 px,
    # above) and 4x4 maps (128 px). Fashion-MNIST's photos are 28 px, so above 32 px the network sees
    # no finer detail, only more room in its later stages.
    for px in (32, 128):
        b = replace(s64, image_size=px)
        c[f"fm{px}-cause"] = [b, replace(b, width=0.38), replace(b, depth=0.76)]
    return c


def run(name: str, cfgs: list[TrainConfig], command: str, seeds=(0,), crop=None):
    from effnet_lib.data import datasets

    if crop is not None:  # the data's crop setting, tried as part of the regime
        datasets._SETTINGS["fashion.json"]["crop_scale"] = tuple(crop)
    crop_scale = datasets._SETTINGS["fashion.json"]["crop_scale"]
    for seed in seeds:
        for cfg in cfgs:
            cfg = replace(cfg, seed=seed)
            key = config_key(cfg) + ("" if crop_scale == (0.5, 1.0) else f"-crop{crop_scale[0]:g}")
            cfg = replace(cfg, out=str(CACHE / key))
            t0 = time.perf_counter()
            run = train_or_load(cfg, progress=False)
            predictor = Predictor.from_checkpoint(run.best)
            val = predictor.evaluate(run.folder.val).report().summary["accuracy"]
            test = predictor.evaluate(run.folder.test).report().summary["accuracy"]
            cost = measure(predictor.model, cfg.image_size)
            row = {
                "candidate": name,
                "data": Path(cfg.data).name,
                "width": cfg.width,
                "depth": cfg.depth,
                "resolution": cfg.image_size,
                "epochs": cfg.epochs,
                "lr": cfg.lr,
                "warmup": cfg.warmup_epochs,
                "recipe": cfg.recipe,
                "init": cfg.recipe_().init,
                "stochastic_depth": cfg.stochastic_depth,
                "dropout": cfg.dropout,
                "crop_scale_min": crop_scale[0],
                "batch_size": cfg.batch_size,
                "seed": seed,
                "threads": torch.get_num_threads(),
                "params": cost.params,
                "macs": cost.macs,
                "val_acc": round(val, 4),
                "test_acc": round(test, 4),
                "best_epoch": max(run.history, key=lambda r: r["val_acc"])["epoch"],
                "train_seconds": round(sum(r["seconds"] for r in run.history), 1),
                "wall_seconds": round(time.perf_counter() - t0, 1),
                "key": key,
                "command": command,
                **{f"prov_{k}": v for k, v in provenance("cpu").items() if k in ("commit", "device", "date", "torch")},
            }
            print(
                json.dumps(
                    {
                        k: row[k]
                        for k in (
                            "candidate",
                            "width",
                            "depth",
                            "resolution",
                            "lr",
                            "seed",
                            "macs",
                            "val_acc",
                            "test_acc",
                            "train_seconds",
                        )
                    }
                ),
                flush=True,
            )
            crop_used = tuple(load_checkpoint(run.best)["transforms"]["crop_scale"])
            row["crop_scale_min"] = crop_used[0]
            csv = PILOTS / f"{name}.csv"
            table = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
            table = table[table.key != row["key"]] if len(table) else table
            PILOTS.mkdir(parents=True, exist_ok=True)
            atomic_write_text(csv, pd.concat([table, pd.DataFrame([row])], ignore_index=True).to_csv(index=False))


def summary() -> pd.DataFrame:
    t = pd.concat([pd.read_csv(f) for f in sorted(PILOTS.glob("*.csv"))], ignore_index=True)
    cols = [
        "candidate",
        "data",
        "init",
        "width",
        "depth",
        "resolution",
        "epochs",
        "recipe",
        "lr",
        "stochastic_depth",
        "dropout",
        "crop_scale_min",
    ]
    for c in cols:
        if c not in t:
            t[c] = None
    g = t.groupby(cols, dropna=False, sort=False)
    return g.agg(
        macs=("macs", "first"),
        seeds=("seed", "nunique"),
        val=("val_acc", "mean"),
        test=("test_acc", "mean"),
        test_sd=("test_acc", "std"),
        secs=("train_seconds", "mean"),
    ).round(3)


def _markdown(t: pd.DataFrame) -> str:
    cells = t.astype(object).where(t.notna(), "")
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    return "\n".join(lines + ["| " + " | ".join(str(v) for v in row) + " |" for row in cells.itertuples(index=False)])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--list", action="store_true")
    p.add_argument("--summary", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (results depend on it)")
    p.add_argument("--crop", type=float, nargs=2, help="the fashion set's RandomResizedCrop scale range")
    a = p.parse_args(argv)
    if a.summary:
        table = summary().reset_index()
        atomic_write_text(
            PILOTS / "SUMMARY.md",
            "# Pilot runs, one row per config (made by `python scripts/regime_pilot.py "
            "--summary` from the CSV files here)\n\n" + _markdown(table) + "\n",
        )
        with pd.option_context("display.width", 250, "display.max_rows", 500):
            print(table.to_string(index=False))
        return
    torch.set_num_threads(a.threads)
    cands = candidates()
    if a.list:
        for n, cfgs in cands.items():
            print(n, [(c.width, c.depth, c.image_size, c.lr) for c in cfgs])
        return
    command = "python scripts/regime_pilot.py " + " ".join(sys.argv[1:])
    for n in a.names:
        run(n, cands[n], command, a.seeds, a.crop)


if __name__ == "__main__":
    main()
