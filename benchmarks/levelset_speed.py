"""Level-set solver throughput on CPU (or a GPU): this library vs SimpleITK's GAC vs scikit-image's MorphGAC.

Measures slice-iterations per second and peak extra memory at 256² and 512² (32 phantom
slices, each alone and as one batch of 32) and at 1024² (4 slices, each alone), with the
same iteration counts for every library, and prints ratios to SimpleITK, which runs the
same slices one at a time.

Ours, by ``evolve`` backend (see ``lsn_explorer.levelset.backends``):

* ``auto``: the plain call ``evolve(u0, g, num_iter=...)``, the default backend (the
  sparse field on a CPU, ``fused`` on a GPU);
* ``auto_clamp``: the same call with ``clamp=4`` (ITK-SNAP's clamp option);
* ``band``: the dense numba loop over the tiles that can still change;
* ``band_clamp``: the tiles of the ``band`` backend on the clamped level set: the
  level set saturates away from the front and the work follows the tiles it moves in;
* ``sparse``: the sparse field, a band of half-width 3 kept a signed distance, as in
  SimpleITK's sparse field, which keeps a few layers around the front;
* ``fused``, ``compiled``, ``reference``: the torch backends, for comparison.

Every library runs on the same number of threads (``--threads``). ``--device cuda`` runs
ours on the GPU (synchronised before every clock read; SimpleITK and scikit-image stay on
the CPU); ``--sizes`` picks the sizes, ``--backends`` some of ours. A backend that fails
is recorded as ``error_<name>`` in its rows and the others go on.

    python benchmarks/levelset_speed.py --threads 1   # ~3 minutes, 20 iterations per call (a short run)
    python benchmarks/levelset_speed.py --quick       # ~30 s
    python benchmarks/levelset_speed.py --threads 1 --sizes 512 --iterations 400 --backends auto sparse

Short runs mostly time a solver's set-up; ``benchmarks/levelset_solution.py`` times runs
to convergence.
    python benchmarks/levelset_speed.py --device cuda --sizes 512 --threads 8 --json OUT.json

Writes benchmarks/results/levelset_speed.json (or ``--json PATH``) with the machine's description.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import threading
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
#: (size, slices, batches): every slice runs alone (batch 1) and in batches of the given sizes
SHAPES = ((256, 32, (1, 32)), (512, 32, (1, 32)), (1024, 4, (1,)))

OURS = {  # name -> evolve() options
    "auto": {},
    "auto_clamp": {"clamp": 4.0},
    "band": {"backend": "band"},
    "band_clamp": {"backend": "band", "clamp": 4.0},
    "sparse": {"backend": "sparse", "clamp": 3.0},
    "fused": {"backend": "fused"},
    "compiled": {"backend": "compiled"},
    "reference": {"backend": "reference"},
}


def slices(size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` windowed phantom slices (count, size, size) and bubble level sets."""
    from lsn_explorer.data.phantom import phantom_volume

    hu, label, _ = phantom_volume(0, size=size, num_slices=8)
    zs = [z for z in range(hu.shape[2]) if (label[:, :, z] > 0).sum() > 50]
    images = [np.clip((hu[:, :, z] + 100.0) / 250.0 - 1.0, -1, 1) for z in zs]
    masks = [label[:, :, z] > 0 for z in zs]
    img, u0 = [], []
    for k in range(count):
        m = masks[k % len(masks)]
        d = ndimage.distance_transform_edt(m)
        c = np.unravel_index(int(d.argmax()), d.shape)
        img.append(images[k % len(images)].astype(np.float32))
        u0.append(bubbles((size, size), [c], radius=0.5 * d.max()).numpy())
    return np.stack(img), np.stack(u0)


def _release_freed_memory() -> None:
    """Hand freed heap pages back to the OS (glibc), so that RSS starts each measurement from what is in use."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _rss() -> int:
    """Resident set size of this process in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(fn, slice_iterations: int, repeats: int, *, warm_up: bool = True) -> tuple[float, float]:
    """(slice-iterations per second, best of ``repeats``; peak RSS above the start, MB)."""
    if warm_up:
        fn()
    _release_freed_memory()
    start, peak, done = _rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    done.set()
    sampler.join()
    return slice_iterations / best, max(0, max(peak[0], _rss()) - start) / 2**20


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(size: int, count: int, batches: tuple[int, ...], num_iter: int, repeats: int, skimage_iter: int,
          ours: list[str], device: torch.device = torch.device("cpu")) -> list[dict]:
    """Rows for ``size``: each of ``count`` slices alone (batch 1) and in batches, SimpleITK and scikit-image alone.

    Ours runs on ``device``; the peers on the CPU.
    """
    images, u0 = slices(size, count)
    g_cpu = edge_function(torch.from_numpy(images)[:, None])
    g, u = g_cpu.to(device), torch.from_numpy(u0)[:, None].to(device)
    rows = []
    for batch in batches:
        row = {"size": size, "batch": batch, "slices": count, "num_iter": num_iter}
        groups = [slice(i, i + batch) for i in range(0, count, batch)]
        for name in ours:
            if name == "reference" and batch > 1:
                continue  # the slow baseline once per size
            opts = {**dict(num_iter=num_iter, **PARAMS, dt=0.1), **OURS[name]}

            def run(opts=opts, groups=groups):
                out = [evolve(u[s], g[s], **opts) for s in groups]
                _sync(device)
                return out

            try:
                t = time.perf_counter()
                evolve(u[groups[0]], g[groups[0]], **{**opts, "num_iter": 1})  # compilation, if any, happens here
                _sync(device)
                row[f"first_call_s_{name}"] = time.perf_counter() - t
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                times = 1 if name == "reference" else repeats
                row[f"ours_{name}"], row[f"peak_mb_{name}"] = measure(run, count * num_iter, times, warm_up=False)
                if device.type == "cuda":
                    row[f"peak_cuda_mb_{name}"] = torch.cuda.max_memory_allocated(device) / 2**20
            except Exception as exc:  # one backend failing (e.g. torch.compile on a new GPU) must not lose the others
                row[f"error_{name}"] = f"{type(exc).__name__}: {exc}"[:500]
                print(f"{size}² batch {batch}: backend {name} failed: {row[f'error_{name}']}", flush=True)
        rows.append(row)
    filters = [(sitk.GetImageFromArray(g_cpu[i, 0].numpy()), sitk.GetImageFromArray(-u0[i])) for i in range(count)]

    def run_sitk():
        for g_i, phi_i in filters:
            f = sitk.GeodesicActiveContourLevelSetImageFilter()
            f.SetPropagationScaling(PARAMS["alpha"]); f.SetCurvatureScaling(PARAMS["beta"])
            f.SetAdvectionScaling(PARAMS["gamma"]); f.SetNumberOfIterations(num_iter); f.SetMaximumRMSError(0.0)
            f.Execute(phi_i, g_i)

    peers = {}
    peers["simpleitk_single"], peers["peak_mb_simpleitk"] = measure(run_sitk, count * num_iter, repeats)
    if size <= 512:
        few = range(min(count, 4))
        peers["skimage_single"], peers["peak_mb_skimage"] = measure(
            lambda: [morphological_geodesic_active_contour(g_cpu[i, 0].numpy(), skimage_iter, init_level_set=u0[i] > 0,
                                                           smoothing=1, balloon=1) for i in few],
            len(few) * skimage_iter, 1)
    return [{**row, **peers} for row in rows]


def _machine() -> dict:
    """What the numbers were measured on."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    from lsn_explorer.levelset.backends import _l2_cache_bytes

    return {"cpu": model, "cpu_count": os.cpu_count(), "l2_cache_bytes": _l2_cache_bytes(),
            "machine": platform.machine(), "python": platform.python_version(), "torch": torch.__version__,
            "simpleitk": sitk.Version.VersionString(),
            "simpleitk_threads": sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()}


def report(rows: list[dict], ours: list[str]) -> None:
    """Print the throughput table, the ratios and the per-slice throughput of batches against single slices."""
    names = [f"ours_{b}" for b in ours] + ["simpleitk_single", "skimage_single"]
    head = f"{'size':>5} {'batch':>5} " + " ".join(f"{n.replace('ours_', '').replace('_single', ''):>11}" for n in names)
    print(head + "\n" + "-" * len(head))
    for r in rows:
        print(f"{r['size']:>5} {r['batch']:>5} " + " ".join(f"{r[n]:>11.0f}" if n in r else f"{'':>11}" for n in names))
    print("\nratio to SimpleITK (single slices), peak extra memory in MB")
    head = f"{'size':>5} {'batch':>5} " + " ".join(f"{b:>11}" for b in ours) + f" {'auto/skim':>10} " + " ".join(
        f"{'MB ' + b:>14}" for b in ours + ["simpleitk"])
    print(head + "\n" + "-" * len(head))
    for r in rows:
        ratios = " ".join(f"{r[f'ours_{b}'] / r['simpleitk_single']:>11.2f}" if f"ours_{b}" in r else f"{'':>11}"
                          for b in ours)
        both = "skimage_single" in r and "ours_auto" in r
        sk = f"{r['ours_auto'] / r['skimage_single']:>10.1f}" if both else f"{'':>10}"
        mem = " ".join(f"{r[f'peak_mb_{b}']:>14.0f}" if f"peak_mb_{b}" in r else f"{'':>14}" for b in ours + ["simpleitk"])
        print(f"{r['size']:>5} {r['batch']:>5} {ratios} {sk} {mem}")
    print("\nper-slice throughput of a batch / of the same slices one at a time")
    for many in (r for r in rows if r["batch"] > 1):
        one = next(r for r in rows if r["size"] == many["size"] and r["batch"] == 1)
        print(f"{many['size']:>5} {many['batch']:>5}  " + "  ".join(
            f"{b} {many[f'ours_{b}'] / one[f'ours_{b}']:.2f}" for b in ours
            if f"ours_{b}" in many and f"ours_{b}" in one))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer iterations and repeats, no torch.compile, no 1024² (~30 s on an idle machine)")
    parser.add_argument("--threads", type=int, default=2, help="threads of torch, numba and SimpleITK (default 2)")
    parser.add_argument("--device", default="cpu", help="where ours runs: cpu (default), cuda, cuda:1 (peers: CPU)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="these sizes (>= 64) instead of 256 512 1024 (--quick: 256 512); "
                             "a size not listed there runs 32 slices, alone and as one batch")
    parser.add_argument("--backends", nargs="+", default=None, choices=list(OURS),
                        help="only these of ours (default all; --quick drops compiled)")
    parser.add_argument("--iterations", type=int, default=None,
                        help="iterations per call (default 20; --quick: 4)")
    parser.add_argument("--json", type=Path, default=RESULTS,
                        help="where to write the rows (default benchmarks/results/levelset_speed.json)")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(args.threads)
    num_iter, repeats, sk_iter = (4, 1, 3) if args.quick else (20, 3, 10)
    num_iter = args.iterations or num_iter
    ours = args.backends or [b for b in OURS if not (args.quick and b == "compiled")]
    known = {s[0]: s for s in SHAPES}
    shapes = ([known.get(size, (size, 32, (1, 32))) for size in args.sizes] if args.sizes
              else [s for s in SHAPES if not (args.quick and s[0] > 512)])
    rows = [row for size, count, batches in shapes
            for row in bench(size, count if not args.quick else 4, batches if not args.quick else (1, 4), num_iter,
                             repeats, sk_iter, ours, device)]
    machine = _machine()
    print(f"\nslice-iterations per second on {machine['cpu']} (ours on {device}), {args.threads} threads for each "
          f"(torch {machine['torch']}, SimpleITK {machine['simpleitk']} with {machine['simpleitk_threads']})")
    report(rows, ours)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if device.type == "cuda":
        machine["gpu"] = torch.cuda.get_device_name(device)
    meta = {"quick": args.quick, "threads": args.threads, "device": str(device), **machine, "params": PARAMS,
            "ours": {k: OURS[k] for k in ours},
            "note": ("SimpleITK and scikit-image run one slice at a time (their batch throughput equals single; "
                     "scikit-image on the first 4 slices); batch 1 is every slice alone, one call each; "
                     "auto_clamp clips the level set to [-4, 4] (ITK-SNAP's clamp option); peak_mb is the peak "
                     "resident memory above the start of the measurement")}
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
