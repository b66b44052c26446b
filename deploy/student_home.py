#!/usr/bin/env python3
"""Give each student a writable copy of the released course material in their own home.

Two steps, the same on The Littlest JupyterHub and on Zero to JupyterHub:

``stage REPO MASTER``
    run once by whoever installs the hub (root): copies what students get from a checkout of
    the repository (``RELEASED``: the released notebooks, the apps, and the files the notebooks
    read relative to themselves) into MASTER, the read-only master copy (files 644, folders 755),
    replacing a previous master copy in one rename.

``copy MASTER [--dest DEST] [-- COMMAND ...]``
    run as the student each time their server starts: brings the master copy into DEST
    (default ``~/lsn_explorer``), writable by the student. A file the student does not have is
    copied; a file the student changed is never overwritten; a file the student has exactly as it
    was delivered is brought up to the master's version (a release given out mid-course). A file
    the student deleted comes back. With ``-- COMMAND``, the copy runs first and then COMMAND
    replaces this process (the hub's ``jupyterhub-singleuser``), so the server starts on a
    complete copy; a failed copy is reported and the server still starts.

Standard library only: it runs with whatever Python the hub's user environment has.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path

# What students get, relative to the repository root. The notebooks read ../docs/results/table2
# (Table 2's shipped results) and ../docs/results/capacity (the capacity study's) and link
# ../docs/lsn.md, which shows the study's figure; a notebook's own runs go to ../runs/, which the
# student's copy lets them create.
RELEASED = ("notebooks", "apps", "docs/results/table2", "docs/results/capacity", "docs/lsn.md")
SKIPPED = {".ipynb_checkpoints", "__pycache__", ".DS_Store", ".git"}
MANIFEST = ".lsn_explorer_release.json"
DEFAULT_DEST = "~/lsn_explorer"


def _say(message: str) -> None:
    print(f"lsn_explorer: {message}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path):
    """Relative paths of the regular files under ``root``, sorted, skipping editor and cache folders."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        for name in names:
            path = Path(folder) / name
            if name not in SKIPPED and path.is_file():
                found.append(path.relative_to(root))
    return sorted(found)


def stage(repo: Path, master: Path) -> int:
    """Write the master copy of ``RELEASED`` from ``repo`` into ``master``; returns the number of files."""
    repo, master = Path(repo).resolve(), Path(master)
    missing = [item for item in RELEASED if not (repo / item).exists()]
    if missing:
        raise FileNotFoundError(f"{repo}: the released material lacks {', '.join(missing)} "
                                "(expected the root of a checkout of this repository)")
    master.parent.mkdir(parents=True, exist_ok=True)
    new = master.with_name(f".{master.name}.new-{os.getpid()}")
    old = master.with_name(f".{master.name}.old-{os.getpid()}")
    shutil.rmtree(new, ignore_errors=True)
    count = 0
    for item in RELEASED:
        source = repo / item
        paths = [Path(item)] if source.is_file() else [Path(item) / rel for rel in _files(source)]
        for rel in paths:
            target = new / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(repo / rel, target)
            count += 1
    for folder, dirs, names in os.walk(new):
        os.chmod(folder, 0o755)
        for name in names:
            os.chmod(Path(folder) / name, 0o644)
    if master.exists():
        os.rename(master, old)
    os.rename(new, master)
    shutil.rmtree(old, ignore_errors=True)
    return count


def _write(source: Path, target: Path) -> None:
    """Copy the content of ``source`` to ``target`` in one rename, owned by whoever runs this."""
    executable = os.stat(source).st_mode & stat.S_IXUSR
    temporary = target.with_name(f".{target.name}.lsn-{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o777 if executable else 0o666)
    try:
        with os.fdopen(descriptor, "wb") as out, open(source, "rb") as handle:
            shutil.copyfileobj(handle, out)
        os.chmod(temporary, os.stat(temporary).st_mode | stat.S_IRUSR | stat.S_IWUSR)
        os.replace(temporary, target)
    except BaseException:
        if temporary.exists():
            temporary.unlink()
        raise


def _writable_folder(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    mode = os.stat(path).st_mode
    wanted = stat.S_IRWXU
    if mode & wanted != wanted:
        os.chmod(path, mode | wanted)


def copy(master: Path, dest: Path | str = DEFAULT_DEST) -> dict:
    """Bring ``master`` into ``dest`` without overwriting a file the student changed.

    Returns counts: ``copied`` (new to the student), ``updated`` (a file the student had exactly as
    delivered, replaced by the master's newer version), ``kept`` (differs from the master and was
    changed by the student, left alone), ``same``, and ``skipped`` (could not be written: a folder
    where the master has a file, or the reverse, or no permission; each is named on stderr).
    """
    master, dest = Path(master), Path(os.path.expanduser(str(dest)))
    if not master.is_dir():
        raise FileNotFoundError(f"{master}: no master copy of the course material here "
                                f"(expected the folder written by `student_home.py stage`)")
    _writable_folder(dest)
    manifest_path = dest / MANIFEST
    try:
        delivered = json.loads(manifest_path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        delivered = {}
    counts = dict.fromkeys(("copied", "updated", "kept", "same", "skipped"), 0)
    for rel in _files(master):
        key, source, target = rel.as_posix(), master / rel, dest / rel
        try:
            for parent in reversed(list(rel.parents)[:-1]):
                _writable_folder(dest / parent)
            if target.is_dir():
                raise IsADirectoryError(f"{target} is a folder")
            wanted = _sha256(source)
            if not target.exists():
                _write(source, target)
                counts["copied"] += 1
            else:
                have = _sha256(target)
                if have == wanted:
                    counts["same"] += 1
                elif delivered.get(key) == have:
                    _write(source, target)
                    counts["updated"] += 1
                else:
                    counts["kept"] += 1
                    continue
        except OSError as error:
            _say(f"{target} left as it is: {error}")
            counts["skipped"] += 1
            continue
        delivered[key] = wanted
    temporary = manifest_path.with_name(f"{MANIFEST}.{os.getpid()}")
    temporary.write_text(json.dumps({"master": str(master), "files": delivered}, indent=1, sort_keys=True))
    os.replace(temporary, manifest_path)
    return counts


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = []
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(prog="student_home.py", description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    staging = steps.add_parser("stage", help="write the read-only master copy from a repository checkout")
    staging.add_argument("repo", type=Path)
    staging.add_argument("master", type=Path)
    copying = steps.add_parser("copy", help="bring the master copy into the student's home, then run COMMAND")
    copying.add_argument("master", type=Path)
    copying.add_argument("--dest", default=DEFAULT_DEST, help=f"the student's copy (default {DEFAULT_DEST})")
    args = parser.parse_args(argv)
    if args.step == "stage":
        if command:
            parser.error("stage takes no command after --")
        try:
            _say(f"{stage(args.repo, args.master)} files staged into {args.master}")
        except OSError as error:
            _say(f"could not stage the master copy: {error}")
            return 2
        return 0
    dest = Path(os.path.expanduser(args.dest))
    try:
        counts = copy(args.master, dest)
        _say(f"{dest}: " + ", ".join(f"{value} {name}" for name, value in counts.items()))
        status = 0
    except (OSError, ValueError) as error:
        _say(f"could not bring the course material into {dest}: {error}")
        status = 1
    if command:
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        os.execvp(command[0], command)
    return status


if __name__ == "__main__":
    sys.exit(main())
