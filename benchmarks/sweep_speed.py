"""When does spreading a sweep pay on one machine? The quick-mode scaling study three ways.

The same configurations (the quick mode's single-dimension, grid and compound experiments), each
with one torch thread, trained three times from an empty cache in the same run:
- sequentially in this process (`--jobs 1`, the default);
- on a local pool of 2 processes (`--executor local --jobs 2`);
- on a Dask `LocalCluster` of 2 worker processes (what `--executor dask` talks to).
It prints the wall time of each, the ratio to the sequential run, and checks that the three
tables are equal row for row.

    python benchmarks/sweep_speed.py          # writes benchmarks/sweep_speed.md
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from effnet_lib.data.datasets import resolve
from effnet_lib.files import atomic_write_text
from effnet_lib.provenance import provenance
from effnet_lib.study import scaling_study as study
from effnet_lib.study.executors import open_executor

OUT = Path(__file__).with_suffix(".md")
EXPERIMENTS = ["single_dimension", "grid", "compound_paper"]
RESULT = ["experiment", "width", "depth", "resolution", "seed", "params", "macs", "val_acc", "test_acc"]


def timed(executor_factory, cache: Path) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    with executor_factory() as executor:
        table = study.run(study.QUICK, cache=cache, progress=False, only=EXPERIMENTS, executor=executor)
    return time.perf_counter() - start, table


def dask_cluster():
    import contextlib

    import distributed

    @contextlib.contextmanager
    def factory():
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster:
            with open_executor("dask", scheduler=cluster.scheduler_address) as executor:
                yield executor

    return factory


def main():
    resolve(study.QUICK.data)  # the data folder is built once, before any timing
    rows, tables = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, factory in (
            ("sequential (--jobs 1)", lambda: open_executor("local", jobs=1)),
            ("local pool (--jobs 2)", lambda: open_executor("local", jobs=2)),
            ("Dask LocalCluster, 2 workers", dask_cluster()),
        ):
            seconds, table = timed(factory, Path(tmp) / name.split()[0])
            tables[name] = table[RESULT].sort_values(RESULT[:5]).reset_index(drop=True)
            rows.append({"executor": name, "configs": int(table.key.nunique()), "seconds": round(seconds, 1)})
            print(rows[-1], flush=True)
    base = rows[0]["seconds"]
    for r in rows:
        r["speed-up"] = round(base / r["seconds"], 2)
    first = next(iter(tables.values()))
    equal = all(t.equals(first) for t in tables.values())
    prov = provenance("cpu")
    lines = [
        "# Spreading the quick-mode scaling study on one 2-core machine",
        "",
        f"`python benchmarks/sweep_speed.py` on {prov['device']}, commit {prov['commit']}, {prov['date']}. "
        f"The quick mode's {', '.join(EXPERIMENTS)} experiments ({rows[0]['configs']} configurations, one torch "
        f"thread each), from an empty cache each time.",
        "",
        "| executor | configurations | seconds | speed-up |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['executor']} | {r['configs']} | {r['seconds']} | {r['speed-up']}x |" for r in rows]
    lines += [
        "",
        f"Tables equal row for row across the three: **{equal}**.",
        "",
        "```json",
        json.dumps({"rows": rows, "equal": equal, "provenance": prov, "cpus": os.cpu_count()}),
        "```",
    ]
    atomic_write_text(OUT, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
