"""A wing's public face, imported on first use.

Each wing's `__init__` names its public API as a table (module -> names). The names are looked up
when first asked for, so that `import effnet_lib.training` or `python -m effnet_lib --help` does not
import torch, matplotlib and ipywidgets for every wing it passes through (PEP 562; scikit-image and
SciPy do the same with `lazy_loader`).
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["attach"]


def attach(package: str, api: dict[str, list[str]], modules: tuple[str, ...] = ()):
    """`__getattr__`, `__dir__` and `__all__` for the package `package`, exporting `api[m]` from
    each module `m` of the package and the modules in `modules` themselves (read as namespaces,
    e.g. `study.scaling_analysis`, where their names would collide)."""
    where = {name: module for module, names in api.items() for name in names}
    exported = sorted(where) + list(modules)

    def __getattr__(name: str):
        if name in modules:
            return import_module(f"{package}.{name}")
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{where[name]}"), name)
        import_module(package).__dict__[name] = value  # looked up once
        return value

    def __dir__():
        return exported

    return __getattr__, __dir__, exported
