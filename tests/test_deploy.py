"""The hub deployments in ``deploy/`` parse, point students at an app that exists, and give each
student a writable copy of the released course in their own home."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SCRIPT = DEPLOY / "student_home.py"
APP_URL = "/voila/render/apps/kernel_explorer.ipynb"
STUDENT_COPY = "~/lsn_explorer"
DOCKER_INSTRUCTIONS = {"FROM", "RUN", "COPY", "ENV", "USER", "WORKDIR", "ARG", "LABEL", "EXPOSE", "CMD", "ENTRYPOINT"}
# where each hub keeps the master copy and the copy script (deploy/tljh/install.sh, deploy/Dockerfile)
HUB_PREFIX = {"tljh": "/srv/lsn_explorer", "z2jh": "/opt/lsn_explorer"}
# a stand-in for jupyterhub-singleuser: the copy must be complete when the server starts
SERVER_PROBE = (
    "import os, sys; copy = os.path.expanduser(sys.argv[1]); "
    "sys.exit(0 if os.path.isfile(os.path.join(copy, 'apps', 'kernel_explorer.ipynb')) else 3)"
)


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]?)(i?)", size).groups()[:2]
    return int(float(number) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[unit])


def _values() -> dict:
    return yaml.safe_load((DEPLOY / "z2jh" / "values.yaml").read_text())


def _tljh_config() -> Config:
    c = Config()
    exec(compile((DEPLOY / "tljh" / "lsn_explorer_hub.py").read_text(), "lsn_explorer_hub.py", "exec"), {"c": c})
    return c


def _dockerfile() -> list[tuple[str, str, str]]:
    """(instruction, arguments, user in effect) of each instruction of deploy/Dockerfile."""
    parsed, user = [], "root"
    for raw in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            if instruction == "USER":
                user = rest.strip()
            parsed.append((instruction, " ".join(rest.split()), user))
    return parsed


def _hub_command(hub: str) -> list[str]:
    """The command each hub starts a student's server with (the copy, then the server)."""
    return list(_tljh_config().Spawner.cmd) if hub == "tljh" else list(_values()["singleuser"]["cmd"])


def _notebook_dir(hub: str) -> str:
    if hub == "tljh":
        return _tljh_config().Spawner.notebook_dir
    return _values()["hub"]["config"]["KubeSpawner"]["notebook_dir"]


def _default_url(hub: str) -> str:
    return _tljh_config().Spawner.default_url if hub == "tljh" else _values()["singleuser"]["defaultUrl"]


def _runnable(hub: str, master: Path, script: Path = SCRIPT, python: str = sys.executable) -> list[str]:
    """The hub's command with its paths pointing here: this Python, this script, a master copy here,
    and the probe in place of jupyterhub-singleuser."""
    command = _hub_command(hub)
    prefix = HUB_PREFIX[hub]
    at = command.index("--")
    assert command[at + 1:] == ["jupyterhub-singleuser"], "the copy hands over to the hub's server"
    assert Path(command[0]).name.startswith("python") and command[1] == f"{prefix}/student_home.py"
    assert command[2:4] == ["copy", f"{prefix}/course"]
    mapped = [python, str(script)] + command[2:at]
    mapped[3] = str(master)
    return mapped + ["--", python, "-c", SERVER_PROBE, _notebook_dir(hub)]


def _stage(master: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "stage", str(REPO), str(master)], check=True, capture_output=True)


def _read_relative_to_notebooks() -> list[Path]:
    """Paths the released notebooks' code reads relative to themselves (``"../docs/..."``), that the
    repository has: what a student's copy must hold for the notebooks to run."""
    found = []
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for literal in re.findall(r"""["'](\.\./[^"'{}\n]+)["']""", "".join(cell["source"])):
                if (notebook.parent / literal).exists():
                    found.append(Path("notebooks") / literal)
    return found


def _add_a_cell(notebook: Path, text: str) -> None:
    content = json.loads(notebook.read_text())
    content["cells"].append({"cell_type": "markdown", "id": "student-answer", "metadata": {}, "source": [text]})
    notebook.write_text(json.dumps(content, indent=1))


def test_the_app_url_names_a_notebook_of_the_repository():
    assert (REPO / APP_URL.removeprefix("/voila/render/")).is_file()


def test_zero_to_jupyterhub_values():
    values = _values()
    user = values["singleuser"]
    assert user["defaultUrl"] == APP_URL
    assert _bytes(user["memory"]["guarantee"]) <= _bytes(user["memory"]["limit"])
    # a server with the kernel explorer and the playground's torch fits under the limit
    assert _bytes(user["memory"]["limit"]) >= 2**30
    assert 0 < user["cpu"]["guarantee"] <= user["cpu"]["limit"]
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    assert set(values) <= {"singleuser", "cull", "hub", "scheduling", "proxy", "prePuller"}


def test_zero_to_jupyterhub_gives_each_student_a_persistent_home_with_the_course_copied_first():
    values = _values()
    storage = values["singleuser"]["storage"]
    assert storage["type"] == "dynamic", "each student's home is a volume of their own"
    assert _bytes(storage["capacity"]) >= 2**30
    assert storage.get("homeMountPath", "/home/jovyan") == "/home/jovyan"
    # the copy runs before the server, from the image's master copy, into the folder the server opens
    command = _hub_command("z2jh")
    assert command[command.index("--dest") + 1] == STUDENT_COPY == _notebook_dir("z2jh")
    assert "lifecycleHooks" not in values["singleuser"], "the copy is part of the server's command, not a hook racing it"


def test_the_littlest_jupyterhub_snippet_sets_the_start_page():
    c = _tljh_config()
    assert c.Spawner.default_url == APP_URL
    assert c.Spawner.notebook_dir == STUDENT_COPY
    command = list(c.Spawner.cmd)
    assert command[command.index("--dest") + 1] == STUDENT_COPY
    assert "{" not in "".join(command), "SystemdSpawner formats each part of the command"


def test_the_littlest_jupyterhub_install_script_parses_and_sets_limits():
    script = DEPLOY / "tljh" / "install.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "tljh-config set limits.memory 1G" in text and "tljh-config reload" in text
    assert "download.pytorch.org/whl/cpu" in text.split("pip install", 2)[1], "torch's CPU build comes first"
    assert "/srv/lsn_explorer" in text and "lsn_explorer_hub.py" in text


def test_the_littlest_jupyterhub_install_script_writes_what_the_hub_command_runs():
    text = (DEPLOY / "tljh" / "install.sh").read_text()
    variables = dict(re.findall(r"^([A-Z_]+)=(\S+)$", text, flags=re.M))
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        text = text.replace(f'"${name}"', value).replace(f"${name}", value)
    command = _hub_command("tljh")
    assert command[0] == variables["USER_PY"], "the copy runs with the users' Python, where install.sh puts the package"
    assert re.search(rf'student_home\.py"? stage "?\$REPO"? "?{re.escape(command[3])}["\s]', text), "the master copy"
    assert re.search(rf'install -m 755 \S*deploy/student_home\.py"? "?{re.escape(command[1])}["\s]', text), "the script"
    assert "chmod -R a+rX,go-w" in text, "the master copy is read-only for students"
    assert "rsync" not in text, "the checkout (with the course source's solutions) stays out of /srv"


def test_the_dockerfile_installs_the_cpu_torch_then_the_package():
    instructions = _dockerfile()
    assert instructions[0][0] == "FROM" and {name for name, _, _ in instructions} <= DOCKER_INSTRUCTIONS
    runs = [rest for name, rest, _ in instructions if name == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "download.pytorch.org/whl/cpu" in r)
    package_at = next(i for i, r in enumerate(runs) if "/tmp/lsn_explorer" in r and "pip install" in r)
    assert torch_at < package_at


def test_the_dockerfile_ships_the_released_course_as_a_read_only_master_copy():
    instructions = _dockerfile()
    assert any(name == "COPY" and rest.split()[-2:] == [".", "/tmp/lsn_explorer"] for name, rest, _ in instructions)
    command = _hub_command("z2jh")
    staged = [(rest, user) for name, rest, user in instructions
              if name == "RUN" and f"student_home.py stage /tmp/lsn_explorer {command[3]}" in rest]
    assert staged, "the image carries the released notebooks and apps where the hub's command copies them from"
    rest, user = staged[0]
    assert user == "root", "the master copy belongs to root, read-only for students"
    assert f"/tmp/lsn_explorer/deploy/student_home.py {command[1]}" in rest and "chmod -R a+rX,go-w" in rest
    assert instructions[-1][2] != "root" and [u for n, _, u in instructions if n == "USER"][-1] == "${NB_UID}"
    ignored = {line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()}
    assert {"course", ".venv", ".git"} <= ignored, "solutions and the virtual environment stay out of the image"


def test_the_master_copy_holds_the_released_material_read_only(tmp_path):
    master = tmp_path / "course"
    _stage(master)
    for folder in ("notebooks", "apps"):
        released = sorted(p.name for p in (REPO / folder).glob("*.ipynb"))
        assert released and sorted(p.name for p in (master / folder).glob("*.ipynb")) == released
    for path in master.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
    # staging again replaces the master copy whole: a file gone from the release is gone from it
    (master / "notebooks" / "withdrawn.ipynb").write_text("{}")
    _stage(master)
    assert not (master / "notebooks" / "withdrawn.ipynb").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["course"]


@pytest.mark.parametrize("hub", ["tljh", "z2jh"])
def test_each_student_works_in_a_writable_copy_that_keeps_their_edits(hub, tmp_path, monkeypatch):
    master, home = tmp_path / "master", tmp_path / "home"
    _stage(master)
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    start = _runnable(hub, master)
    subprocess.run(start, check=True, capture_output=True, text=True)  # first login; the probe sees the copy

    copy = Path(os.path.expanduser(_notebook_dir(hub)))
    assert (copy / _default_url(hub).removeprefix("/voila/render/")).is_file(), "the start page is in the copy"
    for read in _read_relative_to_notebooks() or pytest.fail("no notebook reads ../docs/results any more?"):
        assert (copy / read).resolve().exists(), f"a notebook reads {read} relative to itself"
    for path in [copy, *copy.rglob("*")]:
        assert path.stat().st_mode & (0o700 if path.is_dir() else 0o600) == (0o700 if path.is_dir() else 0o600), path

    # the student edits a notebook and adds one of their own
    edited, untouched = copy / "notebooks" / "00_index.ipynb", copy / "apps" / "slice_browser.ipynb"
    _add_a_cell(edited, "my answer")
    (copy / "notebooks" / "mine.ipynb").write_text('{"cells": []}')
    mine = edited.read_text()

    # a new release: a new notebook, and changes to a file the student edited and to one they did not
    (master / "notebooks" / "99_new_exercise.ipynb").write_text('{"cells": [], "new": true}')
    _add_a_cell(master / "notebooks" / "00_index.ipynb", "a correction")
    _add_a_cell(master / "apps" / "slice_browser.ipynb", "a correction")
    subprocess.run(start, check=True, capture_output=True, text=True)
    assert edited.read_text() == mine, "a second start never overwrites the student's edit"
    assert (copy / "notebooks" / "mine.ipynb").read_text() == '{"cells": []}'
    assert (copy / "notebooks" / "99_new_exercise.ipynb").read_text() == '{"cells": [], "new": true}'
    assert untouched.read_text() == (master / "apps" / "slice_browser.ipynb").read_text()

    # a file the student deleted comes back
    untouched.unlink()
    subprocess.run(start, check=True, capture_output=True, text=True)
    assert untouched.is_file()


def test_the_server_starts_even_when_the_copy_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    start = _runnable("tljh", tmp_path / "no-master-here")
    start[-4:] = [sys.executable, "-c", "print('server started')"]
    done = subprocess.run(start, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "server started"
    assert "no-master-here" in done.stderr and (tmp_path / "lsn_explorer").is_dir()


@pytest.fixture
def student():
    """A throwaway unprivileged user with a home under a folder every user can enter."""
    if os.geteuid() != 0 or not (shutil.which("useradd") and shutil.which("runuser") and shutil.which("userdel")):
        pytest.skip("creating a throwaway user needs root, useradd, runuser and userdel")
    base = Path(tempfile.mkdtemp(prefix="lsn-deploy-"))
    base.chmod(0o755)
    name = f"lsnstudent{os.getpid()}"
    added = subprocess.run(["useradd", "--create-home", "--home-dir", str(base / "home"),
                            "--shell", "/bin/sh", name], capture_output=True, text=True)
    if added.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"useradd failed: {added.stderr.strip()}")
    try:
        python = next((p for p in (sys.executable, "/usr/bin/python3") if subprocess.run(
            ["runuser", "-u", name, "--", p, "-c", "pass"], capture_output=True, cwd=base).returncode == 0), None)
        if python is None:
            pytest.skip("no Python the throwaway user can run")
        yield name, base, python
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_a_student_owns_and_can_write_their_copy_but_not_the_master(student):
    name, base, python = student
    home, master, script = base / "home", base / "master", base / "student_home.py"
    _stage(master)
    shutil.copy(SCRIPT, script)
    script.chmod(0o755)

    def as_student(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", name, "--", "env", f"HOME={home}", *command],
                              capture_output=True, text=True, cwd=base)

    start = _runnable("tljh", master, script=script, python=python)
    assert as_student(*start).returncode == 0
    copy = home / "lsn_explorer"
    uid = pwd.getpwnam(name).pw_uid
    assert all(path.stat().st_uid == uid for path in [copy, *copy.rglob("*")]), "everything in the copy is the student's"

    edit = ("import json, sys; p = sys.argv[1]; nb = json.load(open(p)); nb['cells'].append("
            "{'cell_type': 'markdown', 'id': 'answer', 'metadata': {}, 'source': ['my answer']}); "
            "json.dump(nb, open(p, 'w')); open(sys.argv[2], 'w').write('{}')")
    edited = copy / "notebooks" / "00_index.ipynb"
    assert as_student(python, "-c", edit, str(edited), str(copy / "notebooks" / "mine.ipynb")).returncode == 0
    mine = edited.read_text()
    assert "my answer" in mine
    assert as_student("touch", str(master / "notebooks" / "x.ipynb")).returncode != 0, "the master copy is read-only"
    assert as_student("touch", str(master / "notebooks" / "00_index.ipynb")).returncode != 0

    (master / "notebooks" / "99_new_exercise.ipynb").write_text("{}")
    (master / "notebooks" / "99_new_exercise.ipynb").chmod(0o644)
    assert as_student(*start).returncode == 0
    assert edited.read_text() == mine and (copy / "notebooks" / "mine.ipynb").read_text() == "{}"
    assert (copy / "notebooks" / "99_new_exercise.ipynb").stat().st_uid == uid
