from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from lsn_explorer.models import UNet

WORKER = Path(__file__).with_name("_ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_end_with_identical_weights(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), str(WORKER), str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    w0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for k in w0:
        torch.testing.assert_close(w0[k], w1[k], atol=0, rtol=0)
    torch.manual_seed(0)
    init = UNet(depth=2, features=4).state_dict()
    assert any(not torch.equal(init[k], w0[k]) for k in init)  # an epoch of training happened
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["world_size"] == 2
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 2  # header + one epoch, written once (by rank 0)
