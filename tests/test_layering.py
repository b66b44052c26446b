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


def _sources(package: Path) -> list[Path]:
    """Every module of the package, and every ``__init__.pyi``: its imports run when its names are first used."""
    return sorted([*package.rglob("*.py"), *package.rglob("*.pyi")])


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """Every import that runs up a layer or across one, as ``file:line unit -> unit``."""
    bad = []
    for path in _sources(package):
        if path.stem == "__init__" and path.parent == package:
            continue  # the root only lists lazy names
        unit = _unit(path, package)
        for line, target in _imported_units(path, package):
            if target == unit or target not in LAYER:
                continue
            if LAYER[target] >= LAYER[unit]:
                bad.append(f"{path.relative_to(package.parent)}:{line} {unit} -> {target}")
    return bad


def _sibling_imports(path: Path, root: Path) -> set[str]:
    """What ``path`` imports from its own package, at any depth of the file: the modules (``from .x import``,
    ``from . import x``), and ``__init__`` for names the package itself hands out (``from . import name``,
    ``from lsn_explorer.pkg import name``)."""
    own = path.relative_to(root.parent).parent.parts
    modules = {p.stem for p in path.parent.glob("*.py")} - {"__init__"}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = own[: len(own) - (node.level - 1)] if node.level else ()
        target = (*base, *(node.module.split(".") if node.module else ()))
        if target[: len(own)] != own:
            continue
        if len(target) > len(own):
            found.add(target[len(own)])
        else:
            found.update(alias.name if alias.name in modules else "__init__" for alias in node.names)
    return found


def _package_files(folder: Path) -> dict[str, list[Path]]:
    """Module name -> its files; ``__init__`` is the package itself, with its stub, whose imports name its modules."""
    files = {p.stem: [p] for p in folder.glob("*.py") if p.name != "__init__.py"}
    init = [p for p in (folder / "__init__.pyi", folder / "__init__.py") if p.exists()]
    return files | ({"__init__": init} if init else {})


def import_circles(package: Path = PACKAGE) -> list[str]:
    """Every circle of imports between the modules of one package, as ``pkg/a.py -> pkg/b.py -> pkg/a.py``.

    The package's ``__init__`` (shown by its stub where it has one) is a module of the circle too: it
    imports the modules its stub names, and a module that takes a name from the package imports it.
    """
    circles = []
    for folder in sorted({p.parent for p in _sources(package)}):
        files = _package_files(folder)
        graph = {name: sorted(set().union(*(_sibling_imports(p, package) for p in paths)) & set(files) - {name})
                 for name, paths in files.items()}

        def walk(name, trail):
            for nxt in graph[name]:
                if nxt == trail[0]:
                    circles.append(" -> ".join(str(files[m][0].relative_to(package.parent)) for m in trail + [nxt]))
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


def test_a_circle_through_a_package_stub_is_caught(tmp_path):
    fake = tmp_path / "lsn_explorer" / "levelset"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("from .._lazy import stub_exports\n")
    (fake / "__init__.pyi").write_text("from .solver import evolve as evolve\n")
    (fake / "solver.py").write_text("from .step import gac_step\n")
    (fake / "step.py").write_text("def gac_step():\n    from . import evolve\n")
    (fake / "edges.py").write_text("from lsn_explorer.levelset import evolve\n")
    assert import_circles(tmp_path / "lsn_explorer") == [
        "lsn_explorer/levelset/__init__.pyi -> lsn_explorer/levelset/solver.py -> lsn_explorer/levelset/step.py"
        " -> lsn_explorer/levelset/__init__.pyi"]
    (fake / "__init__.pyi").write_text("from .solver import evolve as evolve\nfrom .edges import g as g\n")
    assert import_circles(tmp_path / "lsn_explorer")[0] == (
        "lsn_explorer/levelset/__init__.pyi -> lsn_explorer/levelset/edges.py -> lsn_explorer/levelset/__init__.pyi")


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


def test_an_upward_import_in_a_stub_is_caught(tmp_path):
    fake = tmp_path / "lsn_explorer" / "viz"
    fake.mkdir(parents=True)
    (fake / "__init__.pyi").write_text("from .slices import slice_figure as slice_figure\n"
                                       "from ..models import UNet as UNet\n")
    assert upward_imports(tmp_path / "lsn_explorer") == ["lsn_explorer/viz/__init__.pyi:2 viz -> models"]


@pytest.mark.parametrize("unit", sorted(LAYER))
def test_each_unit_is_a_module_or_package(unit):
    assert (PACKAGE / unit).is_dir() or (PACKAGE / f"{unit}.py").is_file(), unit
