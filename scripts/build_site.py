"""`make site`: the workbook as a static HTML site a course can publish, built offline.

Each notebook (its `.py` source, as the repository holds it) is executed in quick mode with
nbclient and exported with nbconvert's HTML exporter (lab template, every figure embedded), in
order, under one index page with a table of contents: each notebook's title, its sections and
how many figures it holds. Where a notebook shows a widget, the page shows the static picture the
notebook saves beside it (the explorer's PNG). Nothing is fetched from the network.

    python scripts/build_site.py [OUT_DIR]      # default: build/site; OUT_DIR/index.html opens it
"""

from __future__ import annotations

import html
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STYLE = ("body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}"
         "li{margin:.4em 0}.sections{color:#555;font-size:90%}")


def execute(source: Path, timeout: int = 1800) -> nbformat.NotebookNode:
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def outline(nb) -> tuple[str, list[str], int]:
    """The notebook's title, its section headings and its number of figures."""
    headings = [line.lstrip("#").strip() for cell in nb.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if re.match(r"#{1,2} ", line)]
    figures = sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
                  if "image/png" in out.get("data", {}))
    return (headings[0] if headings else "untitled"), headings[1:], figures


def build(out: Path, executed=None) -> Path:
    """The site in `out`. `executed` (a notebook's name -> its executed notebook) exports those
    executions instead of running the notebooks again (the test suite's own executions)."""
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    entries = []
    for source in sorted(NOTEBOOKS.glob("*.py")):
        start = time.perf_counter()
        nb = executed[source.stem] if executed is not None else execute(source)
        body, _ = exporter.from_notebook_node(nb)
        page = out / f"{source.stem}.html"
        page.write_text(body, encoding="utf-8")
        title, sections, figures = outline(nb)
        entries.append((page.name, title, sections, figures))
        print(f"{source.name}: {figures} figures, {time.perf_counter() - start:.0f} s")
    items = "".join(f"<li><a href='{name}'>{html.escape(title)}</a> ({figures} figures)"
                    f"<div class='sections'>{html.escape(' · '.join(sections))}</div></li>"
                    for name, title, sections, figures in entries)
    index = out / "index.html"
    index.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>EfficientNet Workbook</title>"
                     f"<style>{STYLE}</style></head><body><h1>EfficientNet Workbook</h1>"
                     f"<p>The notebooks, executed in quick mode (CPU-sized runs on the built-in data; full-mode "
                     f"results are the committed tables they load).</p><ol>{items}</ol></body></html>",
                     encoding="utf-8")
    return index


if __name__ == "__main__":
    print("site:", build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "site"))
