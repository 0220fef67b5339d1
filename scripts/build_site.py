"""`make site`: the workbook as a static HTML site a course can publish, built offline.

Each notebook (its `.py` source, as the repository holds it) is executed in quick mode with
nbclient and exported with nbconvert's HTML exporter (lab template, every figure embedded), in
order, under one index page with a table of contents: each notebook's title, its sections and
how many figures it holds. Where a notebook shows a widget, the page shows the static picture the
notebook saves beside it (the explorer's PNG). Nothing is fetched from the network.

A teacher's page (`teaching.html`) holds TEACHING.md and links the student versions of the
notebooks (`student/`, nbgrader's release that `make assignments` writes: the exercises' answers
and the questionnaires' model answers held back). The teacher's version is not published: a
teacher makes it with `make assignments`.

    python scripts/build_site.py [OUT_DIR]      # default: build/site; OUT_DIR/index.html opens it
"""

from __future__ import annotations

import html
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_assignments  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}"
    "li{margin:.4em 0}.sections{color:#555;font-size:90%}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}"
    ".anchor-link{display:none}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def teachers_page(out: Path, titles: dict) -> Path:
    """`teaching.html`: TEACHING.md, then the student versions to download (nbgrader's release,
    copied to `student/`), each beside its page on this site."""
    student = out / "student"
    shutil.rmtree(student, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        course = make_assignments.build(Path(tmp) / "course")
        shutil.copytree(course / "release" / make_assignments.ASSIGNMENT, student, ignore=shutil.ignore_patterns(".*"))
    rows = "".join(
        f"<li><a href='student/{name}.ipynb' download>{name}.ipynb</a> "
        f"(read on this site: <a href='{name}.html'>{html.escape(titles[name])}</a>)</li>"
        for name in sorted(p.stem for p in student.glob("*.ipynb"))
    )
    body = markdown2html_mistune((ROOT / "TEACHING.md").read_text(encoding="utf-8"))
    links = (
        f"<h2>The student versions</h2><p>Every notebook with the exercises' answers and the "
        f"questionnaires' model answers held back, the checks kept, in nbgrader's format. The "
        f"teacher's version, with every answer, is made by <code>make assignments</code>.</p>"
        f"<ul>{rows}</ul><p><a href='index.html'>Back to the notebooks</a></p>"
    )
    page = out / "teaching.html"
    page.write_text(_page("Teaching with the workbook", body + links), encoding="utf-8")
    return page


def execute(source: Path, timeout: int = 1800) -> nbformat.NotebookNode:
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return nb


def outline(nb) -> tuple[str, list[str], int]:
    """The notebook's title, its section headings and its number of figures."""
    headings = [
        line.lstrip("#").strip()
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if re.match(r"#{1,2} ", line)
    ]
    figures = sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )
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
    teachers_page(out, {name.removesuffix(".html"): title for name, title, _, _ in entries})
    items = "".join(
        f"<li><a href='{name}'>{html.escape(title)}</a> ({figures} figures)"
        f"<div class='sections'>{html.escape(' · '.join(sections))}</div></li>"
        for name, title, sections, figures in entries
    )
    index = out / "index.html"
    index.write_text(
        _page(
            "EfficientNet Workbook",
            f"<h1>EfficientNet Workbook</h1><p>The notebooks, executed in quick mode (CPU-sized "
            f"runs on the built-in data; full-mode results are the committed tables they load)."
            f"</p><ol>{items}</ol><p class='teachers'>For teachers: <a href='teaching.html'>two "
            f"90-minute labs, and the student versions of the notebooks</a>.</p>",
        ),
        encoding="utf-8",
    )
    return index


if __name__ == "__main__":
    print("site:", build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "site"))
