"""The packages of lsn_explorer form layers: a module imports only from its own package and from lower layers.

The order, lowest first (a package may import any package of a lower layer, none of its own
layer or above):

0. ``errors``, ``_lazy``, ``_files``: errors, lazy names, atomic files
1. ``presets``, ``devices``, ``metrics``, ``losses``: settings and scores
2. ``levelset``, ``viz``: the solver, and figures from plain arrays
3. ``data``, ``augment``: volumes, slices, folds
4. ``inference``, ``models``: networks and how they answer
5. ``train``, ``kernels``: fitting networks, analysing their kernels
6. ``segmentation``: a user's scan to a mask (``segment``), the tuned level-set settings
7. ``experiments``, ``exercises``, ``course``: Table 2, ablations, course exercises, course release and grading
8. ``apps``: the widgets behind the Voila apps
9. ``cli``: the command line
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lsn_explorer"
LAYERS = [
    {"errors", "_lazy", "_files"},
    {"presets", "devices", "metrics", "losses"},
    {"levelset", "viz"},
    {"data", "augment"},
    {"inference", "models"},
    {"train", "kernels"},
    {"segmentation"},
    {"experiments", "exercises", "course"},
    {"apps"},
    {"cli"},
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def _unit(path: Path, root: Path) -> str:
    """The top-level unit of the package a file belongs to (``levelset`` for ``levelset/step.py``)."""
    return path.relative_to(root).with_suffix("").parts[0]


def _imported_units(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, unit)`` of every lsn_explorer import in a file, relative or absolute, at any depth."""
    relative_to = path.relative_to(root).parent.parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(relative_to[: len(relative_to) - (node.level - 1)])
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from .. import x" at the top: the names are units themselves
                    target = [alias.name for alias in node.names]
                    found += [(node.lineno, t) for t in target]
                    continue
                found.append((node.lineno, target[0]))
            elif node.module and node.module.split(".")[0] == "lsn_explorer":
                parts = node.module.split(".")
                found += [(node.lineno, parts[1])] if len(parts) > 1 else [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[1]) for a in node.names
                      if a.name.startswith("lsn_explorer.") and len(a.name.split(".")) > 1]
    return found


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """Every import that runs up a layer or across one, as ``file:line unit -> unit``."""
    bad = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == package:
            continue  # the root only lists lazy names
        unit = _unit(path, package)
        for line, target in _imported_units(path, package):
            if target == unit or target not in LAYER:
                continue
            if LAYER[target] >= LAYER[unit]:
                bad.append(f"{path.relative_to(package.parent)}:{line} {unit} -> {target}")
    return bad


def _sibling_imports(path: Path) -> set[str]:
    """Modules of ``path``'s own package that it imports with ``from .x import``, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:  # "from . import x"
                found.update(alias.name for alias in node.names)
    return found


def import_circles(package: Path = PACKAGE) -> list[str]:
    """Every circle of imports between the modules of one package, as ``pkg/a.py -> pkg/b.py -> pkg/a.py``."""
    circles = []
    for folder in sorted({p.parent for p in package.rglob("*.py")}):
        modules = {p.stem: p for p in folder.glob("*.py") if p.name != "__init__.py"}
        graph = {name: sorted(_sibling_imports(path) & set(modules) - {name}) for name, path in modules.items()}

        def walk(name, trail):
            for nxt in graph[name]:
                if nxt == trail[0]:
                    circles.append(" -> ".join(str((folder / f"{m}.py").relative_to(package.parent)) for m in trail + [nxt]))
                elif nxt not in trail and nxt > trail[0]:  # each circle once, from its smallest module
                    walk(nxt, trail + [nxt])

        for start in sorted(graph):
            walk(start, [start])
    return circles


def test_no_modules_of_a_package_import_each_other_in_a_circle():
    assert import_circles() == []


def test_a_circle_inside_a_package_is_caught(tmp_path):
    fake = tmp_path / "lsn_explorer" / "experiments"
    fake.mkdir(parents=True)
    (fake / "table2.py").write_text("from .real_ct import part\n")
    (fake / "real_ct.py").write_text("def write():\n    from .table2 import format_table\n")
    (fake / "paper.py").write_text("from .table2 import x\n")
    assert import_circles(tmp_path / "lsn_explorer") == [
        "lsn_explorer/experiments/real_ct.py -> lsn_explorer/experiments/table2.py -> lsn_explorer/experiments/real_ct.py"]


def test_every_unit_has_a_layer():
    units = {_unit(p, PACKAGE) for p in PACKAGE.rglob("*.py") if not (p.name == "__init__.py" and p.parent == PACKAGE)}
    assert units <= set(LAYER), f"give these a layer in tests/test_layering.py: {sorted(units - set(LAYER))}"


def test_no_import_runs_up_a_layer():
    assert upward_imports() == []


def test_an_upward_import_is_caught(tmp_path):
    fake = tmp_path / "lsn_explorer"
    for unit, text in {"levelset/step.py": "from ..models import unet\n", "models/unet.py": "from ..levelset import step\n",
                       "viz/figure.py": "def f():\n    from lsn_explorer.experiments import paper\n"}.items():
        (fake / unit).parent.mkdir(parents=True, exist_ok=True)
        (fake / unit).write_text(text)
    assert upward_imports(fake) == ["lsn_explorer/levelset/step.py:1 levelset -> models", "lsn_explorer/viz/figure.py:2 viz -> experiments"]


@pytest.mark.parametrize("unit", sorted(LAYER))
def test_each_unit_is_a_module_or_package(unit):
    assert (PACKAGE / unit).is_dir() or (PACKAGE / f"{unit}.py").is_file(), unit
