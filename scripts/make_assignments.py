"""`make assignments`: a teacher's and a student's version of every notebook, in nbgrader's format.

    python scripts/make_assignments.py [--out build/assignments]

writes an nbgrader course folder:

    build/assignments/
      nbgrader_config.py
      source/workbook/NN_name.ipynb    the teacher's version: every exercise answered, with its
                                       worked solution, inside nbgrader's solution markers
      release/workbook/NN_name.ipynb   the student's version, made by `nbgrader generate_assignment`:
                                       the answers held back, the checks kept (and locked)

Each notebook's exercise cell becomes one nbgrader *solution* cell (the answers; in the teacher's
version between `### BEGIN SOLUTION` and `### END SOLUTION`, with the worked solution as comments)
and one *autograded test* cell per exercise, worth one point, that asserts `exercises.check`. In
the student's version the answers are None and every check fails with its hint; nothing else
changes, so the notebook still runs top to bottom. A teacher who grades with nbgrader copies
`build/assignments` into the course's folder (or points `CourseDirectory.root` at it) and
collects, autogrades and gives feedback as usual.

The questionnaire at the end of each notebook (`teaching/questionnaires.toml`) becomes one
read-only cell per question followed by a *manually graded answer* cell, worth one point: the
model answer in the teacher's version, nbgrader's "YOUR ANSWER HERE" in the student's.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from effnet_lib import exercises  # noqa: E402

sys.path.insert(0, str(REPO / "scripts"))
import questionnaires  # noqa: E402

ASSIGNMENT = "workbook"
# The worked code of the exercises that ask for a function, with tensor operations only.
WRITTEN = {
    "my_se": [
        "s = x.mean((2, 3))  # squeeze: one value per channel, N x C",
        "s = s @ w1.T + b1",
        "s = s * s.sigmoid()  # SiLU",
        "s = (s @ w2.T + b2).sigmoid()  # excitation: one weight per channel in (0, 1)",
        "return x * s[:, :, None, None]",
    ],
    "my_cam": [
        "weights = gradients.mean((1, 2), keepdim=True)  # one weight per channel",
        "cam = (weights * activations).sum(0).clamp(min=0)  # weighted sum, ReLU",
        "return cam / cam.max() if cam.max() > 0 else cam  # no evidence: a zero map, not 0 / 0",
    ],
}
CONFIG = """c = get_config()  # noqa: F821 (nbgrader's)
c.CourseDirectory.course_id = "effnet-workbook"
c.CourseDirectory.root = {root!r}
# An unanswered exercise stays None: the notebook runs on and its checks fail with a hint.
c.ClearSolutions.code_stub = {{"python": "# YOUR ANSWER HERE"}}
c.Execute.timeout = 1800  # a cell that trains (the first time) takes minutes on a laptop
"""


def _meta(grade_id: str, solution: bool = False, points: int | None = None) -> dict:
    return {
        "nbgrader": {
            "grade_id": grade_id,
            "solution": solution,
            "grade": points is not None,
            "locked": not solution,
            "schema_version": 3,
            "task": False,
            **({"points": points} if points is not None else {}),
        }
    }


def _answer(key: str, function: str | None) -> str:
    ex = exercises.EXERCISES[key]
    if ex.verify is not None:
        return function
    value = exercises.answer(key)
    return repr(float(value) if isinstance(value, float) else value)


def exercise_cells(source: str, stem: str) -> list:
    """The solution cell and one test cell per exercise for a notebook's exercise cell."""
    keys = re.findall(r'"(\d\d\.\d)": None', source)
    function = re.search(r"^def (my_\w+)\(", source, re.M)
    name = function.group(1) if function else None
    lines = []
    if name:
        head = source[: source.index("\n\n\n")].splitlines()  # the def and its docstring
        body = ["    " + line for line in WRITTEN[name]]
        lines += [line for line in head if "# your code" not in line]
        lines += ["    ### BEGIN SOLUTION", *body, "    ### END SOLUTION", "", ""]
    lines.append(next(line for line in source.splitlines() if line.startswith("my_answers = {")))
    lines.append("### BEGIN SOLUTION")
    for key in keys:
        lines += [f"# {line}" for line in exercises.solution(key).splitlines()]
    lines.append("my_answers = {" + ", ".join(f'"{k}": {_answer(k, name)}' for k in keys) + "}")
    lines.append("### END SOLUTION")
    cells = [nbformat.v4.new_code_cell("\n".join(lines), metadata=_meta(f"answers-{stem}", solution=True))]
    for key in keys:
        check = f'assert exercises.check("{key}", my_answers["{key}"]), "exercise {key}: not yet right"'
        cells.append(nbformat.v4.new_code_cell(check, metadata=_meta(f"check-{key.replace('.', '-')}", points=1)))
    return cells


def questionnaire_cells(entry: dict, stem: str) -> list:
    """The questionnaire as nbgrader cells: each question read-only, each answer graded by hand."""
    intro = "Answer each question in the cell below it, in a few sentences, from what this notebook shows."
    cells = [
        nbformat.v4.new_markdown_cell(
            f"{questionnaires.QUESTIONNAIRE}\n\n{intro}", metadata=_meta(f"questionnaire-{stem}")
        )
    ]
    for i, (ask, answer) in enumerate(entry["questions"], 1):
        cells.append(nbformat.v4.new_markdown_cell(f"**{i}.** {ask}", metadata=_meta(f"question-{stem}-{i}")))
        cells.append(
            nbformat.v4.new_markdown_cell(answer, metadata=_meta(f"answer-{stem}-{i}", solution=True, points=1))
        )
    return cells


def teacher_version(path: Path) -> nbformat.NotebookNode:
    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("jupytext", None)
    at = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "my_answers = {" in c.source]
    if len(at) != 1:
        raise SystemExit(f"{path}: expected one exercise cell (with 'my_answers = {{'), found {len(at)}")
    i = at[0]
    nb.cells[i : i + 1] = exercise_cells(nb.cells[i].source, path.stem[:2])
    at = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown" and c.source.startswith(questionnaires.QUESTIONNAIRE)
    ]
    if len(at) != 1:
        raise SystemExit(f"{path}: expected one questionnaire cell, found {len(at)}; run `make notebooks`")
    entry = questionnaires.load()["notebooks"][path.stem]
    nb.cells[at[0] : at[0] + 1] = questionnaire_cells(entry, path.stem[:2])
    return nb


def build(out: Path) -> Path:
    """The course folder in `out` (replaced); returns it. Both versions are under it, `source/` and
    `release/`, one folder `workbook` each."""
    root = out.resolve()
    shutil.rmtree(root, ignore_errors=True)
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root)))
    for path in sorted((REPO / "notebooks").glob("0*.py")):
        nbformat.write(teacher_version(path), source / f"{path.stem}.ipynb")
    # nbgrader runs `alembic` (its database's migrations) from the PATH: the environment's own first.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], cwd=root, env=env, check=True
    )
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "assignments")
    root = build(parser.parse_args().out)
    for which in ("source", "release"):
        print(f"{which}: {root / which / ASSIGNMENT}")


if __name__ == "__main__":
    main()
