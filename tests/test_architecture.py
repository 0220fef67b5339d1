"""The house rules of ARCHITECTURE.md, checked on the source: the package is built in wings along
the data path, the import graph points one way (wing by wing, and module by module where a rule is
finer), each wing shows a small public face, modules and functions stay small, every module says what
it is and what it exports."""

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "effnet_lib"
WINGS = ("data", "model", "training", "evaluation", "display", "study")  # in the order of the data path
GROUND = {"errors", "files", "provenance", "_lazy"}  # what every wing may use
SHELLS = ("cli", "exercises")  # packages that may use every wing, and that no wing uses
# Which wings a wing may import (besides itself and the ground floor).
MAY_IMPORT = {
    "data": set(),
    "model": set(),
    "training": {"data", "model"},
    "evaluation": {"data", "model", "training"},
    "display": {"data", "evaluation"},
    "study": {"data", "model", "training", "evaluation", "display"},
}


def _name(path: Path) -> str:
    """'training.loop' for effnet_lib/training/loop.py, 'errors' for effnet_lib/errors.py."""
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _wing(module: str) -> str | None:
    first = module.split(".")[0]
    return first if first in WINGS else None


def _imports(module: str) -> set[str]:
    """The package modules `module` imports anywhere (module level or inside functions), by their
    dotted names; `from ..data import folders` counts as importing `data.folders`."""
    here = module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
        elif (node.module or "").startswith("effnet_lib"):
            base = node.module[len("effnet_lib.") :]
        else:
            continue
        candidates = [base] + [f"{base}.{a.name}".lstrip(".") for a in node.names]
        found |= {c for c in candidates if c in MODULES} | ({f"{base}.__init__"} & set(MODULES))
    return found - {module}


GRAPH = {name: _imports(name) for name in MODULES}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_wings_and_a_handful_at_the_top():
    top = {m for m in MODULES if "." not in m}
    assert top == GROUND | {"__init__", "__main__"}, sorted(top)
    assert {m.split(".")[0] for m in MODULES if "." in m} == set(WINGS) | set(SHELLS)
    assert all(f"{w}.__init__" in MODULES for w in WINGS + SHELLS)


def test_no_wing_uses_a_shell():
    """The command line and the exercises call the library; the library never calls them."""
    assert not {(m, t) for m in MODULES if _wing(m) or m in GROUND for t in GRAPH[m] if t.split(".")[0] in SHELLS}


@pytest.mark.parametrize("wing", WINGS)
def test_wings_import_only_upstream(wing):
    """A wing imports only the wings before it on the data path (`MAY_IMPORT`) and the ground floor."""
    crossing = {
        (m, t)
        for m in MODULES
        if _wing(m) == wing
        for t in GRAPH[m]
        if _wing(t) != wing and (_wing(t) not in MAY_IMPORT[wing]) and t not in GROUND
    }
    assert not crossing, f"{wing} imports {sorted(crossing)}"


def test_the_ground_floor_imports_no_wing():
    for module in GROUND:
        assert not {t for t in GRAPH[module] if _wing(t) or t.split(".")[0] in SHELLS}, module


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("model.network", {"data.folders", "data.loaders", "data.transforms", "files"}),  # no files, no training
        ("data.transforms", {"data.folders"}),
        ("evaluation.metrics", {"evaluation.predict", "training.checkpoint", "data.folders"}),
        # The evaluation wing reads checkpoints; it never trains.
        ("evaluation.predict", {"training.loop", "training.recipes", "training.optim", "training.assemble"}),
        ("evaluation.error_analysis", {"training.loop", "training.recipes", "study.sweeps"}),
        ("display.explorer", {"training.loop", "training.recipes", "study.sweeps", "study.scaling_study"}),
        ("training.checkpoint", {"training.loop", "data.folders", "evaluation.predict"}),
        (
            "training.config",
            {
                "data.folders",
                "data.datasets",
                "data.transforms",
                "data.loaders",
                "training.assemble",
                "training.loop",
                "data.builtin",
                "data.fashion",
            },
        ),  # a record
        ("data.layout", set(MODULES) - {"data.layout", "errors"}),  # names and folders only
        ("training.stopping", set(MODULES) - {"training.stopping", "errors"}),
        ("errors", set(MODULES) - {"errors"}),  # imported by every module: it imports none
    ],
)
def test_dependencies_point_one_way(module, forbidden):
    assert not (_reachable(module) & forbidden), f"{module} reaches {sorted(_reachable(module) & forbidden)}"


def test_metrics_work_on_plain_arrays():
    tree = ast.parse(MODULES["evaluation.metrics"].read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {n for n in names if n.split(".")[0] in ("torch", "torchvision")}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_small_documented_and_exporting(name):
    source = MODULES[name].read_text()
    tree = ast.parse(source)
    assert len(source.splitlines()) <= 400, f"{name}.py has {len(source.splitlines())} lines"
    assert ast.get_docstring(tree) or name == "__main__", f"{name}.py has no docstring"
    assert name == "__main__" or "__all__" in source, f"{name}.py has no __all__"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 60, f"{name}.{node.name} is {length} lines long"


def test_no_module_shadows_the_standard_library():
    stems = {m.split(".")[-1] for m in MODULES} | set(WINGS)
    assert not stems & set(sys.stdlib_module_names) - {"__init__", "__main__"}


@pytest.mark.parametrize("package", ("effnet_lib",) + tuple(f"effnet_lib.{w}" for w in WINGS))
def test_each_wing_shows_a_small_public_face(package):
    """Every name a wing's `__init__` exports is in its module's `__all__` and resolves; no exported
    name is also a module's name (importing the module would replace the name with the module)."""
    wing = importlib.import_module(package)
    folder = PACKAGE.joinpath(*package.split(".")[1:])
    submodules = {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if p.is_dir()}
    assert wing.__all__ and len(wing.__all__) <= 45, f"{package} exports {len(wing.__all__)} names"
    for name in wing.__all__:
        value = getattr(wing, name)
        if name in submodules:
            assert getattr(value, "__name__", "") == f"{package}.{name}", f"{package}.{name} is not its module"
        else:
            home = importlib.import_module(value.__module__) if hasattr(value, "__module__") else None
            assert (
                home is None
                or not home.__name__.startswith("effnet_lib")
                or name in home.__all__
                or any(
                    name in importlib.import_module(f"{package}.{m}").__all__
                    for m in submodules
                    if not m.startswith("_") and m != "__init__"
                )
            ), f"{package}.{name} is not public where it lives"
    assert sorted(dir(wing)) == sorted(wing.__all__)


def test_importing_a_wing_imports_nothing_heavy():
    """The wings' faces are lazy: `import effnet_lib.display` or the command line's --help does not
    import torch, matplotlib or ipywidgets until a name that needs them is used."""
    import subprocess

    code = (
        "import sys, effnet_lib, " + ", ".join(f"effnet_lib.{w}" for w in WINGS) + "; "
        "print(sorted({'torch', 'matplotlib', 'ipywidgets'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def _effnet_imports(text: str) -> set[str]:
    return set(re.findall(r"^\s*(?:from|import) (effnet_lib[\w.]*)", text, flags=re.M))


def test_notebooks_and_readme_import_from_wings():
    """Course material and the README use the wings' faces, not the modules behind them."""
    allowed = {"effnet_lib", "effnet_lib.exercises"} | {f"effnet_lib.{w}" for w in WINGS}
    for path in [*sorted((ROOT / "notebooks").glob("*.py")), ROOT / "README.md", ROOT / "TEACHING.md"]:
        assert _effnet_imports(path.read_text()) <= allowed, (path.name, _effnet_imports(path.read_text()) - allowed)


DRAWING = "display"


def test_compute_apart_from_draw():
    """Only the display wing imports matplotlib (or seaborn); every other module returns numbers or
    tables."""
    drawing = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in ("matplotlib", "seaborn") for n in names):
                drawing.add(name)
    # explorer_runs draws only through diagnostic_plots' displays; the wing's face draws nothing
    assert drawing == {m for m in MODULES if _wing(m) == DRAWING} - {"display.__init__", "display.explorer_runs"}
    assert "only the `display` wing draws" in (ROOT / "ARCHITECTURE.md").read_text()


def test_architecture_names_every_module():
    documented = (ROOT / "ARCHITECTURE.md").read_text()
    named = [m for m in MODULES if not m.endswith(("__init__", "__main__")) and m != "_lazy"]
    assert [m for m in named if f"`{m.replace('.', '/')}.py`" not in documented] == []
