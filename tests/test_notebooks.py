"""Every notebook, executed cold and then warm in quick mode (tests/notebook_runs.py): no cell raises,
and the cells marked `# NBVAL_CHECK_OUTPUT` give the outputs recorded in `notebooks/expected/`,
compared the way `pytest --nbval-lax` compares them (nbval's own stream handling; text outputs equal
key by key; images, widget views, metadata and execution counts left out)."""

import copy
import json
from collections import defaultdict

import nbformat
import pytest
from nbexpect import EXPECTED, MARK, key
from nbval.plugin import coalesce_streams, transform_streams_for_comparison
from notebook_runs import NAMES, ORDER, execution

# What nbval leaves out of a comparison without --nbdime (nbval.plugin.IPyNbFile.skip_compare).
SKIP = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
}


def comparable(outputs) -> dict[str, list]:
    """An output list as nbval compares it: streams merged per name, then every field and every
    mime type's data collected under its key."""
    outputs = transform_streams_for_comparison(coalesce_streams(copy.deepcopy(list(outputs))))
    found = defaultdict(list)
    for out in outputs:
        for k, v in out.items():
            if k == "data":
                for mime, data in v.items():
                    if mime not in SKIP:
                        found[mime].append(data)
            elif k not in SKIP:
                found[k].append(v)
    return dict(found)


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("which", ORDER)
@pytest.mark.parametrize("name", NAMES)
def test_every_cell_runs_and_checked_outputs_are_the_expected(name, which):
    run = execution(name, which)
    assert run.failure is None, f"{name} ({which} run): {run.failure}"
    marked = [c for c in run.code_cells() if MARK in c.source]
    if not marked:
        return
    expected = json.loads((EXPECTED / f"{name}.json").read_text())
    for cell in marked:
        recorded = expected.get(key(cell.source))
        assert recorded is not None, f"{name}: a {MARK} cell has no expected output; run 'make expected'"
        want = comparable(nbformat.from_dict(o) for o in recorded)
        got = comparable(cell.outputs)
        assert got == want, f"{name} ({which} run), cell:\n{cell.source}"


def test_the_comparison_sees_a_changed_figure_and_ignores_what_nbval_ignores():
    out = lambda text, png="x": nbformat.from_dict(  # noqa: E731
        {
            "output_type": "execute_result",
            "execution_count": 3,
            "metadata": {"a": 1},
            "data": {"text/plain": text, "image/png": png},
        }
    )
    stream = lambda text: nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": text})  # noqa: E731
    assert comparable([stream("a"), stream("b\n"), out("1")]) == comparable([stream("ab\n"), out("1", png="y")])
    assert comparable([out("1")]) != comparable([out("2")])
    assert comparable([stream("a\n")]) != comparable([stream("a\n"), stream("b\n"), out("1")])
