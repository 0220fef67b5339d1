"""The transfer-learning study of notebook 03 (`effnet_lib.transfer`): the quick network trained on
five Fashion-MNIST articles, then fine-tuned on the other five from 5-100 images per class, against
the same network from scratch, 3 seeds; written to data/results/transfer.csv with how it was made.

    python scripts/transfer_study.py [--per-class 5 10 25 50 100] [--seeds 0 1 2]

Finished runs are cached (runs/transfer/experiments), so a stopped study resumes where it was.
About 6 minutes on 2 cores (one torch thread per run, as every sweep).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from effnet_lib import transfer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=list(transfer.PER_CLASS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(transfer.SEEDS))
    args = parser.parse_args()
    table = transfer.run(per_class=args.per_class, seeds=args.seeds, progress=True)
    command = "python scripts/transfer_study.py" + "".join(
        f" --{k.replace('_', '-')} {' '.join(map(str, v))}" for k, v in vars(args).items()
        if list(v) != list(getattr(transfer, k.upper())))
    print(transfer.gains(table).round(4).to_string(index=False))
    print(f"wrote {transfer.save_results(table, command)}")


if __name__ == "__main__":
    main()
