"""`make site`: every notebook executed and exported in order under an index with its contents,
figures embedded; the index opens in a real browser. The pages are exported from the suite's warm
executions of the notebooks (tests/notebook_runs.py), the code path `make site` takes after its own
execution."""

import importlib.util
from pathlib import Path

import pytest
from notebook_runs import execution

ROOT = Path(__file__).resolve().parents[1]


def _build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.notebooks
def test_site_builds_every_notebook_with_its_figures_and_opens(tmp_path):
    from browser import chromium_page, serve_folder

    sources = sorted((ROOT / "notebooks").glob("*.py"))
    runs = {s.stem: execution(s.stem, "warm") for s in sources}
    for run in runs.values():
        assert run.failure is None, f"{run.name}: {run.failure}"
    out = tmp_path / "site"
    _build_site().build(out, executed={name: run.notebook for name, run in runs.items()})
    index = (out / "index.html").read_text()
    positions = [index.index(f"{s.stem}.html") for s in sources]
    assert positions == sorted(positions)  # in order
    for s in sources:
        page = (out / f"{s.stem}.html").read_text()
        assert "data:image/png;base64," in page, s.stem  # its figures, embedded
        assert (
            "Traceback" not in page
            and 'class="jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr"' not in page
        )
    assert "explorer" in (out / "05_explorer.html").read_text().lower()
    assert "href='teaching.html'" in index
    teaching = (out / "teaching.html").read_text()
    for s in sources:  # each student version, downloadable, beside its page
        assert f"href='student/{s.stem}.ipynb' download" in teaching and f"href='{s.stem}.html'" in teaching
        student = (out / "student" / f"{s.stem}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in student and "YOUR ANSWER HERE" in student, s.stem
    with serve_folder(out) as url, chromium_page() as page:
        page.goto(f"{url}/index.html")
        assert page.locator("h1").inner_text() == "EfficientNet Workbook"
        assert page.locator("li a").count() == len(sources)
        page.locator("li a").first.click()
        page.wait_for_load_state()
        assert page.locator("img").count() > 0
        page.goto(f"{url}/index.html")
        page.locator("p.teachers a").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Teaching with the workbook"
        assert page.locator("a[download]").count() == len(sources)
        assert page.locator("table").count() >= 3  # TEACHING.md's tables, rendered


@pytest.mark.slow
def test_make_site_executes_a_notebook_itself(tmp_path):
    """`make site` alone runs each notebook through `execute` (the suite exports its own executions)."""
    source = tmp_path / "tiny.py"
    source.write_text("# %% [markdown]\n# # Tiny\n\n# %%\nprint(6 * 7)\n")
    nb = _build_site().execute(source)
    assert [o.get("text") for c in nb.cells if c.cell_type == "code" for o in c.outputs] == ["42\n"]
    assert _build_site().outline(nb) == ("Tiny", [], 0)
