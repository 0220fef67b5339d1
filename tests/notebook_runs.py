"""Each notebook is executed twice per `make test`: once cold, once warm. Every test that needs an
executed notebook reads those two executions instead of running the notebook again.

- cold: the first execution in the session. On a fresh clone it trains what the notebook shows
  (cached under `runs/`), as a student's first run does;
- warm: the second, which reads the cached runs back.

`tests/test_notebooks.py` checks both (no cell raises; the `# NBVAL_CHECK_OUTPUT` cells give the
outputs recorded in `notebooks/expected/`, compared as nbval compares them);
`tests/test_notebooks_twice.py` compares their results with each other; `tests/test_site.py`
exports the warm ones as the static site; `tests/test_browser.py` opens notebook 05 once everything
it shows is trained. The executed notebooks are kept in `build/executed/<cold|warm>/` for a look.

The notebooks are executed with nbclient, which reads the kernel's output while a cell runs. (nbval
reads it only after the cell has finished: a cell that trains sends over a thousand progress-bar
messages, more than ZeroMQ queues, and nbval then misses the end of the cell and times out.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
EXECUTED = REPO / "build" / "executed"
NAMES = tuple(sorted(p.stem for p in NOTEBOOKS.glob("*.py")))
ORDER = ("cold", "warm")


@dataclass
class Execution:
    """One execution of one notebook in this session."""

    name: str
    which: str  # "cold" or "warm"
    notebook: nbformat.NotebookNode
    failure: str | None = None  # the first cell that raised, with its traceback

    def code_cells(self):
        return [c for c in self.notebook.cells if c.cell_type == "code"]


_RUNS: dict[tuple[str, str], Execution] = {}


def execution(name: str, which: str) -> Execution:
    """The cold or warm execution of notebook `name` (e.g. "03_training"), run once per session;
    the warm one after the cold one."""
    if which not in ORDER or name not in NAMES:
        raise KeyError(f"no such execution: {name} ({which})")
    if which == "warm":
        execution(name, "cold")
    if (name, which) not in _RUNS:
        _RUNS[(name, which)] = _execute(name, which)
    return _RUNS[(name, which)]


def _execute(name: str, which: str) -> Execution:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    failure = None
    try:
        client.execute()
    except CellExecutionError as e:
        failure = str(e)[-4000:]
    run = Execution(name, which, nb, failure)
    out = EXECUTED / which / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return run
