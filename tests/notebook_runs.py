"""Each notebook is executed twice per `make test`: once cold, once warm. Every test that needs an
executed notebook reads those two executions instead of running the notebook again.

`make test` builds two copies of every notebook (`tests/nbexpect.py build`): `build/notebooks/cold/`
and `build/notebooks/warm/`, and hands them to nbval before the tests, in that order. nbval runs
every cell, fails a cell that raises, and compares the `# NBVAL_CHECK_OUTPUT` cells with their
expected outputs. On a fresh clone the cold copies train what the notebooks need (cached under
`runs/`); the warm copies read it back. The conftest hook `pytest_runtest_call` records the outputs
of every cell nbval runs here, so that

- `tests/test_notebooks_twice.py` compares the cold and the warm execution,
- `tests/test_site.py` exports the warm execution as the static site,
- `tests/test_browser.py` opens notebook 05 once everything it shows is trained.

A test run on its own (no nbval items in the session) gets the same two executions from nbclient,
in the same order, recorded the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ORDER = ("cold", "warm")


@dataclass
class Execution:
    """One execution of one notebook: each code cell's outputs, in order, and what failed."""

    name: str
    which: str  # "cold" or "warm"
    outputs: dict[int, list] = field(default_factory=dict)  # code-cell number -> outputs
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    by: str = "nbval"

    def notebook(self) -> nbformat.NotebookNode:
        """The notebook's source with this execution's outputs, as a saved executed notebook."""
        nb = jupytext.read(NOTEBOOKS / f"{self.name}.py")
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        code = [c for c in nb.cells if c.cell_type == "code"]
        for k, cell in enumerate(code):
            cell.outputs = [nbformat.from_dict(dict(o)) for o in self.outputs.get(k, [])]
            cell.execution_count = k + 1
            for o in cell.outputs:
                if o.get("output_type") == "execute_result":
                    o["execution_count"] = k + 1
        return nb


_RUNS: dict[tuple[str, str], Execution] = {}


def record_cell(path: Path, cell_num: int, outputs, seconds: float, failure: str | None) -> None:
    """Called for each notebook cell nbval runs (build/notebooks/<cold|warm>/<name>.ipynb)."""
    which, name = path.parent.name, path.stem
    if which not in ORDER:
        return
    run = _RUNS.setdefault((name, which), Execution(name, which))
    run.outputs[cell_num] = list(outputs or [])
    run.seconds += seconds
    if failure:
        run.failures.append(f"cell {cell_num}: {failure}")


def execution(name: str, which: str) -> Execution:
    """The cold or warm execution of notebook `name` (e.g. "03_training") in this session.

    Recorded from nbval when `make test` ran it; otherwise executed here with nbclient (the cold
    one first, so that the warm one really reads back what the cold one trained)."""
    if which == "warm":
        execution(name, "cold")
    if (name, which) not in _RUNS:
        _RUNS[(name, which)] = _execute(name, which)
    return _RUNS[(name, which)]


def _execute(name: str, which: str) -> Execution:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    run = Execution(name, which, by="nbclient")
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    except CellExecutionError as e:
        run.failures.append(str(e)[-3000:])
    run.seconds = time.perf_counter() - start
    code = [c for c in nb.cells if c.cell_type == "code"]
    run.outputs = {k: list(c.get("outputs", [])) for k, c in enumerate(code)}
    return run
