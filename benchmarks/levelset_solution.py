"""Time to the same segmentation: our solver's backends against SimpleITK's GAC, run to convergence.

Per-iteration rates hide that solvers take different time steps and stop at different
iterations. Here every solver segments the same phantom slices (volume 0, the slices with
the most liver, at their own size: no resampling), from Table 2's bubbles placed from the
label, on the same edge map (``edge_function(method="itksnap", kappa=0.04, lam=3)``), with
α 1, β 0.2, γ 2, until the RMS change falls below 0.01 (ITK's MaximumRMSError) or 2,000
iterations. Ours runs ``evolve`` at its automatic dt; SimpleITK picks its own. Each
solver's time is the wall time of all slices on ``--threads`` threads each: SimpleITK one
slice at a time (its filter splits each image over the threads); ours one slice at a time
too, or with ``--batch`` all slices in one ``evolve`` call (its sparse field splits the
images over the threads). Segmentations are compared with SimpleITK's (Dice per slice), so a
ratio is only a speed-up where the two agree, and each solver's with the label.

    python benchmarks/levelset_solution.py --threads 1             # 256² and 512², ~2 minutes
    python benchmarks/levelset_solution.py --threads 2 --batch --sizes 256 512 1024 --backends sparse \
        --json benchmarks/results/levelset_solution_threads2.json

Writes benchmarks/results/levelset_solution.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from lsn_explorer.levelset import edge_function, evolve
from lsn_explorer.levelset.initial import bubble_level_set
from lsn_explorer.metrics import mask_dice

RESULTS = Path(__file__).parent / "results" / "levelset_solution.json"
PARAMS = dict(alpha=1.0, beta=0.2, gamma=2.0)
STOP = dict(max_rms_change=0.01, num_iter=2000)
#: Our runs: name -> evolve() options.
OURS = {"dense": {"backend": "band"}, "sparse": {"backend": "sparse", "clamp": 3.0}}


def problem(size: int, count: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(g, u0, masks)``, each ``(count, 1, size, size)``: edge maps, Table 2's bubbles and labels of phantom volume 0."""
    from lsn_explorer.data.phantom import phantom_volume

    hu, label, _ = phantom_volume(0, size=size, num_slices=32)
    zs = np.argsort([-(label[:, :, z] > 0).sum() for z in range(label.shape[2])])[:count]
    images = torch.from_numpy(np.stack([np.clip((hu[:, :, z] + 100.0) / 250.0 - 1.0, -1, 1) for z in zs]))[:, None]
    masks = torch.from_numpy(np.stack([label[:, :, z] > 0 for z in zs]))[:, None].float()
    g = edge_function(images.float(), method="itksnap", kappa=0.04, lam=3.0)
    u0, _ = bubble_level_set(masks)
    return g, u0.float(), masks


def run_ours(g, u0, options, *, batch: bool = False) -> tuple[float, torch.Tensor, list[int]]:
    """(seconds, segmentations, iterations per slice), slice by slice or all slices in one call."""
    start = time.perf_counter()
    if batch:
        results = [evolve(u0, g, **PARAMS, **STOP, **options, return_info=True)]
    else:
        results = [evolve(u0[i : i + 1], g[i : i + 1], **PARAMS, **STOP, **options, return_info=True) for i in range(len(g))]
    seconds = time.perf_counter() - start
    return seconds, torch.cat([r.u > 0 for r in results]), [int(n) for r in results for n in r.num_iter_run]


def run_sitk(g, u0) -> tuple[float, torch.Tensor, list[int]]:
    """(seconds, segmentations, iterations per slice) of SimpleITK's GeodesicActiveContourLevelSetImageFilter."""
    inputs = [(sitk.GetImageFromArray(-u0[i, 0].numpy()), sitk.GetImageFromArray(g[i, 0].numpy())) for i in range(len(g))]
    masks, iterations = [], []
    start = time.perf_counter()
    for phi, speed in inputs:
        f = sitk.GeodesicActiveContourLevelSetImageFilter()
        f.SetPropagationScaling(PARAMS["alpha"]); f.SetCurvatureScaling(PARAMS["beta"])
        f.SetAdvectionScaling(PARAMS["gamma"]); f.SetMaximumRMSError(STOP["max_rms_change"])
        f.SetNumberOfIterations(STOP["num_iter"])
        masks.append(torch.from_numpy(sitk.GetArrayFromImage(f.Execute(phi, speed)) < 0))
        iterations.append(int(f.GetElapsedIterations()))
    seconds = time.perf_counter() - start
    return seconds, torch.stack(masks)[:, None], iterations


def bench(size: int, ours: dict, *, batch: bool = False) -> dict:
    g, u0, labels = problem(size)
    for options in ours.values():  # compile and warm up on one short run
        evolve(u0[:2], g[:2], num_iter=2, **PARAMS, **options)
    row = {"size": size, "slices": len(g)}
    row["sitk_s"], reference, row["sitk_iterations"] = run_sitk(g, u0)
    row["sitk_dice_vs_label"] = mask_dice(reference.float(), labels, reduction="none")[:, 0].tolist()
    for name, options in ours.items():
        seconds, masks, iterations = run_ours(g, u0, options, batch=batch)
        dice = mask_dice(masks.float(), reference.float(), reduction="none")[:, 0]
        row[name] = {"seconds": seconds, "iterations": iterations, "speedup_vs_sitk": row["sitk_s"] / seconds,
                     "dice_vs_sitk_min": float(dice.min()), "dice_vs_sitk_mean": float(dice.mean()),
                     "dice_vs_label": mask_dice(masks.float(), labels, reduction="none")[:, 0].tolist()}
        print(f"{size}² {name}: {seconds:.2f} s, SimpleITK {row['sitk_s']:.2f} s: {row['sitk_s'] / seconds:.2f}x; "
              f"Dice vs SimpleITK min {dice.min():.3f}; iterations {iterations} vs {row['sitk_iterations']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--backends", nargs="+", choices=list(OURS), default=list(OURS))
    parser.add_argument("--batch", action="store_true", help="ours: all slices in one evolve call")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(args.threads)
    rows = [bench(size, {name: OURS[name] for name in args.backends}, batch=args.batch) for size in args.sizes]
    machine = {"cpu": platform.processor() or platform.machine(), "threads": args.threads, "batch": args.batch,
               "torch": torch.__version__, "simpleitk": sitk.Version.VersionString()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "params": PARAMS, "stop": STOP, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
