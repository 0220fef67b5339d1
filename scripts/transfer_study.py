"""The transfer-learning study of notebook 03 (`effnet_lib.study.transfer`): the quick network trained on
five Fashion-MNIST articles, then fine-tuned on the other five from 5-100 images per class, against
the same network from scratch, each at the learning rate its validation split prefers, 5 seeds;
written to data/results/transfer.csv with how it was made.

    python scripts/transfer_study.py [--per-class 5 10 25 50 100] [--seeds 0 1 2 3 4] [--only-train]

Finished runs are cached (runs/transfer/experiments), so a stopped study resumes where it was.
About 25 minutes on 2 cores with one process (one torch thread per run, as every sweep); two
processes with --only-train and half the seeds each, then one without, take about half that.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from effnet_lib.study import transfer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=list(transfer.PER_CLASS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(transfer.SEEDS))
    parser.add_argument(
        "--only-train",
        action="store_true",
        help="fill the run cache and write no table (to run seeds in parallel processes)",
    )
    args = parser.parse_args()
    table = transfer.run(per_class=args.per_class, seeds=args.seeds, progress=True)
    if args.only_train:
        return
    command = "python scripts/transfer_study.py" + "".join(
        f" --{k.replace('_', '-')} {' '.join(map(str, v))}"
        for k, v in vars(args).items()
        if k != "only_train" and list(v) != list(getattr(transfer, k.upper()))
    )
    print(transfer.gains(table).round(4).to_string(index=False))
    print(f"wrote {transfer.save_results(table, command)}")


if __name__ == "__main__":
    main()
