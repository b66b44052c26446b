"""Public names of a package loaded on first use, listed once, in the package's ``__init__.pyi``.

The stub imports each public name from the module that defines it, in the form type checkers
and IDEs read as a re-export (``name as name``)::

    from .solver import evolve as evolve
    from .initial import bubbles as bubbles
    from ..devices import resolve_device as resolve_device

and the package's ``__init__.py`` hands it to the module-level ``__getattr__`` and ``__dir__``
(PEP 562)::

    __getattr__, __dir__ = stub_exports(__name__, __file__)

``from lsn_explorer.levelset import evolve`` then imports ``levelset.solver`` (and torch) only
then, and an app that needs only the stencils never pays for torch. The stub is read on the
first lookup of a name the package does not hold yet, not at import: reading it takes
:mod:`ast`, whose import costs more than ``import lsn_explorer`` itself. ``__all__`` is answered
from the stub too. ``lazy_loader.attach_stub`` reads the same stubs, but at import, and only
from the package's own modules.
"""

from __future__ import annotations

import importlib
import os
import sys

__all__ = ["stub_exports", "stub_names"]


def stub_names(stub: str | os.PathLike) -> dict[str, str]:
    """Public name -> relative module it is imported from, for every re-export in a stub.

    Parameters
    ----------
    stub : path
        An ``__init__.pyi`` whose relative imports (``from .module import name as name``) are
        the package's public names. Absolute imports and other statements are left alone.

    Returns
    -------
    dict of str -> str
        Name -> module with its leading dots (``"evolve": ".solver"``), in the stub's order;
        ``""`` for a name the stub declares with a type (``__version__: str``), which the
        package's ``__init__.py`` defines itself.

    Raises
    ------
    ValueError
        A relative import that type checkers would not read as a re-export (a name without
        ``as`` itself) or that names no module (``from . import x``).
    """
    import ast

    with open(stub, encoding="utf-8") as file:
        tree = ast.parse(file.read(), filename=os.fspath(stub))
    where = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            where[node.target.id] = ""  # defined in the package's __init__.py itself
            continue
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        if node.module is None:
            raise ValueError(f"{stub}:{node.lineno}: import public names from a module, "
                             f"'from .module import name as name', not 'from . import'")
        for alias in node.names:
            if alias.asname != alias.name:
                raise ValueError(f"{stub}:{node.lineno}: write '{alias.name} as {alias.name}' "
                                 f"so that type checkers read {alias.name!r} as public")
            where[alias.name] = "." * node.level + node.module
    return where


def stub_exports(package: str, init_file: str | os.PathLike):
    """``(__getattr__, __dir__)`` for ``package``, whose public names its ``__init__.pyi`` lists.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    init_file : path
        The package's ``__file__``; the stub is the ``.pyi`` beside it.

    Returns
    -------
    (callable, callable)
        The package's ``__getattr__`` (imports a name's module, or answers ``__all__``, and
        caches the value in the package) and ``__dir__``.
    """
    stub = os.path.splitext(os.fspath(init_file))[0] + ".pyi"
    where: dict[str, str] = {}

    def names() -> dict[str, str]:
        if not where:
            try:
                where.update(stub_names(stub))
            except OSError as error:
                raise ImportError(f"{package}: its list of public names, {stub}, cannot be read ({error}); "
                                  f"reinstall lsn_explorer") from error
        return where

    def __getattr__(name: str):
        if name == "__all__":
            value = list(names())
        elif names().get(name):
            value = getattr(importlib.import_module(where[name], package), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names()) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
