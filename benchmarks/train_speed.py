"""Slices per second and peak memory: one epoch of ``lsn_explorer.train.fit`` against a bare loop.

Both train the same freshly initialised network with Adam on the model's own
training loss (Dice-L2 unless the model defines ``training_loss``), over the same
tensors in the same batches; the bare loop is only ``zero_grad / forward / loss /
backward / step``.  The trainer adds its data order, metrics, progress bookkeeping,
checkpoint and history writes (no validation set here).  Target on CPU: trainer
>= 0.9x the bare loop.

Every (model, size) row runs in a fresh process, so its peak resident memory (and on
CUDA its peak allocated memory) is its own.

    python benchmarks/train_speed.py [--models unet lsn lsn-g speed-map-lsn] [--sizes 128 256]
                                     [--slices 48] [--threads N] [--device auto] [--json PATH]

Prints a table and writes benchmarks/results/train_speed.json (or ``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from lsn_explorer.devices import resolve_device
from lsn_explorer.models import build_model, recipe_for
from lsn_explorer.presets import get_preset
from lsn_explorer.train import batch_loss, fit

RESULTS = Path(__file__).resolve().parent / "results" / "train_speed.json"
MODELS = ("unet", "lsn", "lsn-g", "speed-map-lsn")


def _data(n: int, size: int):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 1, size, size, generator=g) * 2 - 1
    masks = (images > 0.2).float()
    return images, masks


def _net(name: str):
    torch.manual_seed(0)
    return build_model(name, recipe_for(name, get_preset("quick")).config)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _bare(name, images, masks, batch_size, device):
    net = _net(name).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    x_all, y_all = images.to(device), masks.to(device)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(1)).to(device)
    _sync(device)
    t0 = time.perf_counter()
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        loss = batch_loss(net, net, x_all[idx], y_all[idx], progress=i / len(order))[0].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - t0


def _trainer(name, images, masks, batch_size, device):
    net = _net(name)
    with tempfile.TemporaryDirectory() as tmp:
        _sync(device)
        t0 = time.perf_counter()
        fit(net, (images, masks), None, out=Path(tmp) / "run", epochs=1, batch_size=batch_size, lr=1e-3,
            device=device, progress=False)
        _sync(device)
        return time.perf_counter() - t0


def run_row(name: str, size: int, *, slices: int, batch_size: int, repeats: int, device: str) -> dict:
    """One (model, size) row, in this process: best of ``repeats`` interleaved bare and trainer epochs."""
    dev = resolve_device(device)
    images, masks = _data(slices, size)
    _bare(name, images[:batch_size], masks[:batch_size], batch_size, dev)  # warm-up
    bare, trainer = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        bare.append(_bare(name, images, masks, batch_size, dev))
        trainer.append(_trainer(name, images, masks, batch_size, dev))
    row = dict(model=name, size=size, slices=slices, device=str(dev), bare_slices_per_s=slices / min(bare),
               trainer_slices_per_s=slices / min(trainer), ratio=min(bare) / min(trainer),
               peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if dev.type == "cuda":
        row["peak_cuda_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return row


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--slices", type=int, default=48, help="slices per epoch")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs of each")
    parser.add_argument("--json", type=Path, default=RESULTS,
                        help="where to write the rows (default benchmarks/results/train_speed.json)")
    parser.add_argument("--row", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    options = dict(slices=args.slices, batch_size=args.batch_size, repeats=args.repeats, device=args.device)
    if args.row:
        print(json.dumps(run_row(args.row[0], int(args.row[1]), **options)))
        return []
    rows = []
    forward = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    forward += [f"--threads={args.threads}"] if args.threads else []
    for name in args.models:
        for size in args.sizes:
            out = subprocess.run([sys.executable, __file__, "--row", name, str(size), *forward], check=True,
                                 capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"{name:14s} {size:4d}²  bare {r['bare_slices_per_s']:8.2f}/s  trainer {r['trainer_slices_per_s']:8.2f}/s"
                  f"  trainer/bare {r['ratio']:.2f}  peak RSS {r['peak_rss_mib']:7.0f} MiB", flush=True)
    print("\nmodel           size  bare slices/s  trainer slices/s  trainer/bare  peak RSS MiB")
    for r in rows:
        print(f"{r['model']:14s}  {r['size']:4d}  {r['bare_slices_per_s']:13.2f}  {r['trainer_slices_per_s']:16.2f}"
              f"  {r['ratio']:12.2f}  {r['peak_rss_mib']:12.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(device=str(resolve_device(args.device)), threads=torch.get_num_threads(), torch=torch.__version__,
                machine=platform.machine(), processor=platform.processor(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(), batch_size=args.batch_size,
                repeats=args.repeats, slices=args.slices)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
