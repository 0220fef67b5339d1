"""A notebook run twice in fresh kernels gives the same results (tables, printed figures)."""

from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _results(name):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] in ("execute_result", "display_data") and "text/plain" in out["data"]:
                text = out["data"]["text/plain"]
                if not text.startswith(("<Figure", "<effnet_lib", "<matplotlib", "VBox(")):
                    found.append(text)
            elif out["output_type"] == "stream" and out["name"] == "stdout" and "epoch " not in out["text"]:
                found.append(out["text"])
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("*.py")))
def test_same_results_twice(name):
    first, second = _results(name), _results(name)
    assert first and first == second
