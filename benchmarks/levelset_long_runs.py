"""Per-iteration throughput on the runs people make: one bubble, 50 to 1,000 iterations, against SimpleITK.

One phantom slice (volume 0, the one with the most liver) with the default edge map, one
bubble of 5 % or 15 % of the side at the same place, α 1, β 0.2, γ 2, dt 0.1, no RMS
stop; every solver on one thread, the same run length. Rates are iterations per second
of the whole call, set-up included, as a user sees them.

    python benchmarks/levelset_long_runs.py        # ~3 minutes

Writes benchmarks/results/levelset_long_runs.json.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from lsn_explorer.levelset import bubbles, edge_function, evolve

RESULTS = Path(__file__).parent / "results" / "levelset_long_runs.json"
PARAMS = dict(alpha=1.0, beta=0.2, gamma=2.0)
OURS = {"dense": {"backend": "band"}, "band, clamp 4": {"backend": "band", "clamp": 4.0},
        "sparse": {"backend": "sparse", "clamp": 3.0}}


def slice_problem(size: int, radius: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(g, u0)`` of shape ``(1, 1, size, size)``: a phantom slice's edge map and one bubble of ``radius × size``."""
    from lsn_explorer.data.phantom import phantom_volume

    hu, label, _ = phantom_volume(0, size=size, num_slices=8)
    z = int(np.argmax([(label[:, :, k] > 0).sum() for k in range(label.shape[2])]))
    image = torch.from_numpy(np.clip((hu[:, :, z] + 100.0) / 250.0 - 1.0, -1, 1)).float()
    u0 = bubbles((size, size), [(int(0.45 * size), int(0.4 * size))], radius=radius * size)
    return edge_function(image)[None, None], u0[None, None].float()


def sitk_rate(g, u0, iterations: int) -> float:
    f = sitk.GeodesicActiveContourLevelSetImageFilter()
    f.SetPropagationScaling(PARAMS["alpha"]); f.SetCurvatureScaling(PARAMS["beta"])
    f.SetAdvectionScaling(PARAMS["gamma"]); f.SetNumberOfIterations(iterations); f.SetMaximumRMSError(0.0)
    phi, speed = sitk.GetImageFromArray(-u0[0, 0].numpy()), sitk.GetImageFromArray(g[0, 0].numpy())
    start = time.perf_counter()
    f.Execute(phi, speed)
    return iterations / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(1)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    rows = []
    for size in (256, 512):
        for radius in (0.05, 0.15):
            g, u0 = slice_problem(size, radius)
            for options in OURS.values():
                evolve(u0, g, num_iter=2, dt=0.1, **PARAMS, **options)  # compiled and warm
            for iterations in (50, 400, 1000):
                row = {"size": size, "radius": radius, "iterations": iterations}
                for name, options in OURS.items():
                    start = time.perf_counter()
                    evolve(u0, g, num_iter=iterations, dt=0.1, **PARAMS, **options)
                    row[name] = iterations / (time.perf_counter() - start)
                row["SimpleITK"] = sitk_rate(g, u0, iterations)
                row["ratios"] = {name: row[name] / row["SimpleITK"] for name in OURS}
                print(f"{size}² bubble {radius:.0%} {iterations:>5} it: " + ", ".join(
                    f"{name} {row[name]:,.0f} ({row['ratios'][name]:.2f}x)" for name in OURS)
                    + f", SimpleITK {row['SimpleITK']:,.0f} it/s", flush=True)
                rows.append(row)
    machine = {"cpu": platform.processor() or platform.machine(), "threads": 1, "torch": torch.__version__,
               "simpleitk": sitk.Version.VersionString()}
    RESULTS.write_text(json.dumps({"machine": machine, "params": {**PARAMS, "dt": 0.1}, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
