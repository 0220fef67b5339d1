"""`make site`: every notebook executed and exported in order under an index with its contents,
figures embedded; the index opens in a real browser."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_site_builds_every_notebook_with_its_figures_and_opens(tmp_path):
    from browser import chromium_page, serve_folder
    out = tmp_path / "site"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_site.py"), str(out)], capture_output=True,
                          text=True, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sources = sorted((ROOT / "notebooks").glob("*.py"))
    index = (out / "index.html").read_text()
    positions = [index.index(f"{s.stem}.html") for s in sources]
    assert positions == sorted(positions)  # in order
    for s in sources:
        page = (out / f"{s.stem}.html").read_text()
        assert "data:image/png;base64," in page, s.stem  # its figures, embedded
        assert "Traceback" not in page and 'class="jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr"' not in page
    assert "explorer" in (out / "05_explorer.html").read_text().lower()
    with serve_folder(out) as url, chromium_page() as page:
        page.goto(f"{url}/index.html")
        assert page.locator("h1").inner_text() == "EfficientNet Workbook"
        assert page.locator("li a").count() == len(sources)
        page.locator("li a").first.click()
        page.wait_for_load_state()
        assert page.locator("img").count() > 0
