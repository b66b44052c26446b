"""The capacity study: does the PDE earn its place as the encoder–decoder shrinks?

The speed-map LSN, its no-PDE ablation and a UNet, each built at several sizes (the
encoder–decoder's width; the UNet scaled the same way), are cross-validated on the
same folds over several seeds with :func:`~.table2.run_table2` (networks only, no level
set) and scored on the held-out volumes and on a real CT none of them trained on::

    out/
      <size>/seed-<s>/     one networks-only Table 2 run (see :mod:`.table2`)
      summary.csv          method, params, dataset, dice_mean, dice_sd, seeds, folds
      summary.md           the same as a table, one row per size
      capacity.html, .png  Dice against parameters, mean ± sd over seeds
      timing.json          wall time of the whole study, summed over resumed runs

Every network trains with its ``quick`` recipe (epochs, learning rate) on batches of 8
slices instead of 16: twice the optimiser steps per epoch. With 16, the ~5k-parameter
encoder–decoders with two output maps had barely started to learn after 12 epochs
(120 steps; the no-PDE ablation scored 0.34 on fold 0 where it scores 0.88 with 8),
so the small end of the study measured the training budget, not the networks.

Every encoder–decoder also has batch norm before each 3x3 convolution. Without it,
a 3-filter network with Glorot weights and ReLUs can start with a whole level of
dead units: on fold 1 with seed 2 the UNet's validation Dice fell to 0 and the
no-PDE ablation's stayed near 0 for 10 of 12 epochs (0.000 and 0.063 held out);
with batch norm the same runs score 0.826 and 0.869.

The 5k networks train for 24 epochs instead of 12 (:data:`CAPACITY_EPOCHS`). With 12, the
no-PDE ablation of seed 0 stayed below a validation Dice of 0.05 for 10 epochs in every
fold and was still climbing at the end (0.31 held out, against the UNet's 0.89): its
Dice-L2 + BCE loss first pushes every pixel to the background, and a 3-filter network
takes longer to climb out of that than the budget allowed.

A seed's Dice is the mean over the folds of the held-out volumes' Dice (Table 2's
"Avg" row); mean and sample sd are taken over the seeds.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._files import atomic_path, read_json, write_json
from ..errors import InputError
from ..presets import get_preset
from .table2 import run_table2

__all__ = ["CAPACITY_SIZES", "CAPACITY_EPOCHS", "CAPACITY_METHODS", "run_capacity", "capacity_command", "format_capacity",
           "read_capacity"]

#: Name → constructor arguments of the encoder–decoder (UNet and speed maps alike): about 5k, 25k and 116k parameters.
CAPACITY_SIZES = {"5k": {"features": 3, "depth": 4, "batch_norm": True},
                  "25k": {"features": 7, "depth": 4, "batch_norm": True},
                  "116k": {"features": 15, "depth": 4, "batch_norm": True}}
#: Name → epochs of every network of that size, where the preset's recipe is too short for it.
CAPACITY_EPOCHS = {"5k": 24}
#: Name in ``summary.csv`` → (Table 2 method key, its Table 2 column).
CAPACITY_METHODS = {"speed-map-lsn": ("speed-map", "speedmap"), "no-pde": ("no-pde", "nopde"), "unet": ("unet", "unet")}
_FIELDS = ["method", "params", "dataset", "dice_mean", "dice_sd", "seeds", "folds"]


def run_capacity(data: str = "phantom", *, sizes: Mapping[str, dict] = CAPACITY_SIZES, seeds: Sequence[int] = (0, 1, 2),
                 folds: Sequence[int] = (0, 1, 2), preset: str = "quick", batch_size: int = 8,
                 out: str | Path = "runs/capacity", size_epochs: Mapping[str, int] = CAPACITY_EPOCHS,
                 real_ct: str | None = "sample", device: str = "auto", epochs: dict | None = None,
                 png: bool = True, progress: bool = True) -> list[dict]:
    """Cross-validate the three networks at every size over ``seeds`` (resumable); write the summary.

    Parameters
    ----------
    data : str
        Training data: ``"phantom"`` (default), a LiTS folder or a CSV.
    sizes : mapping of str to dict
        Size name → constructor arguments shared by the three networks. Default
        :data:`CAPACITY_SIZES`.
    seeds : sequence of int
        Default (0, 1, 2).
    folds : sequence of int
        Folds of the 5-fold split by volume. Default (0, 1, 2).
    preset : str or Preset
        Each network trains with its recipe for it. Default "quick".
    batch_size : int
        Slices per optimiser step, over the preset's. Default 8 (see the module docstring).
    out : str or Path
        Output folder; an existing one is continued.
    size_epochs : mapping of str to int
        Size name → epochs of all three networks of that size (the others train for
        their recipe's). Default :data:`CAPACITY_EPOCHS`.
    real_ct : str or None
        A real CT every trained network is also scored on. Default ``"sample"``.
    device : str
        Default "auto".
    epochs : dict, optional
        Override epochs per Table 2 method key (``{"unet": 1}``) at every size, for a
        short run.
    png : bool
        Also write ``capacity.png`` (kaleido and Chromium). Default True.
    progress : bool
        Progress bars while training. Default True.

    Returns
    -------
    list of dict
        One row per (method, size, dataset) with the keys of ``summary.csv`` and ``size``
        (its name); also written there, without ``size``.
    """
    start = time.perf_counter()
    out = Path(out)
    keys = [key for key, _ in CAPACITY_METHODS.values()]
    preset = get_preset(preset).replace(batch_size=batch_size)

    def budget(size: str) -> dict | None:
        return epochs or ({k: size_epochs[size] for k in keys} if size in size_epochs else None)

    runs = {size: [run_table2(data, preset=preset, out=out / size / f"seed-{s}", folds=list(folds), methods=keys,
                              seed=s, device=device, epochs=budget(size), configs={k: config for k in keys},
                              real_ct=real_ct, levelset=False, progress=progress) for s in seeds]
            for size, config in sizes.items()}
    rows = []
    for method, (key, column) in CAPACITY_METHODS.items():
        for size, results in runs.items():
            datasets = {"phantom": [r.table["Avg"][column] for r in results]}
            if real_ct is not None:
                datasets["real-ct"] = [r.real_ct["Avg"][key] for r in results]
            for dataset, dice in datasets.items():
                rows.append({"method": method, "size": size, "params": results[0].parameters[column], "dataset": dataset,
                             "dice_mean": float(np.mean(dice)), "dice_sd": float(np.std(dice, ddof=1)) if len(dice) > 1 else 0.0,
                             "seeds": len(dice), "folds": len(folds)})
    _write_summary(out, rows, png=png)
    done = read_json(out / "timing.json") or {"seconds": 0.0}
    write_json(out / "timing.json", {"seconds": round(done["seconds"] + time.perf_counter() - start, 1)})
    return rows


def format_capacity(rows: Sequence[dict]) -> str:
    """The summary as markdown: one line per (size, dataset), ``mean ± sd`` per method."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cells = {(r["size"], r["dataset"], r["method"]): r for r in rows}
    lines = ["| size | dataset | " + " | ".join(methods) + " |", "|" + "---|" * (len(methods) + 2)]
    for size in dict.fromkeys(r["size"] for r in rows):
        for dataset in dict.fromkeys(r["dataset"] for r in rows):
            shown = [f"{cells[size, dataset, m]['dice_mean']:.3f} ± {cells[size, dataset, m]['dice_sd']:.3f}" for m in methods]
            lines.append(f"| {size} | {dataset} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def read_capacity(path: str | Path) -> list[dict]:
    """The rows of a ``summary.csv`` that :func:`run_capacity` wrote, with numbers as numbers.

    Parameters
    ----------
    path : str or Path
        The ``summary.csv`` file, or the study's folder that holds it.

    Returns
    -------
    list of dict
        Keys ``method``, ``params``, ``dataset``, ``dice_mean``, ``dice_sd``, ``seeds``, ``folds``
        (what :func:`format_capacity` and :func:`~lsn_explorer.viz.capacity.capacity_figure` take),
        and ``size``: the names of :data:`CAPACITY_SIZES` in order of each method's
        parameter count (``"size 1"``, ``"size 2"``, ... for a study of other sizes).

    Raises
    ------
    InputError
        No such file, or a file without the columns of ``summary.csv``.
    """
    path = Path(path)
    path = path / "summary.csv" if path.is_dir() else path
    if not path.is_file():
        raise InputError(f"{path}: no capacity summary here; run `lsn-explorer capacity --out DIR` first")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or set(_FIELDS) - set(rows[0]):
        raise InputError(f"{path}: expected the columns {', '.join(_FIELDS)}; found {', '.join(rows[0]) if rows else 'none'}")
    counts = {"params": int, "seeds": int, "folds": int, "dice_mean": float, "dice_sd": float}
    rows = [{**row, **{key: cast(row[key]) for key, cast in counts.items()}} for row in rows]
    for method in {row["method"] for row in rows}:
        params = sorted({row["params"] for row in rows if row["method"] == method})
        names = list(CAPACITY_SIZES) if len(params) == len(CAPACITY_SIZES) else [f"size {i + 1}" for i in range(len(params))]
        for row in rows:
            if row["method"] == method:
                row["size"] = names[params.index(row["params"])]
    return rows


def _write_summary(out: Path, rows: list[dict], *, png: bool) -> None:
    from ..viz.capacity import capacity_figure
    from ..viz.export import write_figures

    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "summary.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**r, "dice_mean": f"{r['dice_mean']:.4f}", "dice_sd": f"{r['dice_sd']:.4f}"} for r in rows)
    with atomic_path(out / "summary.md") as tmp:
        tmp.write_text(format_capacity(rows))
    write_figures({"capacity": capacity_figure(rows)}, out, png=png)


def capacity_command(*, data: str = "phantom", preset: str = "quick", out: str | Path = "runs/capacity",
                     seeds: Sequence[int] = (0, 1, 2), folds: Sequence[int] = (0, 1, 2), real_ct: str | None = "sample",
                     device: str = "auto") -> Path:
    """``lsn-explorer capacity``: run :func:`run_capacity`, print the summary and the wall time.

    Returns
    -------
    Path
        The output folder ``out``.
    """
    rows = run_capacity(data, preset=preset, out=out, seeds=seeds, folds=folds, real_ct=real_ct, device=device)
    print(format_capacity(rows))
    print(f"({read_json(Path(out) / 'timing.json')['seconds'] / 60:.1f} min; results in {out})")
    return Path(out)
