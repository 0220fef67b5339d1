"""Project hygiene: notebook pairs in sync and output-free, conda and pip naming the same packages, the
README's recorded figures equal to the files they come from."""

import json
import re
from pathlib import Path

import jupytext
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))


def test_every_notebook_has_a_pair():
    assert {p.stem for p in SOURCES} == {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert len(SOURCES) >= 3


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_pair_in_sync_and_without_outputs(source):
    committed = json.loads(source.with_suffix(".ipynb").read_text())
    for cell in committed["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{source.stem}: outputs committed"
    from_py = jupytext.read(source)
    from_ipynb = jupytext.read(source.with_suffix(".ipynb"))
    py_cells = [(c.cell_type, c.source) for c in from_py.cells]
    nb_cells = [(c["cell_type"], c["source"]) for c in from_ipynb.cells]
    assert py_cells == nb_cells, f"{source.stem}: .py and .ipynb differ; run 'make notebooks'"
    assert from_ipynb.metadata["kernelspec"]["name"] == "python3"


def test_notebooks_open_with_goals_and_close_with_checked_exercises():
    for source in SOURCES:
        text = source.read_text()
        assert "**Learning goals.**" in text.split("# %%")[1], source.name
        cells = text.split("# %%")
        assert "exercises.check(" in cells[-3], source.name  # then the questionnaire and further research
        assert [c.split("\n")[1] for c in cells[-2:]] == ["# ## Questionnaire", "# ## Further research"], source.name


def _requirement_names(specs):
    return {re.split(r"[<>=! \[]", s, maxsplit=1)[0].lower().replace("_", "-"): s for s in specs}


def test_environment_yml_and_pyproject_name_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = _requirement_names(project["dependencies"] + project["optional-dependencies"]["dev"])
    conda_names = {"pytorch": "torch"}
    deps = (ROOT / "environment.yml").read_text().split("dependencies:")[1]
    env = [
        line.strip()[2:]
        for line in deps.splitlines()
        if line.strip().startswith("- ")
        and not line.strip().startswith("- pip")
        and not line.strip().startswith("- -e")
    ]
    conda = {}
    for spec in env:
        name, rest = re.match(r"([A-Za-z0-9_.-]+)(.*)", spec).groups()
        if name != "python":
            conda[conda_names.get(name, name).lower()] = rest.replace(" ", "")
    assert set(conda) == set(pip)
    for name, rest in conda.items():  # same lower bounds
        assert pip[name].replace(" ", "").endswith(rest), (name, pip[name], rest)


def _readme_paragraphs():
    """The README's paragraphs; one that ends with a colon takes the list that follows it."""
    blocks, i, out = re.split(r"\n\s*\n", (ROOT / "README.md").read_text()), 0, []
    while i < len(blocks):
        group = [blocks[i]]
        while blocks[i].rstrip().endswith(":") and i + 1 < len(blocks) and blocks[i + 1].lstrip().startswith("- "):
            i += 1
            group.append(blocks[i])
        out.append("\n".join(group))
        i += 1
    return out


@pytest.mark.parametrize("bench", ["sweep_speed", "explorer_latency", "cli_speed", "test_suite", "notebook_times"])
def test_readme_speed_figures_are_the_benchmarks(bench):
    """Every decimal figure the README gives beside a benchmark's link is in that benchmark's file."""
    paragraphs = [p for p in _readme_paragraphs() if f"](benchmarks/{bench}.md)" in p]
    recorded = (ROOT / "benchmarks" / f"{bench}.md").read_text()
    figures = {
        f for p in paragraphs for f in re.findall(r"(?<![\w.])(\d+\.\d+)(?=x\b|[^\w.]|$)", re.sub(r"`[^`]*`", "", p))
    }
    assert paragraphs and figures
    assert not [f for f in sorted(figures) if f not in recorded], f"README figures not in benchmarks/{bench}.md"


def test_readme_demo_and_scaling_figures_are_the_recorded_ones():
    readme = " ".join((ROOT / "README.md").read_text().split())
    demo = json.loads((ROOT / "data/results/demo.json").read_text())
    m = re.search(
        r"validation accuracy ([\d.]+) and test accuracy ([\d.]+) \(.*?([\d,]+) test images\); "
        r"the batch test of five `(\w+)` images got (\d) right",
        readme,
    )
    assert m, "the README's sentence on the demo's recorded run"
    assert (float(m[1]), float(m[2]), int(m[3].replace(",", ""))) == (
        round(demo["val"]["accuracy"], 3),
        round(demo["test"]["accuracy"], 3),
        demo["test"]["n"],
    )
    assert (m[4], int(m[5])) == (demo["batch_test"]["class"], demo["batch_test"]["right"])
    how = json.loads((ROOT / "data/results/scaling_full.json").read_text())
    m = re.search(r"trained (\d+) networks .*? for ([\d,]+) network-seconds", readme)
    assert m and (int(m[1]), int(m[2].replace(",", ""))) == (how["trained_configs"], round(how["total_train_seconds"]))


def test_teaching_times_are_the_measured_ones():
    """TEACHING.md's table of seconds per notebook is benchmarks/notebook_times.json, row for row."""
    times = json.loads((ROOT / "benchmarks" / "notebook_times.json").read_text())["notebooks"]
    rows = re.findall(r"^\| (\d\d) [^|]+\| ([\d.]+) s \| ([\d.]+) s \|$", (ROOT / "TEACHING.md").read_text(), re.M)
    assert len(rows) == len(times) == 6
    for number, cold, warm in rows:
        record = next(v for k, v in times.items() if k.startswith(number))
        assert (float(cold), float(warm)) == (round(record["cold_s"], 1), round(record["warm_s"], 1)), number
