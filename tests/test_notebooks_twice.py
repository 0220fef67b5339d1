"""A notebook run twice in fresh kernels gives the same results (tables, printed figures): the cold
execution of `make test` (which trains on a fresh clone) against the warm one (which reads the
cached runs back), both from tests/notebook_runs.py.

Cells marked `# NBVAL_IGNORE_OUTPUT` (nbval's marker) measure time on the machine they run on and
are left out."""

import pytest
from notebook_runs import NAMES, execution


def _results(run):
    assert run.failure is None, f"{run.name} ({run.which} run): {run.failure}"
    found = []
    for cell in run.code_cells():
        if "NBVAL_IGNORE_OUTPUT" in cell.source:
            continue
        stdout = []
        for out in cell.get("outputs", []):
            if out["output_type"] in ("execute_result", "display_data") and "text/plain" in out["data"]:
                text = out["data"]["text/plain"]
                # Figures, widgets and progress bars are not results. tqdm's notebook bar is a widget
                # whose plain-text form is the bar itself ("configs: 14%|#4 | 1/7"), so widgets are
                # recognised by their widget-view data, not by their text.
                if "application/vnd.jupyter.widget-view+json" in out["data"]:
                    continue
                if not text.startswith(("<Figure", "<effnet_lib", "<matplotlib")):
                    found.append(text)
            elif out["output_type"] == "stream" and out["name"] == "stdout":
                stdout.append(out["text"])
        # A cell's printed text may arrive in one piece or several: compare it whole, minus the
        # per-epoch training lines (a run read back from its folder prints none).
        text = "".join(line for line in "".join(stdout).splitlines(keepends=True) if "epoch " not in line)
        if text:
            found.append(text)
    return found


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("name", NAMES)
def test_same_results_twice(name):
    first, second = _results(execution(name, "cold")), _results(execution(name, "warm"))
    assert first and first == second
