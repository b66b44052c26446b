"""The set-up files agree with each other: one list of dependencies, two commands."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
REQUIRED = {
    "torch", "numpy", "scipy", "scikit-learn", "umap-learn", "numba", "nibabel", "plotly", "anywidget",
    "ipywidgets", "voila", "jupyterlab", "ipykernel", "tqdm", "h5py",
}
TEST_REQUIRED = {"pytest", "nbclient", "nbformat", "playwright", "simpleitk", "scikit-image"}


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


SUBPACKAGES = ("apps", "data", "experiments", "kernels", "levelset", "models", "segmentation", "train", "viz")


def test_public_names_resolve_to_documented_objects():
    import importlib

    import lsn_explorer

    for name in lsn_explorer.__all__[1:]:  # after __version__
        value = getattr(lsn_explorer, name)
        home = importlib.import_module(f"lsn_explorer.{lsn_explorer._WHERE[name]}")
        assert value is getattr(home, name), f"lsn_explorer.{name} is not {home.__name__}.{name}"
        assert (value.__doc__ or "").strip(), f"help(lsn_explorer.{name}) shows no documentation"
    for package in SUBPACKAGES:
        module = importlib.import_module(f"lsn_explorer.{package}")
        for name in module.__all__:
            value = getattr(module, name)
            if callable(value):
                assert (value.__doc__ or "").strip(), f"lsn_explorer.{package}.{name} has no docstring"
