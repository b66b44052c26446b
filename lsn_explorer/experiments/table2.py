"""Table 2: 5-fold cross-validation of the classical level set, the UNet and the LSN.

One call, :func:`run_table2`, runs every fold and writes::

    out/
      config.json          preset, seed, data, folds, level-set search budget, timings
      fold-<i>/fold.json   the volumes of the fold (train / valid / test)
      fold-<i>/levelset.json
      fold-<i>/unet/        a training run folder (lsn_explorer.train.fit) + evaluation.json
      fold-<i>/lsn-uniform/ the LSN with the paper's random-uniform u0
      fold-<i>/lsn-bubbles/ the LSN started from bubbles placed in the label
      per_volume.csv       Dice of every held-out (and validation) volume, per method
      table2.csv, table2.md  the paper's layout
      table2.html          per-volume Dice per method, the paper's averages as lines

A killed run continues where it stopped: finished parts are read back, an unfinished
training resumes from its last checkpoint.

Columns, mapped onto the paper's: *level set* and *UNet* are scored on the held-out
volumes of the fold (the paper's "validation set"); *LSN validation* is the LSN on the
same held-out volumes; *LSN test* is the LSN on the fold's validation volumes — the
volumes kept out of training inside the training fifths — where the paper used 10 % of
the training slices (which leaks volumes; we split by volume).
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._files import atomic_path
from ..data import PreprocessSettings, load_volumes, stack_slices, volume_folds
from ..metrics import hard_dice, volume_dice
from ..models.loading import build_model, load_model
from ..presets import get_preset
from ..train import fit, predict
from .levelset_column import SEARCH_SLICES, SEARCH_SPACE, LevelSetParams, bubble_level_set, segment_slices, tune_levelset
from .paper import PAPER_TABLE2, TABLE2_COLUMNS

__all__ = ["run_table2", "table2_command", "Table2Result", "LSN_INITS", "format_table"]

#: LSN initial conditions compared per fold: the paper's random uniform, and bubbles from the label.
LSN_INITS = ("uniform", "bubbles")


@dataclass(frozen=True)
class Table2Result:
    """What :func:`run_table2` produced.

    Attributes
    ----------
    table : dict
        Row label ("0".."4", "Avg", "Avg\\\\{k}") → column → mean Dice.
    per_volume : list of dict
        One row per (fold, volume, method): ``fold, dataid, split, method, dice, slice_dice``.
    out : Path
        The output folder.
    seconds : float
        Wall time of this call.
    """

    table: dict
    per_volume: list
    out: Path
    seconds: float


def _write_json(path: Path, payload: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2))


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _scores(prediction: torch.Tensor, stack, split: str) -> list[dict]:
    """Per-volume Dice (slices pooled) and mean per-slice Dice over slices with liver."""
    per_volume = volume_dice(prediction, stack.masks, stack.dataids)
    per_slice = hard_dice(prediction.float() * 2 - 1, stack.masks, reduction="none")[:, 0]
    has_liver = stack.masks.flatten(1).amax(1) > 0
    rows = []
    for dataid, dice in per_volume.items():
        in_volume = (stack.dataids == dataid) & has_liver
        rows.append({"dataid": dataid, "split": split, "dice": dice, "slice_dice": float(per_slice[in_volume].mean())})
    return rows


def _levelset_part(fold_dir: Path, train, test, *, trials: int, seed: int) -> dict:
    path = fold_dir / "levelset.json"
    if (done := _read_json(path)) is not None:
        return done
    start = time.perf_counter()
    params, history = tune_levelset(train.images, train.masks, trials=trials, seed=seed)
    prediction = segment_slices(test.images, test.masks, params)
    result = {
        "params": params.to_dict(),
        "search": history,
        "scores": _scores(prediction, test, "test"),
        "seconds": round(time.perf_counter() - start, 1),
    }
    _write_json(path, result)
    return result


def _image_only(stack):
    """The image channel alone: the network's u0 is its own (random uniform for the paper's LSN)."""
    return stack.images


def _with_bubbles(stack):
    """(image, u0) two-channel input: the LSN starts from bubbles placed in the label."""
    u0, _ = bubble_level_set(stack.masks)
    return torch.cat([stack.images, u0], dim=1)


def _network_part(run_dir: Path, name: str, config: dict, stacks: dict, *, preset, seed: int, device: str,
                  epochs: int, lr: float, inputs=_image_only, progress: bool = True) -> dict:
    path = run_dir / "evaluation.json"
    if (done := _read_json(path)) is not None:
        return done
    train, valid = stacks["train"], stacks["valid"]
    torch.manual_seed(seed)
    net = build_model(name, config)
    fit(
        net, (inputs(train), train.masks, train.dataids), (inputs(valid), valid.masks, valid.dataids),
        out=run_dir, epochs=epochs, batch_size=preset.batch_size, lr=lr, seed=seed, device=device,
        resume=(run_dir / "last.pt").is_file(), progress=progress,
        config={"trained_on": train.volume_ids(), "validated_on": valid.volume_ids()},
    )
    best = load_model(run_dir / "best.pt")
    scores = []
    for split in ("test", "valid"):
        stack = stacks[f"{split}_all"]
        scores += _scores(predict(best, inputs(stack), device=device) > 0, stack, split)
    result = {"model": name, "config": config, "scores": scores}
    _write_json(path, result)
    return result


def _fold_stacks(liver_stack, all_stack, fold) -> dict:
    return {
        "train": liver_stack.subset(fold.train),
        "valid": liver_stack.subset(fold.valid),
        "valid_all": all_stack.subset(fold.valid),
        "test_all": all_stack.subset(fold.test),
    }


def _mean(rows: list[dict], split: str) -> float:
    return float(np.mean([r["dice"] for r in rows if r["split"] == split]))


def _table(per_fold: dict) -> dict:
    table = {}
    for index, parts in per_fold.items():
        table[str(index)] = {
            "levelset": _mean(parts["levelset"]["scores"], "test"),
            "unet": _mean(parts["unet"]["scores"], "test"),
            "lsn_test": _mean(parts["lsn-uniform"]["scores"], "valid"),
            "lsn_validation": _mean(parts["lsn-uniform"]["scores"], "test"),
        }
    folds = list(table)
    table["Avg"] = {c: float(np.mean([table[f][c] for f in folds])) for c in TABLE2_COLUMNS}
    worst = min(folds, key=lambda f: np.mean(list(table[f].values())))
    table[f"Avg\\{{{worst}}}"] = {c: float(np.mean([table[f][c] for f in folds if f != worst])) for c in TABLE2_COLUMNS}
    return table


def format_table(table: dict, *, paper: dict | None = PAPER_TABLE2) -> str:
    """Table 2 as markdown, with the paper's value beside each of ours when given."""
    headers = ["Fold", "Level set", "UNet", "LSN test", "LSN validation"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    paper = paper or {}
    paper_rows = list(paper.values())
    for position, (row, values) in enumerate(table.items()):
        reference = paper.get(row) or (paper_rows[-1] if row.startswith("Avg\\") and paper_rows else None)
        cells = [f"{values[c]:.3f}" + (f" ({reference[c]:.3f})" if reference else "") for c in TABLE2_COLUMNS]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _write_outputs(out: Path, table: dict, per_volume: list[dict]) -> None:
    from ..viz.table2 import table2_figure

    with atomic_path(out / "per_volume.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["fold", "dataid", "split", "method", "dice", "slice_dice"])
        writer.writeheader()
        writer.writerows(per_volume)
    with atomic_path(out / "table2.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fold", *TABLE2_COLUMNS])
        for row, values in table.items():
            writer.writerow([row, *(f"{values[c]:.4f}" for c in TABLE2_COLUMNS)])
    with atomic_path(out / "table2.md") as tmp:
        tmp.write_text(format_table(table))
    with atomic_path(out / "table2.html") as tmp:
        table2_figure(per_volume).write_html(tmp, include_plotlyjs="cdn")


def run_table2(
    data: str = "phantom",
    *,
    preset: str = "quick",
    out: str | Path = "runs/table2",
    n_folds: int = 5,
    folds: list[int] | None = None,
    seed: int = 0,
    device: str = "auto",
    levelset_trials: int = 8,
    epochs: dict | None = None,
    progress: bool = True,
) -> Table2Result:
    """Run the cross-validation behind Table 2 (resumable); write tables, CSVs and a figure.

    Parameters
    ----------
    data : str
        ``"phantom"`` (default), a LiTS folder or a CSV.
    preset : {"quick", "paper"}
        Image size, epochs, batch size, learning rates, LSN Nt/dt. Default "quick".
    out : str or Path
        Output folder; an existing one is continued.
    n_folds : int
        Folds by volume (default 5, as the paper).
    folds : list of int, optional
        Run only these folds (default all).
    seed : int
        Seeds training and the level-set search. Default 0.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``... Default "auto".
    levelset_trials : int
        Budget of the level-set parameter search per fold. Default 8.
    epochs : dict, optional
        Override epochs per network, e.g. ``{"unet": 1, "lsn": 1}``.
    progress : bool
        Progress bars while training. Default True.

    Returns
    -------
    Table2Result
    """
    start = time.perf_counter()
    p = get_preset(preset)
    out = Path(out)
    epochs = {"unet": p.unet_epochs, "lsn": p.lsn_epochs, **(epochs or {})}
    liver = load_volumes(data, settings=PreprocessSettings(size=p.image_size, slices="liver"))
    every = load_volumes(data, settings=PreprocessSettings(size=p.image_size, slices="all"))
    liver_stack, all_stack = stack_slices(liver), stack_slices(every)
    split = volume_folds([v.dataid for v in liver], n_folds=n_folds)
    chosen = list(range(n_folds)) if folds is None else list(folds)
    _write_json(out / "config.json", {
        "data": str(data), "preset": p.to_dict(), "seed": seed, "n_folds": n_folds, "folds": chosen,
        "levelset_search": {"trials": levelset_trials, "slices": SEARCH_SLICES, "space": SEARCH_SPACE,
                            "first": LevelSetParams().to_dict()},
        "epochs": epochs, "lsn_inits": list(LSN_INITS),
    })
    lsn_config = {"num_steps": p.lsn_num_steps, "dt": p.lsn_dt}
    per_fold, per_volume = {}, []
    for index in chosen:
        fold = split[index]
        fold_dir = out / f"fold-{index}"
        _write_json(fold_dir / "fold.json", {"train": list(fold.train), "valid": list(fold.valid), "test": list(fold.test)})
        stacks = _fold_stacks(liver_stack, all_stack, fold)
        parts = {"levelset": _levelset_part(fold_dir, stacks["train"], stacks["test_all"], trials=levelset_trials, seed=seed)}
        common = dict(preset=p, seed=seed, device=device, progress=progress)
        parts["unet"] = _network_part(fold_dir / "unet", "unet", {}, stacks, epochs=epochs["unet"], lr=p.unet_lr, **common)
        for init in LSN_INITS:
            inputs = _with_bubbles if init == "bubbles" else _image_only
            parts[f"lsn-{init}"] = _network_part(
                fold_dir / f"lsn-{init}", "lsn", lsn_config, stacks,
                epochs=epochs["lsn"], lr=p.lsn_lr, inputs=inputs, **common,
            )
        per_fold[index] = parts
        for method, part in parts.items():
            per_volume += [{"fold": index, "method": method, **row} for row in part["scores"]]
    table = _table(per_fold)
    _write_outputs(out, table, per_volume)
    return Table2Result(table=table, per_volume=per_volume, out=out, seconds=time.perf_counter() - start)


def table2_command(*, data: str = "phantom", preset: str = "quick", out: str | Path = "runs/table2",
                   seed: int = 0, device: str = "auto", folds: list[int] | None = None) -> Path:
    """``lsn-explorer table2``: run :func:`run_table2`, print the table, return the folder."""
    result = run_table2(data, preset=preset, out=out, seed=seed, device=device, folds=folds)
    print(format_table(result.table))
    print(f"({result.seconds / 60:.1f} min; results in {result.out})")
    return result.out
