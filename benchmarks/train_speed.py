"""Slices per second: one epoch of ``lsn_explorer.train.fit`` against a bare loop.

Both train the same freshly initialised network with Adam on the Dice-L2 loss,
over the same tensors in the same batches; the bare loop is only
``zero_grad / forward / loss / backward / step``.  The trainer adds its data
order, metrics, progress bookkeeping, checkpoint and history writes (no
validation set here).  Target on CPU: trainer >= 0.9x the bare loop.

    python benchmarks/train_speed.py [--slices 48] [--sizes 128 256] [--threads N]

Prints a table and writes benchmarks/results/train_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from lsn_explorer.losses import dice_l2_loss
from lsn_explorer.models import LevelSetNetwork, UNet
from lsn_explorer.train import fit, resolve_device

RESULTS = Path(__file__).resolve().parent / "results" / "train_speed.json"


def _data(n: int, size: int):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 1, size, size, generator=g) * 2 - 1
    masks = (images > 0.2).float()
    return images, masks


def _net(name: str):
    torch.manual_seed(0)
    return UNet() if name == "unet" else LevelSetNetwork()


def _bare(name, images, masks, batch_size, device):
    net = _net(name).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    x_all, y_all = images.to(device), masks.to(device)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(1)).to(device)
    t0 = time.perf_counter()
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        loss = dice_l2_loss(net(x_all[idx]), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def _trainer(name, images, masks, batch_size, device):
    net = _net(name)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        fit(net, (images, masks), None, out=Path(tmp) / "run", epochs=1, batch_size=batch_size, lr=1e-3,
            device=device, progress=False)
        return time.perf_counter() - t0


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=48, help="slices per epoch (UNet; the LSN uses a third)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs of each")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    rows = []
    for name in ("unet", "lsn"):
        for size in args.sizes:
            n = args.slices if name == "unet" else max(args.batch_size, args.slices // 3)
            images, masks = _data(n, size)
            _bare(name, images[: args.batch_size], masks[: args.batch_size], args.batch_size, device)  # warm-up
            bare, trainer = [], []
            for _ in range(args.repeats):  # interleaved, so both see the same machine load
                bare.append(_bare(name, images, masks, args.batch_size, device))
                trainer.append(_trainer(name, images, masks, args.batch_size, device))
            bare, trainer = min(bare), min(trainer)
            rows.append(dict(model=name, size=size, slices=n, bare_slices_per_s=n / bare,
                             trainer_slices_per_s=n / trainer, ratio=bare / trainer))
            r = rows[-1]
            print(f"{name:5s} {size:4d}²  {n:4d} slices  bare {r['bare_slices_per_s']:8.2f}/s  "
                  f"trainer {r['trainer_slices_per_s']:8.2f}/s  trainer/bare {r['ratio']:.2f}", flush=True)
    print("\nmodel  size  slices  bare slices/s  trainer slices/s  trainer/bare")
    for r in rows:
        print(f"{r['model']:5s}  {r['size']:4d}  {r['slices']:6d}  {r['bare_slices_per_s']:13.2f}  "
              f"{r['trainer_slices_per_s']:16.2f}  {r['ratio']:12.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(device=str(device), threads=torch.get_num_threads(), torch=torch.__version__,
                machine=platform.machine(), processor=platform.processor(), batch_size=args.batch_size,
                repeats=args.repeats)
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return rows


if __name__ == "__main__":
    main()
