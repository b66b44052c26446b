"""Wall time of Table 2's level-set column on the quick preset: the solver's backends side by side.

Runs what ``lsn-explorer table2 --preset quick`` runs for the column on each chosen fold:
the random search of the settings on training slices, then the segmentation of every
test slice, once per backend (``band``, the dense tiles; ``auto``, the sparse field on a CPU;
``fused``, the torch step), compares the backends' Dice slice by slice, and prints the times and
their ratio.

    python benchmarks/levelset_column.py --threads 1            # fold 0, ~3 minutes
    python benchmarks/levelset_column.py --folds 0 1 2 3 4
    python benchmarks/levelset_column.py --threads 1 --backends band sparse --json benchmarks/results/levelset_column_sparse.json

Writes benchmarks/results/levelset_column.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from lsn_explorer.data import PreprocessSettings, load_volumes, stack_slices, volume_folds
from lsn_explorer.experiments.levelset_column import segment_slices, tune_levelset
from lsn_explorer.metrics import mask_dice
from lsn_explorer.presets import get_preset

RESULTS = Path(__file__).parent / "results" / "levelset_column.json"


def column(train, test, backend: str) -> tuple[float, np.ndarray, dict]:
    """(seconds, per-slice Dice on the test slices, chosen settings) of one fold's column."""
    start = time.perf_counter()
    params, _ = tune_levelset(train.images, train.masks, backend=backend)
    prediction = segment_slices(test.images, test.masks, params, backend=backend)
    seconds = time.perf_counter() - start
    return seconds, mask_dice(prediction, test.masks, reduction="none")[:, 0].numpy(), params.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, nargs="+", default=[0])
    parser.add_argument("--backends", nargs="+", default=["band", "auto"])
    parser.add_argument("--threads", type=int, default=2, help="threads of torch and numba (default 2)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write (default benchmarks/results/levelset_column.json)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    preset = get_preset("quick")
    liver = load_volumes("phantom", settings=PreprocessSettings(size=preset.image_size, slices="liver"))
    every = load_volumes("phantom", settings=PreprocessSettings(size=preset.image_size, slices="all"))
    liver_stack, all_stack = stack_slices(liver), stack_slices(every)
    split = volume_folds([v.dataid for v in liver])
    rows = []
    for fold in args.folds:
        train, test = liver_stack.subset(split[fold].train), all_stack.subset(split[fold].test)
        results = {b: column(train, test, b) for b in args.backends}
        first = results[args.backends[0]]
        row = {"fold": fold, "test_slices": len(test.images), "seconds": {b: round(r[0], 2) for b, r in results.items()},
               "params": first[2], "mean_dice": {b: round(float(r[1].mean()), 4) for b, r in results.items()},
               "max_dice_difference": max(float(np.abs(r[1] - first[1]).max()) for r in results.values()),
               "same_settings": all(r[2] == first[2] for r in results.values())}
        rows.append(row)
        print(f"fold {fold}: " + ", ".join(f"{b} {s:.1f} s" for b, s in row["seconds"].items())
              + f"; largest slice-Dice difference {row['max_dice_difference']:.2g}, same settings: {row['same_settings']}")
    total = {b: sum(r["seconds"][b] for r in rows) for b in args.backends}
    base = args.backends[0]
    print("\n" + "\n".join(f"{b}: {t:.1f} s ({total[base] / t:.2f}x {base})" for b, t in total.items()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": {"threads": args.threads, "preset": "quick", "data": "phantom"},
                                   "rows": rows, "total_seconds": total}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
