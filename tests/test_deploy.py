"""The hub deployments in ``deploy/`` parse, and point students at an app that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
APP_URL = "/voila/render/apps/kernel_explorer.ipynb"
DOCKER_INSTRUCTIONS = {"FROM", "RUN", "COPY", "ENV", "USER", "WORKDIR", "ARG", "LABEL", "EXPOSE", "CMD", "ENTRYPOINT"}


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]?)", size).groups()
    return int(float(number) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[unit])


def test_the_app_url_names_a_notebook_of_the_repository():
    assert (REPO / APP_URL.removeprefix("/voila/render/")).is_file()


def test_zero_to_jupyterhub_values():
    values = yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())
    user = values["singleuser"]
    assert user["defaultUrl"] == APP_URL
    assert _bytes(user["memory"]["guarantee"]) <= _bytes(user["memory"]["limit"])
    # a server with the kernel explorer and the playground's torch fits under the limit
    assert _bytes(user["memory"]["limit"]) >= 2**30
    assert 0 < user["cpu"]["guarantee"] <= user["cpu"]["limit"]
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    assert set(values) <= {"singleuser", "cull", "hub", "scheduling", "proxy", "prePuller"}


def test_the_littlest_jupyterhub_snippet_sets_the_start_page():
    c = Config()
    exec(compile((DEPLOY / "tljh" / "lsn_explorer_hub.py").read_text(), "lsn_explorer_hub.py", "exec"), {"c": c})
    assert c.Spawner.default_url == APP_URL
    assert c.Spawner.notebook_dir == "/srv/lsn_explorer"


def test_the_littlest_jupyterhub_install_script_parses_and_sets_limits():
    script = DEPLOY / "tljh" / "install.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "tljh-config set limits.memory 1G" in text and "tljh-config reload" in text
    assert "download.pytorch.org/whl/cpu" in text.split("pip install", 2)[1], "torch's CPU build comes first"
    assert "/srv/lsn_explorer" in text and "lsn_explorer_hub.py" in text


def test_the_dockerfile_installs_the_cpu_torch_then_the_package():
    lines = []
    for raw in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            lines.append(raw.strip())
    instructions = [line.split()[0] for line in lines]
    assert instructions[0] == "FROM" and set(instructions) <= DOCKER_INSTRUCTIONS
    runs = [line for line in lines if line.startswith("RUN")]
    torch_at = next(i for i, r in enumerate(runs) if "download.pytorch.org/whl/cpu" in r)
    package_at = next(i for i, r in enumerate(runs) if "/tmp/lsn_explorer" in r and "pip install" in r)
    assert torch_at < package_at
    assert any("apps" in r and "/home/" in r for r in runs), "the image carries the apps the default URL renders"

