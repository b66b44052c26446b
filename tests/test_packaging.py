"""The set-up files agree with each other: one list of dependencies, two commands; the package ships what it lists."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from lsn_explorer._lazy import stub_names

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
REQUIRED = {
    "torch", "numpy", "scipy", "scikit-image", "scikit-learn", "pillow", "umap-learn", "numba", "nibabel", "plotly", "anywidget",
    "ipywidgets", "voila", "jupyterlab", "ipykernel", "tqdm", "h5py",
}
TEST_REQUIRED = {"pytest", "nbclient", "nbformat", "playwright", "simpleitk"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def _python_version(conda_dependencies: list) -> str:
    (python,) = [d for d in conda_dependencies if isinstance(d, str) and d.startswith("python")]
    return python.split("=")[1]


def test_pyproject_declares_the_stack():
    names = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert REQUIRED <= names
    assert TEST_REQUIRED <= {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    torch = next(r for r in PYPROJECT["project"]["dependencies"] if _name(r) == "torch")
    assert "<2.14" in torch, "a newer torch bound pulls a multi-GB CUDA build"
    assert PYPROJECT["project"]["scripts"]["lsn-explorer"] == "lsn_explorer.cli:main"


def test_environment_yml_installs_this_package_and_nothing_else():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = env["dependencies"]
    assert _python_version(conda) == "3.11"
    (pip,) = [d["pip"] for d in conda if isinstance(d, dict)]
    assert [_name(r) for r in pip] == ["-e"], "dependencies belong in pyproject.toml only"
    assert pip[0].replace(" ", "") in {'-e".[test]"', "-e.[test]", '-e"."', "-e."}
    assert {d for d in conda if isinstance(d, str)} == {"python=3.11", "pip"}


def test_binder_installs_this_package_and_opens_the_app():
    env = yaml.safe_load((REPO / "binder" / "environment.yml").read_text())
    assert _python_version(env["dependencies"]) == "3.11"
    assert not any(isinstance(d, dict) for d in env["dependencies"]), "no second dependency list"
    post_build = (REPO / "binder" / "postBuild").read_text()
    assert "pip install" in post_build and " -e ." in post_build
    cpu_torch = post_build.find("download.pytorch.org/whl/cpu")
    assert 0 <= cpu_torch < post_build.find(" -e ."), "the CPU build of torch goes in before the package pulls CUDA's"
    assert "voila/render/apps/kernel_explorer.ipynb" in (REPO / "binder" / "README.md").read_text()
    assert "voila/render/apps/kernel_explorer.ipynb" in (REPO / "README.md").read_text()


def test_readme_and_ci_use_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert "make app" in readme and "make test" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci and "LSN_EXPLORER_REQUIRE_BROWSER=1" in ci and "apt-get install" in ci
    makefile = (REPO / "Makefile").read_text()
    assert "--Voila.ip=127.0.0.1" in makefile, "the app must listen on loopback only"


def test_console_script_help_lists_the_subcommands():
    result = subprocess.run(
        [sys.executable, "-m", "lsn_explorer.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("data", "train", "kernels"):
        assert command in result.stdout


SUBPACKAGES = ("apps", "course", "data", "experiments", "kernels", "levelset", "models", "segmentation", "train", "viz")
STUBBED = sorted(".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "lsn_explorer").rglob("__init__.pyi"))
HEAVY = {"torch", "sklearn", "scipy", "plotly", "umap", "numba", "numpy"}


def test_every_package_with_lazy_names_lists_them_in_a_stub():
    lazy = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "lsn_explorer").rglob("__init__.py")
            if "stub_exports(" in p.read_text()}
    assert lazy == set(STUBBED)
    assert {"lsn_explorer", *(f"lsn_explorer.{p}" for p in SUBPACKAGES)} <= lazy


@pytest.mark.parametrize("package", STUBBED)
def test_every_name_of_a_stub_resolves_to_its_documented_object(package):
    module = importlib.import_module(package)
    where = stub_names(Path(module.__file__).with_suffix(".pyi"))
    assert module.__all__ == list(where)
    for name, source in where.items():
        value = getattr(module, name)
        home = importlib.import_module(source or package, package)
        assert value is getattr(home, name), f"{package}.{name} is not {home.__name__}.{name}"
        if callable(value):
            assert (value.__doc__ or "").strip(), f"help({package}.{name}) shows no documentation"


def test_importing_the_packages_reads_no_stub_and_loads_nothing_heavy_and_dir_lists_the_names():
    code = textwrap.dedent(f"""
        import importlib, json, sys
        had_ast = "ast" in sys.modules
        packages = [importlib.import_module(name) for name in {STUBBED!r}]
        heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({sorted(HEAVY)!r}))
        assert not had_ast, "ast is loaded at start-up: this test cannot see a stub being read"
        read = "ast" in sys.modules
        listed = {{p.__name__: sorted(set(dir(p)) - set(vars(p))) for p in packages}}
        print(json.dumps([heavy, read, listed]))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    heavy, read, listed = json.loads(result.stdout)
    assert heavy == [] and not read
    for package in STUBBED:
        stub = REPO.joinpath(*package.split("."), "__init__.pyi")
        assert listed[package] == sorted(name for name, module in stub_names(stub).items() if module), package


def test_a_stub_import_that_type_checkers_would_not_export_is_refused(tmp_path):
    stub = tmp_path / "__init__.pyi"
    stub.write_text("from .solver import evolve as evolve\nfrom .initial import bubbles\n")
    with pytest.raises(ValueError, match="__init__.pyi:2: write 'bubbles as bubbles'"):
        stub_names(stub)


def test_the_wheel_ships_the_stubs_and_not_the_test_harness(tmp_path):
    pytest.importorskip("setuptools")
    source = tmp_path / "source"
    shutil.copytree(REPO / "lsn_explorer", source / "lsn_explorer", ignore=shutil.ignore_patterns("__pycache__"))
    (source / "tests").mkdir()
    for path in [*(REPO / "tests").glob("*.py"), REPO / "pyproject.toml", REPO / "README.md"]:
        shutil.copy(path, source / path.relative_to(REPO))
    subprocess.run([sys.executable, "-c", "from setuptools import build_meta; build_meta.build_wheel('dist')"],
                   cwd=source, check=True, capture_output=True)
    (wheel,) = (source / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    stubs = {p.relative_to(REPO).as_posix() for p in (REPO / "lsn_explorer").rglob("__init__.pyi")}
    assert stubs | {"lsn_explorer/_lazy.py", "lsn_explorer/py.typed"} <= names
    assert [n for n in names if n.startswith("tests/") or Path(n).name in ("harness.py", "testing.py")] == []
