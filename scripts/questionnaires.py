"""The end-of-notebook questionnaires and discussion questions, kept in `teaching/questionnaires.toml`.

Each notebook ends with two markdown cells written from that file:

- **Questionnaire**: short questions a careful reader answers in a few sentences. The model answers
  are in the file and in the teacher's version (`make assignments`), never in the notebook.
- **Further research**: two or three open questions, each with readings from the file's list.

    python scripts/questionnaires.py --write   # rewrite the two cells in notebooks/*.py from the file
    python scripts/questionnaires.py --check   # exit 1 where a notebook's cells differ from the file

`make notebooks` writes them before it syncs the .ipynb pairs; the test suite checks them.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "teaching" / "questionnaires.toml"
NOTEBOOKS = REPO / "notebooks"
QUESTIONNAIRE = "## Questionnaire"
FURTHER = "## Further research"
QUESTIONNAIRE_INTRO = (
    "Answer each question in a few sentences from what this notebook shows. The teacher's "
    "version (`make assignments`) holds model answers."
)
FURTHER_INTRO = "Open questions for a discussion in class or a short essay: no single answer is right."
WIDTH = 98  # the notebooks' source lines stay within 100 characters with their "# "


def load(path: Path = SOURCE) -> dict:
    """{notebook: {"questions": [(ask, answer)], "discussion": [(ask, [reading])]}, "reading": {...}}
    with every reading a discussion names resolved; an unknown key is an error that names it."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    reading = data.get("reading", {})
    course: dict = {}
    for q in data.get("question", []):
        course.setdefault(q["notebook"], {"questions": [], "discussion": []})["questions"].append(
            (q["ask"].strip(), q["answer"].strip())
        )
    for d in data.get("discussion", []):
        unknown = [key for key in d["reading"] if key not in reading]
        if unknown:
            raise SystemExit(
                f"{path}: a discussion question of {d['notebook']} names unknown readings "
                f"{unknown}; add them under [reading.KEY] or fix the key"
            )
        course.setdefault(d["notebook"], {"questions": [], "discussion": []})["discussion"].append(
            (d["ask"].strip(), [reading[key] | {"key": key} for key in d["reading"]])
        )
    return {"notebooks": course, "reading": reading}


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False
    )


def _item(number: int, text: str) -> str:
    """A numbered Markdown list item, each of its lines wrapped and indented under the number."""
    first, *rest = text.splitlines()
    lines = _wrap(first, f"{number}. ", "   ")
    for line in rest:
        lines += _wrap(line, "   ", "   ")
    return "\n".join(lines)


def cite(ref: dict) -> str:
    return f"[{ref['title']}]({ref['url']}) ({ref['authors']}, {ref['year']})"


def questionnaire_markdown(entry: dict) -> str:
    items = [_item(i, ask) for i, (ask, _) in enumerate(entry["questions"], 1)]
    return "\n".join([QUESTIONNAIRE, "", *_wrap(QUESTIONNAIRE_INTRO), "", *items])


def further_markdown(entry: dict) -> str:
    items = [
        _item(i, f"{ask}\n*Reading:* " + "; ".join(cite(r) for r in refs))
        for i, (ask, refs) in enumerate(entry["discussion"], 1)
    ]
    return "\n".join([FURTHER, "", *_wrap(FURTHER_INTRO), "", *items])


def _percent(markdown: str) -> str:
    """A markdown cell as jupytext's percent format writes it."""
    return "# %% [markdown]\n" + "\n".join(f"# {line}" if line else "#" for line in markdown.splitlines()) + "\n"


def with_cells(text: str, entry: dict) -> str:
    """A notebook's percent source with its questionnaire and further-research cells (its last two
    cells) written from `entry`, added at the end where it has none yet."""
    marker = f"# %% [markdown]\n# {QUESTIONNAIRE}\n"
    head = text[: text.index(marker)] if marker in text else text.rstrip("\n") + "\n\n"
    return head + _percent(questionnaire_markdown(entry)) + "\n" + _percent(further_markdown(entry))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args()
    course = load()["notebooks"]
    stale = []
    for path in sorted(NOTEBOOKS.glob("0*.py")):
        if path.stem not in course:
            raise SystemExit(
                f'{SOURCE}: no questions for {path.stem}; add [[question]] entries with notebook = "{path.stem}"'
            )
        text = path.read_text(encoding="utf-8")
        new = with_cells(text, course[path.stem])
        if new != text:
            stale.append(path)
            if args.write:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(
            f"{path}: {'rewritten' if args.write else 'differs from'} {SOURCE.relative_to(REPO)}"
            + ("" if args.write else "; run `make notebooks`")
        )
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
