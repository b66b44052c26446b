"""The cost of one solver iteration against the length of the front, at two image sizes.

A disc of radius r in an image of side 512 or 1024 with a uniform edge map evolves under a
weak curvature flow (α 0.05, β 0.2, no advection), so its front stays about 2πr pixels long
over the run. Each solver runs 100 and 500 iterations per disc, one thread each; the
difference over 400 iterations is the cost of an iteration without the set-up of a call
(which is O(area) for every solver: the edge map's gradient, the first distance map), and
is plotted against the front's length. A solver whose work follows the front draws one line
for both image sizes; a dense one pays for the area.

    python benchmarks/levelset_front_cost.py        # ~2 minutes

Writes benchmarks/results/levelset_front_cost.json and .png.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import plotly.graph_objects as go
import SimpleITK as sitk
import torch

from lsn_explorer.levelset import bubbles, evolve
from lsn_explorer.viz.export import write_figures

RESULTS = Path(__file__).parent / "results"
SHORT, LONG = 100, 500
RADII = (8, 16, 32, 64, 128, 200)
PARAMS = dict(alpha=0.05, beta=0.2, gamma=0.0, dt=0.2)
OURS = {"sparse": {"backend": "sparse", "clamp": 3.0}, "band, clamp 4": {"backend": "band", "clamp": 4.0},
        "band": {"backend": "band"}}


def _sitk_seconds(u0: torch.Tensor, g: torch.Tensor, iterations: int) -> float:
    f = sitk.GeodesicActiveContourLevelSetImageFilter()
    f.SetPropagationScaling(PARAMS["alpha"]); f.SetCurvatureScaling(PARAMS["beta"]); f.SetAdvectionScaling(0.0)
    f.SetNumberOfIterations(iterations); f.SetMaximumRMSError(0.0)
    phi, speed = sitk.GetImageFromArray(-u0[0, 0].numpy()), sitk.GetImageFromArray(g[0, 0].numpy())
    start = time.perf_counter()
    f.Execute(phi, speed)
    return time.perf_counter() - start


def measure() -> list[dict]:
    rows = []
    for size in (512, 1024):
        g = torch.ones(1, 1, size, size)
        for radius in RADII:
            u0 = bubbles((1, 1, size, size), [(size // 2, size // 2)], radius=float(radius))
            row = {"size": size, "radius": radius, "front_px": 2 * math.pi * radius}
            for name, options in OURS.items():
                evolve(u0, g, num_iter=2, **PARAMS, **options)  # compiled and warm
                seconds = []
                for iterations in (SHORT, LONG):
                    start = time.perf_counter()
                    evolve(u0, g, num_iter=iterations, **PARAMS, **options)
                    seconds.append(time.perf_counter() - start)
                row[name] = (seconds[1] - seconds[0]) / (LONG - SHORT) * 1e3
            row["SimpleITK"] = (_sitk_seconds(u0, g, LONG) - _sitk_seconds(u0, g, SHORT)) / (LONG - SHORT) * 1e3
            print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
            rows.append(row)
    return rows


def figure(rows: list[dict]) -> go.Figure:
    fig = go.Figure()
    for name, colour in zip([*OURS, "SimpleITK"], ("#1f77b4", "#ff7f0e", "#d62728", "#2ca02c")):
        for size, dash in ((512, "solid"), (1024, "dot")):
            points = [r for r in rows if r["size"] == size]
            fig.add_trace(go.Scatter(x=[r["front_px"] for r in points], y=[r[name] for r in points],
                                     name=f"{name}, {size}²", mode="lines+markers",
                                     line={"dash": dash, "color": colour}))
    fig.update_xaxes(type="log", title_text="front length (pixels)")
    fig.update_yaxes(type="log", title_text="ms per iteration (1 thread)")
    fig.update_layout(width=800, height=480, title="Cost of an iteration against the front's length (set-up excluded)")
    return fig


def main() -> None:
    torch.set_num_threads(1)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    rows = measure()
    (RESULTS / "levelset_front_cost.json").write_text(json.dumps(
        {"iterations": [SHORT, LONG], "params": PARAMS, "threads": 1, "rows": rows}, indent=1) + "\n")
    write_figures({"levelset_front_cost": figure(rows)}, RESULTS, html=False)


if __name__ == "__main__":
    main()
