"""`make assignments` (scripts/make_assignments.py): nbgrader's teacher and student versions of
every notebook. The student's files hold no solution; every other cell is the notebook's own; the
teacher's answers pass every check and the student's unanswered notebook fails every check
without anything else going wrong; and nbgrader's own `validate` says so on a whole notebook."""

import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from effnet_lib import exercises

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import questionnaires  # noqa: E402
from make_assignments import ASSIGNMENT, WRITTEN  # noqa: E402

pytestmark = pytest.mark.slow
NAMES = sorted(p.stem for p in (REPO / "notebooks").glob("0*.py"))
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_assignments.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        env=ENV,
    )
    return out


def _read(course, which, name):
    return nbformat.read(course / which / ASSIGNMENT / f"{name}.ipynb", as_version=4)


def _graded(nb):
    return [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade") or c.metadata.get("nbgrader", {}).get("solution")
    ]


def _nbgrader(nb):
    """The cells nbgrader knows: the graded ones and the questionnaire's read-only questions."""
    return [c for c in nb.cells if "nbgrader" in c.metadata]


def _keys(nb) -> list[str]:
    return [re.search(r'check\("(\d\d\.\d)"', c.source).group(1) for c in _graded(nb) if "exercises.check" in c.source]


def test_the_student_files_hold_no_solution(course):
    for name in NAMES:
        student, teacher = _read(course, "release", name), _read(course, "source", name)
        text = "\n".join(c.source for c in student.cells)  # what the student reads (outputs: none)
        keys = _keys(student)
        assert keys and keys == _keys(teacher), name
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code")
        teacher_answers = next(c.source for c in _graded(teacher) if "my_answers = {" in c.source)
        for key in keys:
            working = exercises.solution(key).splitlines()[0]
            assert working in teacher_answers and working not in text, (name, key)
        filled = re.search(r"^my_answers = \{.*$", teacher_answers.split("### BEGIN SOLUTION")[-1], re.M).group(0)
        assert filled not in text and f'"{keys[0]}": None' in text  # the student starts from None
        for line in (line for body in WRITTEN.values() for line in body):
            assert line not in text
        questions = questionnaires.load()["notebooks"][name]["questions"]
        answers = [c.source for c in _graded(teacher) if c.cell_type == "markdown"]
        assert answers == [answer for _, answer in questions], name  # the teacher's: every model answer
        assert [c.source for c in _graded(student) if c.cell_type == "markdown"] == ["YOUR ANSWER HERE"] * len(
            questions
        )
        for _, answer in questions:  # (an answer may quote a sentence of the notebook, not be one)
            assert answer not in text, (name, answer)


def test_every_other_cell_is_the_notebooks_own(course):
    for name in NAMES:
        own = [
            c.source
            for c in jupytext.read(REPO / "notebooks" / f"{name}.py").cells
            if "my_answers = {" not in c.source and not c.source.startswith(questionnaires.QUESTIONNAIRE)
        ]
        questions = questionnaires.load()["notebooks"][name]["questions"]
        for which in ("source", "release"):
            nb = _read(course, which, name)
            rest = [c.source for c in nb.cells if c not in _nbgrader(nb)]
            assert rest == own, (name, which)
            assert all(c.metadata["nbgrader"]["points"] == 1 for c in _graded(nb) if c.metadata["nbgrader"]["grade"])
            read_only = [c.source for c in _nbgrader(nb) if c not in _graded(nb)]
            assert read_only[1:] == [f"**{i}.** {ask}" for i, (ask, _) in enumerate(questions, 1)], (name, which)
            assert all(c.metadata["nbgrader"]["locked"] for c in _nbgrader(nb) if c not in _graded(nb))


def _exercise_part(nb) -> nbformat.NotebookNode:
    """The notebook's graded cells after the import they need, as a notebook of their own."""
    cells = [nbformat.v4.new_code_cell("from effnet_lib import exercises")] + _graded(nb)
    return nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    )


def test_teachers_answers_pass_and_the_unanswered_student_fails_every_check(course):
    from nbclient import NotebookClient

    for name in NAMES:
        for which, passes in (("source", True), ("release", False)):
            nb = _exercise_part(_read(course, which, name))
            NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True).execute()
            errors = [
                (c.metadata.get("nbgrader", {}).get("grade", False), o.ename)
                for c in nb.cells
                for o in c.get("outputs", [])
                if o.output_type == "error"
            ]
            checks = len(_keys(nb))
            if passes:
                assert errors == [], (name, errors)
            else:  # each check fails with its hint; nothing else raises
                assert errors == [(True, "AssertionError")] * checks, (name, errors)
                hints = [o.text for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream"]
                assert sum("no answer yet. Hint:" in h for h in hints) == checks


def test_nbgrader_validates_a_whole_notebook(course):
    """nbgrader's own tool on the architecture notebook run top to bottom: the teacher's version
    passes all its tests, the student's passes none (and runs to the end)."""

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "nbgrader", "validate", *args],
            cwd=course,
            capture_output=True,
            text=True,
            env=ENV,
            timeout=900,
        )

    teacher = run(str(course / "source" / ASSIGNMENT / "00_architecture.ipynb"))
    assert "Success! Your notebook passes all the tests." in teacher.stdout, teacher.stdout + teacher.stderr
    student = run("--invert", str(course / "release" / ASSIGNMENT / "00_architecture.ipynb"))
    assert "Success! The notebook does not pass any tests." in student.stdout, student.stdout + student.stderr
