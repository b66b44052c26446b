"""Level-set solver throughput on CPU: this library vs SimpleITK's GAC vs scikit-image's MorphGAC.

Measures slice-iterations per second at 256² and 512², one slice and a batch of
32 slices, on the same phantom slices with the same iteration counts, and
prints a table with ratios to SimpleITK's single-slice throughput.

    python benchmarks/levelset_speed.py            # ~2 minutes
    python benchmarks/levelset_speed.py --quick    # ~20 s

Writes benchmarks/results/levelset_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
from scipy import ndimage
from skimage.segmentation import morphological_geodesic_active_contour

from lsn_explorer.levelset import bubbles, edge_function, evolve

RESULTS = Path(__file__).parent / "results" / "levelset_speed.json"
PARAMS = dict(alpha=1.0, beta=0.2, gamma=2.0)


def slices(size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` windowed phantom slices (count, size, size) and bubble level sets."""
    try:
        from lsn_explorer.data.phantom import phantom_volume

        hu, label, _ = phantom_volume(0, size=size, num_slices=8)
        zs = [z for z in range(hu.shape[2]) if (label[:, :, z] > 0).sum() > 50]
        images = [np.clip((hu[:, :, z] + 100.0) / 250.0 - 1.0, -1, 1) for z in zs]
        masks = [label[:, :, z] > 0 for z in zs]
    except ImportError:
        y, x = np.mgrid[:size, :size]
        masks = [((y - size / 2) / (0.3 * size)) ** 2 + ((x - size / 2) / (0.2 * size)) ** 2 < 1]
        images = [masks[0] + np.random.default_rng(0).normal(0, 0.1, (size, size))]
    img, u0 = [], []
    for k in range(count):
        m = masks[k % len(masks)]
        d = ndimage.distance_transform_edt(m)
        c = np.unravel_index(int(d.argmax()), d.shape)
        img.append(images[k % len(images)].astype(np.float32))
        u0.append(bubbles((size, size), [c], radius=0.5 * d.max()).numpy())
    return np.stack(img), np.stack(u0)


def rate(fn, slice_iterations: int, repeats: int, *, warm_up: bool = True) -> float:
    if warm_up:
        fn()
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return slice_iterations / best


BACKENDS = {  # name -> evolve() options
    "reference": {},
    "fused": {"backend": "fused"},
    "compiled": {"backend": "compiled"},
    "tiled": {"backend": "tiled", "clamp": 4.0, "tile": 16},
    "tiled_compiled": {"backend": "tiled_compiled", "clamp": 4.0, "tile": 16},
}


def bench(size: int, batch: int, num_iter: int, repeats: int, skimage_iter: int, backends: list[str]) -> dict:
    images, u0 = slices(size, batch)
    g = edge_function(torch.from_numpy(images)[:, None])
    u = torch.from_numpy(u0)[:, None]
    row = {"size": size, "batch": batch, "num_iter": num_iter}
    kw = dict(num_iter=num_iter, **PARAMS, dt=0.1)
    for name in backends:
        opts = {**kw, **BACKENDS[name]}
        t = time.perf_counter()
        evolve(u, g, **{**opts, "num_iter": 1})  # compilation, if any, happens here
        row[f"first_call_s_{name}"] = time.perf_counter() - t
        reps = 1 if name == "reference" else repeats  # the slow baseline once
        row[f"ours_{name}"] = rate(lambda: evolve(u, g, **opts), batch * num_iter, reps, warm_up=False)
    g0, phi0 = sitk.GetImageFromArray(g[0, 0].numpy()), sitk.GetImageFromArray(-u0[0])

    def run_sitk():
        f = sitk.GeodesicActiveContourLevelSetImageFilter()
        f.SetPropagationScaling(PARAMS["alpha"]); f.SetCurvatureScaling(PARAMS["beta"])
        f.SetAdvectionScaling(PARAMS["gamma"]); f.SetNumberOfIterations(num_iter); f.SetMaximumRMSError(0.0)
        f.Execute(phi0, g0)

    row["simpleitk_single"] = rate(run_sitk, num_iter, repeats)
    g_np, init = g[0, 0].numpy(), (u0[0] > 0).astype(np.int8)
    row["skimage_single"] = rate(
        lambda: morphological_geodesic_active_contour(g_np, skimage_iter, init_level_set=init, smoothing=1, balloon=1),
        skimage_iter, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer iterations and repeats, no torch.compile backends (~20 s on an idle machine)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    num_iter, repeats, sk_iter = (4, 1, 3) if args.quick else (20, 2, 10)
    backends = [b for b in BACKENDS if not (args.quick and "compiled" in b)]
    rows = [bench(size, batch, num_iter, repeats, sk_iter, backends) for size in (256, 512) for batch in (1, 32)]
    print(f"\nslice-iterations per second on CPU ({torch.get_num_threads()} torch threads, "
          f"SimpleITK {sitk.Version.VersionString()} with {sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()} threads)")
    names = [f"ours_{b}" for b in backends] + ["simpleitk_single", "skimage_single"]
    head = f"{'size':>5} {'batch':>5} " + " ".join(f"{n.replace('ours_', ''):>15}" for n in names)
    print(head + "\n" + "-" * len(head))
    for r in rows:
        print(f"{r['size']:>5} {r['batch']:>5} " + " ".join(f"{r[n]:>15.0f}" for n in names))
    print("\nratios to SimpleITK's single-slice throughput (and best of ours to scikit-image's)")
    head = f"{'size':>5} {'batch':>5} " + " ".join(f"{b + '/SITK':>20}" for b in backends) + f" {'best/skimage':>14}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        best = max(r[f"ours_{b}"] for b in backends)
        print(f"{r['size']:>5} {r['batch']:>5} " + " ".join(f"{r[f'ours_{b}'] / r['simpleitk_single']:>20.2f}" for b in backends)
              + f" {best / r['skimage_single']:>14.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"quick": args.quick, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
            "simpleitk": sitk.Version.VersionString(), "params": PARAMS,
            "backends": {k: BACKENDS[k] for k in backends},
            "note": ("SimpleITK and scikit-image run one slice at a time (their batch throughput equals single); "
                     "'tiled' backends evolve a level set clamped to [-4, 4] and equal the dense clamped step")}
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
