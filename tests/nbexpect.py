"""Expected outputs of the notebooks' deterministic cells, kept apart from the notebooks.

Committed notebooks carry no outputs, so nbval would have nothing to compare a
``# NBVAL_CHECK_OUTPUT`` cell against. This tool keeps those cells' expected text in
``notebooks/expected/<name>.json`` (reviewable, diffable) and builds executable copies with the
expected outputs attached, for ``pytest --nbval-lax OUT_DIR`` by hand. ``make test`` checks the
marked cells on its own executions of the notebooks instead (``tests/test_notebooks.py``), with
nbval's comparison rules:

    python tests/nbexpect.py build  OUT_DIR   # notebooks/*.py -> OUT_DIR/*.ipynb (+ expected outputs)
    python tests/nbexpect.py record           # execute and store the marked cells' outputs
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import jupytext
import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = NOTEBOOKS / "expected"
MARK = "# NBVAL_CHECK_OUTPUT"


def key(source: str) -> str:
    """The name a marked cell's expected output is kept under: a hash of its source."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _marked(nb):
    return [c for c in nb.cells if c.cell_type == "code" and MARK in c.source]


def build(out_dir: Path) -> list[Path]:
    written = []
    for src in sorted(NOTEBOOKS.glob("*.py")):
        nb = jupytext.read(src)
        expected_file = EXPECTED / f"{src.stem}.json"
        expected = json.loads(expected_file.read_text()) if expected_file.exists() else {}
        for cell in _marked(nb):
            outputs = expected.get(key(cell.source))
            if outputs is None:
                raise SystemExit(
                    f"{src}: a {MARK} cell has no expected output; run "
                    f"'python tests/nbexpect.py record' and review the diff"
                )
            cell.outputs = [nbformat.from_dict(o) for o in outputs]
            cell.execution_count = 1
        path = out_dir / f"{src.stem}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        written.append(path)
    return written


def record(names=None):
    from nbclient import NotebookClient

    EXPECTED.mkdir(exist_ok=True)
    for src in sorted(NOTEBOOKS.glob("*.py")):
        if names and src.stem not in names:
            continue
        nb = jupytext.read(src)
        if not _marked(nb):
            continue
        NotebookClient(
            nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        ).execute()
        expected = {key(c.source): [_strip(o) for o in c.outputs] for c in _marked(nb)}
        (EXPECTED / f"{src.stem}.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(expected)} cell(s) of {src.name}")


def _strip(output):
    o = dict(output)
    o.pop("execution_count", None)
    if "metadata" in o:
        o["metadata"] = {}
    return o


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"]:
        for p in build(Path(sys.argv[2])):
            print(p)
    elif sys.argv[1:2] == ["record"]:
        record(sys.argv[2:])
    else:
        raise SystemExit(__doc__)
