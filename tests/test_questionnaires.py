"""The questionnaires (`teaching/questionnaires.toml`): every notebook ends with its questions and
discussion questions as the file holds them, the sizes the course promises, readings that exist in
the file's list, and model answers that quote no number their notebook does not state."""

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import questionnaires  # noqa: E402

NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.py"))
COURSE = questionnaires.load()


def test_every_notebook_ends_with_its_questionnaire_and_discussion_from_the_file():
    assert sorted(COURSE["notebooks"]) == [p.stem for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert questionnaires.with_cells(text, COURSE["notebooks"][path.stem]) == text, (
            f"{path.name}: its last two cells differ from teaching/questionnaires.toml; run `make notebooks`"
        )
        cells = text.split("# %%")
        assert cells[-2].startswith(f" [markdown]\n# {questionnaires.QUESTIONNAIRE}\n")
        assert cells[-1].startswith(f" [markdown]\n# {questionnaires.FURTHER}\n")


def test_the_sizes_the_course_promises_and_the_four_readings_it_names():
    used = set()
    for name, entry in COURSE["notebooks"].items():
        assert 8 <= len(entry["questions"]) <= 10, name
        assert 2 <= len(entry["discussion"]) <= 3, name
        for ask, answer in entry["questions"]:
            assert ask.endswith("?") or ask.endswith("."), (name, ask)
            assert 1 <= len(re.findall(r"[.!?](?:\s|$)", answer)) <= 6, (name, answer)  # a few sentences
        for _, refs in entry["discussion"]:
            assert 1 <= len(refs) <= 3
            used |= {r["key"] for r in refs}
    assert {"efficientnet", "efficientnetv2", "revisiting_resnets", "fast_scaling"} <= used
    for key, ref in COURSE["reading"].items():
        assert re.fullmatch(r"https://arxiv\.org/abs/\d{4}\.\d{4,5}", ref["url"]), key
        assert ref["title"] and ref["authors"] and 2010 <= ref["year"] <= 2026


def _numbers(text: str) -> set[str]:
    return {
        n for n in re.findall(r"(?<![\w.-])\d+(?:\.\d+)?(?![\w])", text) if not re.fullmatch(r"\d", n) and n != "10"
    }


def test_answers_quote_only_numbers_their_notebook_states():
    """A printed value may change with a run; the prose's numbers are checked by the notebooks' tests.
    So a model answer, or a discussion question, quotes a number (other than 0-10) only where the
    notebook's source states it."""
    for path in NOTEBOOKS:
        stated = _numbers(path.read_text(encoding="utf-8"))
        entry = COURSE["notebooks"][path.stem]
        for text in [answer for _, answer in entry["questions"]] + [ask for ask, _ in entry["discussion"]]:
            assert _numbers(text) <= stated, (path.stem, sorted(_numbers(text) - stated), text)


def test_an_unknown_reading_is_one_line_that_names_it(tmp_path):
    bad = tmp_path / "q.toml"
    bad.write_text('[[discussion]]\nnotebook = "00_x"\nask = "Why?"\nreading = ["nope"]\n')
    with pytest.raises(SystemExit, match=r"q\.toml: .* 00_x names unknown readings \['nope'\]"):
        questionnaires.load(bad)


def test_the_cells_are_written_where_a_notebook_has_none_and_replaced_where_it_has():
    entry = {
        "questions": [("What is φ?", "The compound coefficient.")],
        "discussion": [("Why?\nSay why.", [COURSE["reading"]["efficientnet"] | {"key": "efficientnet"}])],
    }
    once = questionnaires.with_cells("# %%\nprint(1)\n", entry)
    assert once.startswith("# %%\nprint(1)\n\n# %% [markdown]\n# ## Questionnaire\n#\n")
    assert "# 1. What is φ?\n" in once and "The compound coefficient" not in once
    assert "# 1. Why?\n#    Say why.\n#    *Reading:* [EfficientNet: Rethinking" in once
    assert questionnaires.with_cells(once, entry) == once
