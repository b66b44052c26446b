"""Public names of a package loaded on first use, so importing it imports none of its modules.

A package lists where each public name lives and hands the module-level ``__getattr__`` and
``__dir__`` (PEP 562) made here to Python::

    __getattr__, __dir__ = lazy_exports(__name__, {"evolve": "solver", "bubbles": "initial"})

``from lsn_explorer.levelset import evolve`` then imports ``levelset.solver`` (and torch) only
then, and an app that needs only the stencils never pays for torch.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package``, whose name ``n`` lives in submodule ``where[n]``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict of str -> str
        Public name -> submodule (relative to ``package``, without the leading dot; a
        further leading dot climbs to the parent package, e.g. ``".devices"``).

    Returns
    -------
    (callable, callable)
        The package's ``__getattr__`` (imports the submodule and caches the name in the
        package) and ``__dir__``.
    """

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{where[name]}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(where) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
