"""Worker for tests/test_ddp.py, run by ``torch.distributed.run`` on 2 CPU processes."""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

from lsn_explorer.models import UNet
from lsn_explorer.train import fit

torch.set_num_threads(1)
out = sys.argv[1]
g = torch.Generator().manual_seed(0)
images = torch.rand(10, 1, 16, 16, generator=g) * 2 - 1
masks = (images > 0.3).float()
torch.manual_seed(0)
net = UNet(depth=2, features=4)
fit(net, (images, masks), (images[:4], masks[:4]), out=os.path.join(out, "run"), epochs=1, batch_size=2,
    lr=1e-2, seed=0, device="cpu", progress=False)
rank = dist.get_rank()
torch.save({k: v.detach().clone() for k, v in net.state_dict().items()}, os.path.join(out, f"rank{rank}.pt"))
dist.barrier()
dist.destroy_process_group()
