"""The error explorer of notebook 05 in headless Chromium, in two frontends: a real JupyterLab and
the Voila app of `make explorer`.

In Lab it runs the whole notebook as a learner would (Run All), then picks another class in the
explorer's list and checks that the metrics card and the heatmap follow. In Voila the app runs the
notebook for the page; a class is picked and a tab opened there. Screenshots go to test-artifacts/.
Skipped without Debian's chromium ('make browser'), unless EFFNET_REQUIRE_BROWSER=1.

What the notebook trains is trained before any browser opens: `make test` has executed notebook 05
twice already (tests/notebook_runs.py), and a run of this test alone executes it once first. The
browser then reads the cached runs and only drives the widgets.

Timings measured here (2 cores, chromium 156, JupyterLab 4.6, cached quick run), seconds from
server start: server ready 2.3-2.7, kernel idle 6-7, explorer rendered 11-28 (the notebook
evaluates the run's test split first; the spread is the machine's other load), selection to card
and heatmap updated 0.3-0.4; whole test 12-30, pytest wall 19-37.
"""

import re
import sys
import time
from pathlib import Path

import pytest
from browser import (
    NOTEBOOKS,
    artifact_path,
    chromium_page,
    element_screenshot,
    error_outputs,
    lab_server,
    open_notebook,
    report_failure,
    require_chromium,
    run_all_cells,
    voila_app,
    wait_for_output,
    wait_image_drawn,
    wait_run_all_done,
)
from notebook_runs import execution

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.notebooks]

NOTEBOOK = NOTEBOOKS / "05_explorer.py"


def explorer_shown(page):
    """The explorer, its card, class list and heatmap, once rendered (the widgets extension loaded)."""
    from playwright.sync_api import expect

    explorer, card = page.locator(".effnet-explorer"), page.locator(".effnet-card")
    select = page.locator(".effnet-class-list select")
    expect(select.locator("option").nth(1)).to_be_attached(timeout=60_000)
    expect(card).to_contain_text(re.compile(r"\w"), timeout=60_000)
    heatmap = page.locator("img.effnet-heatmap, .effnet-heatmap img").first
    expect(heatmap).to_be_visible(timeout=60_000)
    return explorer, card, select, heatmap


def explore(source: Path, tmp_path: Path, timings: dict) -> None:
    from playwright.sync_api import expect

    chromium = require_chromium()
    assert source.exists(), f"{source} is missing"
    t0 = time.monotonic()
    with lab_server(tmp_path) as lab, chromium_page(chromium) as page:
        timings["server ready"] = time.monotonic() - t0
        with report_failure(page, lab, "explorer-failure.png"):
            open_notebook(page, lab, lab.add_notebook(source))
            timings["kernel idle"] = time.monotonic() - t0
            kernels = lab.kernel_processes()  # the venv's python, started from our isolated state
            assert [Path(k[0]).resolve() for k in kernels] == [Path(sys.executable).resolve()], kernels

            run_all_cells(page)
            wait_for_output(page, ".effnet-explorer", timeout_s=300)  # trained before (see top)
            assert not error_outputs(page), error_outputs(page)
            explorer, card, select, heatmap = explorer_shown(page)
            timings["explorer shown"] = time.monotonic() - t0

            old_text, old_heatmap = card.inner_text(), heatmap.get_attribute("src")
            values = select.evaluate("s => [...s.options].map(o => o.value)")
            current = select.input_value()
            others = [v for v in values if v != current]
            # A label is the class name, maybe followed by "(metric ...)"; prefer a class the old
            # card does not mention (it lists the confused classes too).
            new = next((v for v in others if _class_name(v) not in old_text), others[0])
            t1 = time.monotonic()
            select.select_option(value=new)
            expect(card).not_to_have_text(old_text, timeout=60_000)
            expect(card).to_contain_text(_class_name(new), timeout=60_000)
            expect(heatmap).not_to_have_attribute("src", old_heatmap or "", timeout=60_000)
            timings["card updated"] = time.monotonic() - t1

            # A further view: the whole confusion matrix ordered by confusion clusters, in its tab;
            # back on the class tab, the class picked before is still the one shown.
            t2 = time.monotonic()
            explorer.locator(".lm-TabBar-tab", has_text="Confusion matrix").click()
            ordered = page.locator("img.effnet-ordered-matrix, .effnet-ordered-matrix img").first
            expect(ordered).to_be_visible(timeout=60_000)
            wait_image_drawn(page, ".effnet-ordered-matrix")
            explorer.locator(".lm-TabBar-tab", has_text="Classes").click()
            expect(card).to_contain_text(_class_name(new), timeout=60_000)
            timings["ordered matrix shown"] = time.monotonic() - t2

            wait_run_all_done(page, timeout_s=300)
            assert not error_outputs(page), error_outputs(page)
            page.screenshot(path=artifact_path("explorer-page.png"), full_page=True)
            element_screenshot(page, explorer, artifact_path("explorer.png"))
            timings["total"] = time.monotonic() - t0


def _class_name(label: str) -> str:
    """A class picker's label without what follows the name ("(metric ...)")."""
    return re.sub(r"\s*\(.*\)\s*$", "", label)


def test_explorer_card_follows_the_selected_class(tmp_path):
    trained = execution(NOTEBOOK.stem, "cold")  # what the notebook shows is trained, not in the browser
    assert trained.failure is None, trained.failure
    timings = {}
    explore(NOTEBOOK, tmp_path, timings)
    print("\nbrowser test timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


def test_explorer_as_a_voila_app(tmp_path):
    """`make explorer`'s app: the explorer renders without the code around it, a picked class moves
    the card and the heatmap, and a tab's click draws that tab's view."""
    from playwright.sync_api import expect

    trained = execution(NOTEBOOK.stem, "cold")
    assert trained.failure is None, trained.failure
    chromium, timings, t0 = require_chromium(), {}, time.monotonic()
    with voila_app(tmp_path, NOTEBOOK) as app, chromium_page(chromium) as page:
        timings["app ready"] = time.monotonic() - t0
        with report_failure(page, app, "voila-failure.png"):
            page.goto(app.base, timeout=300_000)
            wait_for_output(page, ".effnet-explorer", timeout_s=300)
            assert not error_outputs(page), error_outputs(page)
            assert not page.locator(".jp-InputArea-editor, .cm-editor").count()  # no code: prose and outputs
            explorer, card, select, heatmap = explorer_shown(page)
            timings["explorer shown"] = time.monotonic() - t0

            old_text, old_heatmap = card.inner_text(), heatmap.get_attribute("src")
            current = select.input_value()
            new = next(v for v in select.evaluate("s => [...s.options].map(o => o.value)") if v != current)
            select.select_option(value=new)
            expect(card).not_to_have_text(old_text, timeout=60_000)
            expect(heatmap).not_to_have_attribute("src", old_heatmap or "", timeout=60_000)
            wait_image_drawn(page, ".effnet-heatmap")
            explorer.locator(".lm-TabBar-tab", has_text="Calibration").click()
            expect(explorer).to_contain_text("Expected calibration error", timeout=120_000)
            wait_image_drawn(page, ".effnet-calibration")
            wait_image_drawn(page, ".effnet-class-calibration")
            timings["class picked, tab opened"] = time.monotonic() - t0
            assert not error_outputs(page), error_outputs(page)
            element_screenshot(page, explorer, artifact_path("voila-explorer.png"))
    print("\nvoila test timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
