"""First (read NIfTI + preprocess + write cache) versus cached load of a LiTS-style data set.

Usage::

    python benchmarks/data_load.py            # the quick preset's phantom set
    python benchmarks/data_load.py DIR [SIZE] # a LiTS folder or CSV, resized to SIZE (default 256)

Prints a table and writes ``benchmarks/results/data_load.json``. Each first
load uses a fresh, empty cache folder; the source files are not regenerated.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from lsn_explorer.data import PreprocessSettings, default_phantom_dir, find_cases, load_volumes
from lsn_explorer.presets import get_preset

RESULTS = Path(__file__).resolve().parent / "results" / "data_load.json"


def _timed(source, settings, **kwargs) -> tuple[float, list]:
    start = time.perf_counter()
    volumes = load_volumes(source, settings=settings, **kwargs)
    return time.perf_counter() - start, volumes


def main(argv: list[str]) -> dict:
    if argv:
        source = Path(argv[0])
        settings = PreprocessSettings(size=int(argv[1]) if len(argv) > 1 else 256)
        label = str(source)
    else:
        preset = get_preset("quick")
        source = default_phantom_dir(preset)  # generated once, in the usual cache, untimed
        settings = PreprocessSettings(size=preset.image_size)
        label = f"phantom quick ({preset.phantom_volumes} x {preset.phantom_size}^2 x {preset.phantom_slices})"
    cases = find_cases(source)
    source_bytes = sum(c.image_path.stat().st_size + c.label_path.stat().st_size for c in cases)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    first_times, cached_times = [], []
    for _ in range(2):
        with tempfile.TemporaryDirectory(prefix="lsn_bench_cache-") as tmp:
            os.environ["LSN_EXPLORER_DATA"] = tmp
            seconds, volumes = _timed(source, settings)
            first_times.append(seconds)
            for _ in range(3):
                cached_times.append(_timed(source, settings)[0])
    no_cache = _timed(source, settings, cache=False)[0]
    first, cached = min(first_times), min(cached_times)
    slices = sum(v.num_slices for v in volumes)
    rows = [
        ("first load (read + preprocess + write cache)", first),
        ("load without cache (read + preprocess)", no_cache),
        ("cached load (read .npz)", cached),
    ]
    print(f"source: {label}: {len(cases)} volumes, {source_bytes / 1e6:.1f} MB of NIfTI; "
          f"settings {settings.to_dict()} -> {slices} slices")
    print(f"{'step':48s} {'seconds':>9s} {'vs cached':>10s}")
    for name, seconds in rows:
        print(f"{name:48s} {seconds:9.3f} {seconds / cached:9.1f}x")
    result = {
        "source": label,
        "volumes": len(cases),
        "slices": slices,
        "settings": settings.to_dict(),
        "first_s": first,
        "no_cache_s": no_cache,
        "cached_s": cached,
        "ratio_first_over_cached": first / cached,
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
                    "torch_threads": torch.get_num_threads()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"ratio first / cached: {first / cached:.1f}x  (written to {RESULTS})")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
