"""How long each notebook takes in quick mode on this machine: executed cold (fresh run and
experiment caches of its own, as a student who opens it first) and then warm (the same caches, read back), one
notebook at a time with nothing else running. Writes benchmarks/notebook_times.json, which the top
of each notebook reads (`presets.quick_mode_timing`), and benchmarks/notebook_times.md.

    python scripts/time_notebooks.py                 # every notebook
    python scripts/time_notebooks.py 01_single_dimension_scaling 02_compound_scaling
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from build_site import execute  # noqa: E402

from effnet_lib.files import atomic_write_text  # noqa: E402
from effnet_lib.provenance import provenance  # noqa: E402

OUT = ROOT / "benchmarks" / "notebook_times.json"


def main(names: list[str]):
    names = names or sorted(p.stem for p in (ROOT / "notebooks").glob("*.py"))
    record = json.loads(OUT.read_text()) if OUT.exists() else {"notebooks": {}}
    for name in names:
        with tempfile.TemporaryDirectory(prefix="effnet-runs-") as runs:
            os.environ["EFFNET_RUNS"] = runs  # the kernels inherit it: each notebook starts cold, alone
            times = {}
            for which in ("cold", "warm"):
                start = time.perf_counter()
                nb = execute(ROOT / "notebooks" / f"{name}.py")
                times[which] = round(time.perf_counter() - start, 1)
                kept = ROOT / "build" / "executed" / f"timed-{which}" / f"{name}.ipynb"  # for a read
                kept.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, kept)
                print(f"{name} {which}: {times[which]:.1f} s", flush=True)
        record["notebooks"][name] = {
            "cold_s": times["cold"],
            "warm_s": times["warm"],
            "command": f"python scripts/time_notebooks.py {name}",
            **{k: v for k, v in provenance("cpu").items() if k in ("commit", "device", "date", "torch")},
        }
        record.pop("command", None)
        atomic_write_text(OUT, json.dumps(record, indent=1) + "\n")
    rows = ["| notebook | cold (s) | warm (s) | device | commit | date |", "|---|---|---|---|---|---|"]
    rows += [
        f"| {n} | {r['cold_s']} | {r['warm_s']} | {r['device']} | {r['commit']} | {r['date']} |"
        for n, r in sorted(record["notebooks"].items())
    ]
    atomic_write_text(
        OUT.with_suffix(".md"),
        "# Quick mode: seconds per notebook\n\nMade by `python "
        "scripts/time_notebooks.py` (each notebook executed by nbclient, cold with run caches "
        "of its own, empty, as if opened first, and then warm, one at a time, "
        "nothing else running).\n\n" + "\n".join(rows) + "\n",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
