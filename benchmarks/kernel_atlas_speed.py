"""Kernel atlas speed on the default UNet (18 layers, 14,608 kernels), CPU.

Times "collect + per-layer k-means (k=3, n_init=10) + one global PCA", the
work the app does once per model, against the same pipeline written with
scikit-learn's defaults (threaded KMeans, sklearn PCA), plus the other steps
of the atlas. Run: ``python benchmarks/kernel_atlas_speed.py [--repeats 5]``.
Writes ``benchmarks/results/kernel_atlas_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from lsn_explorer.kernels import PCA2, cluster_layers, collect_kernels, identify_kernels, spectrum_labels
from lsn_explorer.models import UNet


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(np.min(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=1)
    args = parser.parse_args()

    torch.manual_seed(0)
    net = UNet()

    def ours(n_init=10):
        ks = collect_kernels(net)
        res = cluster_layers(ks, 3, n_init=n_init, random_state=0)
        coords = PCA2().fit(ks.kernels).transform(ks.kernels)
        return ks, res, coords

    def sklearn_defaults():
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        ks = collect_kernels(net)
        for i in range(ks.n_layers):
            KMeans(3, n_init=10, random_state=0).fit(ks.layer_kernels(i))
        return PCA(2).fit_transform(ks.kernels)

    ks, _, _ = ours()
    ours()  # warm-up (imports, thread pools)
    rows = []
    t_ours, t_ours_min = _median_time(ours, args.repeats)
    rows.append(("collect + k-means + global PCA (lsn_explorer)", t_ours, t_ours_min, args.repeats))
    t, tmin = _median_time(lambda: ours(n_init=1), args.repeats)
    rows.append(("same, n_init=1 (interactive)", t, tmin, args.repeats))
    t, tmin = _median_time(sklearn_defaults, args.peer_repeats)
    rows.append(("same with scikit-learn defaults (threaded KMeans, sklearn PCA)", t, tmin, args.peer_repeats))
    t, tmin = _median_time(lambda: collect_kernels(net), args.repeats)
    rows.append(("collect only", t, tmin, args.repeats))
    t, tmin = _median_time(lambda: identify_kernels(ks.kernels), args.repeats)
    rows.append(("identify (moments, operators, nearest stencil)", t, tmin, args.repeats))
    t, tmin = _median_time(lambda: spectrum_labels(ks.kernels, (32, 32)), 1)
    rows.append(("authors' FFT-spectrum labels (32x32)", t, tmin, 1))

    print(f"kernel atlas, default UNet: {len(ks)} kernels in {ks.n_layers} layers; CPU, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"{'step':<66} {'median s':>9} {'min s':>8} {'x ours':>7}")
    for name, med, mn, _ in rows:
        print(f"{name:<66} {med:9.3f} {mn:8.3f} {med / t_ours:7.2f}")
    print(f"target: collect + cluster + global PCA <= 1 s -> {'met' if t_ours <= 1.0 else 'NOT met'} ({t_ours:.3f} s)")

    out = Path(__file__).resolve().parent / "results" / "kernel_atlas_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "n_kernels": len(ks), "n_layers": ks.n_layers, "machine": platform.platform(), "cpu_count": os.cpu_count(),
        "rows": [dict(step=n, median_s=m, min_s=mn, repeats=r, ratio_to_ours=m / t_ours) for n, m, mn, r in rows],
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
