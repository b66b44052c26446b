"""``benchmarks/gpu_session.sh``: its CPU rehearsal (``--dry-run``) runs every step and writes one JSON.

The GPU session itself needs CUDA; the dry run runs the same steps, tiny and on the CPU, so a
broken step shows here before it costs a GPU session its minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_session.sh"
STEPS = ("data", "tests", "train_speed", "levelset", "train")
COMMITTED = ("train_speed.json", "levelset_speed.json")


def _session(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_an_unknown_option_is_refused_by_name():
    done = _session("--dryrun", timeout=30)
    assert done.returncode == 2
    assert "unknown argument '--dryrun'" in done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA this would start the real 8-minute session")
def test_without_cuda_the_real_session_refuses_and_points_to_the_dry_run(tmp_path):
    done = _session("--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"), timeout=120)
    assert done.returncode == 2
    assert "no CUDA device" in done.stderr and "--dry-run" in done.stderr
    assert not (tmp_path / "out" / "gpu_session.json").exists()


@pytest.mark.slow
def test_dry_run_runs_every_step_on_the_cpu_and_writes_one_json(tmp_path):
    results = REPO / "benchmarks" / "results"
    before = {name: (results / name).read_bytes() for name in COMMITTED if (results / name).is_file()}
    out = tmp_path / "session"
    done = _session("--dry-run", "--out", str(out), "--work", str(tmp_path / "work"), timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    session = json.loads((out / "gpu_session.json").read_text())
    meta = session["meta"]
    assert meta["dry_run"] is True and meta["budget_s"] == 120
    assert 0 < meta["total_s"] <= meta["budget_s"] and meta["within_budget"] is True
    assert list(session["steps"]) == list(STEPS)
    for name, step in session["steps"].items():
        assert step["status"] == "ok", (name, step)
        assert step["rc"] == 0 and 0 < step["seconds"] <= step["timeout_s"], (name, step)
        assert step["command"] and (out / step["log"]).is_file(), (name, step)
    assert sum(s["seconds"] for n, s in session["steps"].items() if n != "data") <= meta["total_s"] + 1

    steps = session["steps"]
    assert steps["tests"]["result"]["passed"] >= 5 and steps["tests"]["result"]["not_passed"] == []
    speed = steps["train_speed"]["result"]["rows"]
    assert [(r["model"], r["device"]) for r in speed] == [("unet", "cpu")] and speed[0]["trainer_slices_per_s"] > 0
    level = steps["levelset"]["result"]
    assert level["meta"]["device"] == "cpu"
    assert {r["batch"] for r in level["rows"]} == {1, 4}
    assert all(r["ours_auto"] > 0 and r["simpleitk_single"] > 0 and "error_auto" not in r for r in level["rows"])
    train = steps["train"]["result"]
    assert train["preset"] == "quick" and train["fold"] == 0 and train["epochs"] == 1
    unet = train["networks"]["unet"]
    assert unet["status"] == "ok" and unet["epochs"] == 1 and 0 <= unet["last"]["valid_volume_dice"] <= 1
    assert "lsn-explorer train unet" in unet["command"]

    # the committed CPU results are not overwritten by a rehearsal, and the large files stay out of --out
    assert {name: (results / name).read_bytes() for name in before} == before
    assert not list(out.rglob("*.nii.gz")) and not list(out.rglob("*.pt"))
