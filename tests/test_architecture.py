"""The house rules of ARCHITECTURE.md, checked on the source: the import graph points one way,
modules and functions stay small, every module says what it is and what it exports."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "effnet_lib"
MODULES = {p.stem: p for p in sorted(PACKAGE.glob("*.py"))}


def _imports(path: Path) -> set[str]:
    """The package modules `path` imports anywhere (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("effnet_lib."):
            found.add(node.module.split(".")[1])
    return found & set(MODULES)


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


@pytest.mark.parametrize("module, forbidden", [
    ("model", {"data", "loaders", "transforms", "train", "checkpoint", "predict", "datasets", "files"}),
    ("data", {"model", "train", "checkpoint", "predict", "recipes"}),
    ("transforms", {"model", "train", "data"}),
    ("loaders", {"model", "train", "checkpoint"}),
    ("metrics", {"model", "train", "data", "predict", "checkpoint"}),
    ("predict", {"train", "recipes", "sweeps"}),
    ("error_analysis", {"train", "recipes", "sweeps"}),
    ("explorer", {"train", "recipes", "sweeps", "scaling_study"}),
    ("checkpoint", {"train", "data", "predict"}),
    ("config", {"data", "datasets", "transforms", "loaders", "assemble", "train", "builtin", "fashion"}),  # a record
    ("layout", set(MODULES) - {"layout", "errors"}),  # names and folders only
    ("stopping", set(MODULES) - {"stopping", "errors"}),
    ("errors", set(MODULES) - {"errors"}),  # imported by every module: it imports none
])
def test_dependencies_point_one_way(module, forbidden):
    assert not (_reachable(module) & forbidden), f"{module} reaches {sorted(_reachable(module) & forbidden)}"


def test_metrics_work_on_plain_arrays():
    tree = ast.parse(MODULES["metrics"].read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {n for n in names if n.split(".")[0] in ("torch", "torchvision")}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_small_documented_and_exporting(name):
    source = MODULES[name].read_text()
    tree = ast.parse(source)
    assert len(source.splitlines()) <= 400, f"{name}.py has {len(source.splitlines())} lines"
    assert ast.get_docstring(tree) or name == "__main__", f"{name}.py has no docstring"
    assert name in ("__init__", "__main__") or "__all__" in source, f"{name}.py has no __all__"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 60, f"{name}.{node.name} is {length} lines long"


def test_no_module_shadows_the_standard_library():
    import sys
    assert not set(MODULES) & set(sys.stdlib_module_names) - {"__init__", "__main__"}


DRAWING = {"plots", "diagnostic_plots", "explorer", "explorer_views", "report", "evaluation"}


def test_compute_apart_from_draw():
    """Only the modules ARCHITECTURE.md names as drawing import matplotlib (or seaborn); every other
    module returns numbers or tables. `evaluation` draws only through `plots`, to save the figures
    an evaluation leaves."""
    drawing = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("matplotlib", "seaborn") for n in names):
                drawing.add(name)
    assert drawing == DRAWING
    documented = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    assert "only " + ", ".join(f"`{m}`" for m in sorted(DRAWING)) + " draw" in documented


def test_architecture_names_every_module():
    documented = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    assert [m for m in MODULES if m not in ("__init__", "__main__") and f"`{m}.py`" not in documented] == []
