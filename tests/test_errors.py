"""Errors say whose they are: the library's messages name its parameters (a notebook reads them as
they are), the command line shows the same parameters as its flags, every error type of the
library is a `WorkbookError`, and only those (and running out of memory) end a command in one
line; anything else is a bug and keeps its traceback."""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import effnet_lib
from effnet_lib import errors
from effnet_lib.cli import build_parser
from effnet_lib.errors import ParameterError, WorkbookError, as_flags, failed, flags_of
from effnet_lib.training.config import TrainConfig

PACKAGE = Path(effnet_lib.__file__).parent
# Raises of a built-in type that are not the user's: a broken invariant of the vendored data (a bug
# if it fires), an unknown exercise key (a notebook's typo, with the keys listed), a disk error passed on.
# And the attribute lookups of the wings' lazy faces, which Python's import protocol wants as AttributeError.
BUILTIN_ALLOWED = {
    ("data.builtin", "ValueError"),
    ("data.builtin", "RuntimeError"),
    ("exercises.__init__", "KeyError"),
    ("files", "OSError"),
    ("_lazy", "AttributeError"),
}
MODULES = {
    ".".join(p.relative_to(PACKAGE).with_suffix("").parts): p
    for p in sorted(PACKAGE.rglob("*.py"))
    if p.stem != "__main__"
}


def _messages(tree):
    """Each raise's and each warnings.warn's text (the constant parts of its f-strings)."""
    for node in ast.walk(tree):
        call = node.exc if isinstance(node, ast.Raise) else node
        if isinstance(call, ast.Call) and (isinstance(node, ast.Raise) or ast.unparse(call.func) == "warnings.warn"):
            yield (
                node.lineno,
                " ".join(
                    c.value
                    for a in call.args
                    for c in ast.walk(a)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                ),
            )


def test_the_library_names_parameters_not_flags():
    assert len(MODULES) > 40  # every module of every wing
    for name, path in MODULES.items():
        if name.split(".")[0] in ("cli", "errors", "exercises"):  # the command line's own; an exercise about it
            continue
        for line, text in _messages(ast.parse(path.read_text())):
            text = re.sub(r"`python [^`]*`", "", text)  # a command to run may have its flags
            assert not re.search(r"(?<![\w-])--[a-z]", text), f"{path.name}:{line} names a flag: {text}"


def test_every_error_type_is_the_librarys_and_builtin_raises_are_the_allowed_ones():
    import builtins

    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        module = importlib.import_module(f"effnet_lib.{name}".removesuffix(".__init__"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                cls = getattr(module, node.name)
                if issubclass(cls, BaseException):
                    assert issubclass(cls, WorkbookError), f"{name}.{node.name}"
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
                raised = node.exc.func.id
                if isinstance(getattr(builtins, raised, None), type) and raised != "KeyboardInterrupt":
                    assert (name, raised) in BUILTIN_ALLOWED, f"{path}:{node.lineno} raises {raised}"


def test_a_notebook_reads_the_parameter_and_the_command_line_its_flag():
    with pytest.raises(ParameterError, match=r"^`width=0`: must be above 0"):
        TrainConfig(width=0)
    flags = flags_of(build_parser())
    assert as_flags("`width=0`: must be above 0", flags) == "--width 0: must be above 0"
    assert (
        as_flags("continue it with `resume=True`, or choose another `out`", flags)
        == "continue it with --resume, or choose another --out"
    )
    assert as_flags("`image_size=9`; `not_an_option` stays", flags) == "--image-size 9; `not_an_option` stays"


def test_a_library_error_is_one_line_and_anything_else_a_bug_with_its_traceback(capsys):
    assert failed(ParameterError("`jobs=0`: must be at least 1"), flags_of(build_parser())) == 2
    assert capsys.readouterr().err == "error: --jobs 0: must be at least 1\n"
    try:
        {}["missing"]
    except KeyError as e:
        assert failed(e, {}) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError: 'missing'" in err
    assert err.rstrip().splitlines()[-1].startswith("error: the traceback above is a bug in effnet_lib")


@pytest.mark.slow
def test_the_command_line_shows_its_flags(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "effnet_lib", "train", "--data", "builtin", "--out", str(tmp_path / "r"), "--lr", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and run.stderr.strip().splitlines() == ["error: --lr 0.0: must be a positive number"]


def test_errors_module_imports_nothing_of_the_package():
    tree = ast.parse(Path(errors.__file__).read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]


def test_a_device_that_is_not_here_is_refused_by_name():
    import torch

    from effnet_lib.training.distributed import resolve_device

    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ParameterError, match=r"^`device=gpu0`: not a device name"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match=r"^`device=cuda:1`: no such device on this machine"):
            resolve_device("cuda:1")
