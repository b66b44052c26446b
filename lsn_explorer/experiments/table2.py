"""Table 2: 5-fold cross-validation of the classical level set and of every network, for one seed.

One call, :func:`run_table2`, runs every fold and writes::

    out/
      config.json          preset, seed, data, folds, methods, level-set search budget
      fold-<i>/fold.json   the volumes of the fold (train / valid / test)
      fold-<i>/levelset.json
      fold-<i>/<method>/   a training run folder (lsn_explorer.train.fit) + evaluation.json
      per_volume.csv       Dice of every held-out (and validation) volume, per method
      table2.csv, table2.md  the paper's layout, one column per method, parameter counts
      table2.html          per-volume Dice per method, the paper's averages as lines
      timing.json          wall time spent, summed over the runs that built the folder

(:mod:`.over_seeds` repeats it for several seeds.) A killed run continues where it
stopped: finished parts are read back, an unfinished training resumes from its last
checkpoint.

Columns, mapped onto the paper's (the methods are in :mod:`.methods`): *level set* and
*UNet* are scored on the held-out volumes of the fold (the paper's "validation set");
*LSN validation* is the LSN on the same held-out volumes; *LSN test* is the LSN on the
fold's validation volumes — the volumes kept out of training inside the training
fifths — where the paper used 10 % of the training slices (which leaks volumes; we
split by volume). LSN-G gets the same two columns. Every other network gets one
column, on the held-out volumes.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._files import atomic_path, read_json, write_json, write_table_csv
from ..data import PreprocessSettings, load_volumes, stack_slices, volume_folds
from ..devices import resolve_device
from ..errors import InputError
from ..metrics import mask_dice, volume_dice
from ..models.loading import load_model
from ..models.registry import build_model, recipe_for
from ..presets import get_preset
from ..inference import predict
from ..train import FitOptions, fit
from .levelset_column import SEARCH_SLICES, SEARCH_SPACE, LevelSetParams, segment_slices, tune_levelset
from .methods import COLUMN_TITLES, Method, method_inputs, parameter_counts, resolve_methods
from .real_ct import real_ct_part, real_ct_table, write_real_ct
from .tables import format_table
from .paper import PAPER_TABLE2

__all__ = ["run_table2", "Table2Result", "figure_traces"]


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
    total_seconds : float
        Wall time of every call that built ``out``, this one included (a resumed run
        adds to the run it resumes).
    parameters : dict
        Column → trainable parameters of its network.
    real_ct : dict or None
        Row → method → Dice on the real CT (``real_ct=`` given), else None.
    """

    table: dict
    per_volume: list
    out: Path
    seconds: float
    total_seconds: float
    parameters: dict
    real_ct: dict | None = None


def _scores(prediction: torch.Tensor, stack, split: str) -> list[dict]:
    """Per-volume Dice (slices pooled) and mean per-slice Dice over slices with liver."""
    per_volume = volume_dice(prediction, stack.masks, stack.dataids)
    per_slice = mask_dice(prediction, stack.masks, reduction="none")[:, 0]
    has_liver = stack.masks.flatten(1).amax(1) > 0
    rows = []
    for dataid, dice in per_volume.items():
        in_volume = (stack.dataids == dataid) & has_liver
        rows.append({"dataid": dataid, "split": split, "dice": dice, "slice_dice": float(per_slice[in_volume].mean())})
    return rows


def _levelset_part(fold_dir: Path, train, test, *, trials: int, seed: int) -> dict:
    path = fold_dir / "levelset.json"
    if (done := read_json(path)) is not None:
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
    write_json(path, result)
    return result


def _network_part(run_dir: Path, method: Method, stacks: dict, *, preset, seed: int, device: torch.device,
                  epochs: int | None, config: dict, progress: bool = True) -> dict:
    path = run_dir / "evaluation.json"
    config = method.model_config(preset, config)
    if (done := read_json(path)) is not None:
        if done.get("config") != config:
            raise InputError(f"{path} holds a {method.model} built with {done.get('config')}; this run builds it with "
                             f"{config}. Continue that run with its own settings, or choose another out folder")
        return done
    recipe = recipe_for(method.model, preset)
    train, valid = stacks["train"], stacks["valid"]
    epochs = recipe.epochs if epochs is None else epochs
    if not _trained(run_dir, epochs):
        torch.manual_seed(seed)
        net = build_model(method.model, config)
        options = FitOptions.from_recipe(recipe, epochs=epochs, batch_size=preset.batch_size, seed=seed)
        fit(
            net, (method_inputs(train, method.inputs), train.masks, train.dataids),
            (method_inputs(valid, method.inputs), valid.masks, valid.dataids),
            out=run_dir, options=options, device=device, resume=(run_dir / "last.pt").is_file(), progress=progress,
            preprocessing=PreprocessSettings(size=preset.image_size),
            config={"trained_on": train.volume_ids(), "validated_on": valid.volume_ids()},
        )
    best = load_model(run_dir / "best.pt", map_location=device)
    scores = []
    for split in ("test", "valid"):
        stack = stacks[f"{split}_all"]
        scores += _scores(predict(best, method_inputs(stack, method.inputs), device=device) > 0, stack, split)
    result = {"model": method.model, "config": config, "scores": scores}
    write_json(path, result)
    return result


def _trained(run_dir: Path, epochs: int) -> bool:
    """Whether the run folder holds a finished training of ``epochs`` epochs."""
    history = run_dir / "history.csv"
    if not (history.is_file() and (run_dir / "best.pt").is_file()):
        return False
    with open(history, newline="") as handle:
        return len(list(csv.DictReader(handle))) >= epochs


def _fold_stacks(liver_stack, all_stack, fold) -> dict:
    return {
        "train": liver_stack.subset(fold.train),
        "valid": liver_stack.subset(fold.valid),
        "valid_all": all_stack.subset(fold.valid),
        "test_all": all_stack.subset(fold.test),
    }


def _mean(rows: list[dict], split: str) -> float:
    return float(np.mean([r["dice"] for r in rows if r["split"] == split]))


def _table(per_fold: dict, methods: Sequence[Method]) -> dict:
    """Rows "0".."k", "Avg" and, with several folds, "Avg\\{worst}" (the worst fold left out) → column → Dice.

    The level set's column comes first where its part was run.
    """
    table = {}
    for index, parts in per_fold.items():
        row = {"levelset": _mean(parts["levelset"]["scores"], "test")} if "levelset" in parts else {}
        for m in methods:
            row.update({column: _mean(parts[m.key]["scores"], split) for column, split in m.columns})
        table[str(index)] = row
    folds = list(table)
    columns = list(table[folds[0]])
    table["Avg"] = {c: float(np.mean([table[f][c] for f in folds])) for c in columns}
    if len(folds) > 1:
        worst = min(folds, key=lambda f: np.mean(list(table[f].values())))
        table[f"Avg\\{{{worst}}}"] = {c: float(np.mean([table[f][c] for f in folds if f != worst])) for c in columns}
    return table


def figure_traces(methods: Sequence[Method], *, levelset: bool = True) -> list[tuple[str, str, str, float | None]]:
    """``(method, split, label, paper average)`` of every column (for :func:`~lsn_explorer.viz.table2_figure`).

    A method without a column (the bubble-u0 study) gets a box of its held-out Dice.

    Parameters
    ----------
    methods : sequence of Method
        The networks of the run (see :func:`~.methods.resolve_methods`), in column order.
    levelset : bool
        Whether the run has the level set's column. Default True.

    Returns
    -------
    list of (str, str, str, float or None)
        The level set first (if run), then one tuple per column of each method: its key, the
        split its Dice comes from ("test" = held-out volumes, "valid" = the fold's
        validation volumes), the column's title (:data:`~.methods.COLUMN_TITLES`) and
        the column's value in the paper's "Avg" row, None where the paper has no such
        column. A method without a column gives ``(key, "test", "<key> (no column)", None)``.
    """
    traces = [("levelset", "test", "Level set", PAPER_TABLE2["Avg"]["levelset"])] if levelset else []
    for m in methods:
        for column, split in m.columns:
            traces.append((m.key, split, COLUMN_TITLES.get(column, column), PAPER_TABLE2["Avg"].get(column)))
        if not m.columns:
            traces.append((m.key, "test", f"{m.key} (no column)", None))
    return traces


def _write_outputs(out: Path, table: dict, per_volume: list[dict], methods: Sequence[Method], params: dict,
                   *, levelset: bool) -> None:
    from ..viz.table2 import table2_figure

    with atomic_path(out / "per_volume.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["fold", "dataid", "split", "method", "dice", "slice_dice"])
        writer.writeheader()
        writer.writerows(per_volume)
    write_table_csv(out / "table2.csv", table)
    with atomic_path(out / "table2.md") as tmp:
        tmp.write_text(format_table(table, params=params))
    with atomic_path(out / "table2.html") as tmp:
        table2_figure(per_volume, figure_traces(methods, levelset=levelset)).write_html(tmp, include_plotlyjs="cdn")


def run_table2(
    data: str = "phantom",
    *,
    preset: str = "quick",
    out: str | Path = "runs/table2",
    n_folds: int = 5,
    folds: list[int] | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    device: str = "auto",
    levelset_trials: int = 8,
    epochs: dict | None = None,
    configs: dict | None = None,
    real_ct: str | None = None,
    levelset: bool = True,
    progress: bool = True,
) -> Table2Result:
    """Run the cross-validation behind Table 2 for one seed (resumable); write tables, CSVs and a figure.

    Parameters
    ----------
    data : str
        ``"phantom"`` (default), a LiTS folder or a CSV.
    preset : {"quick", "paper"} or Preset
        Image size and batch size; each network trains with its recipe for the
        preset (see :mod:`lsn_explorer.models.registry`). Default "quick".
    out : str or Path
        Output folder; an existing one is continued.
    n_folds : int
        Folds by volume (default 5, as the paper).
    folds : list of int, optional
        Run only these folds (default all).
    methods : sequence of str, optional
        The networks: keys of :data:`METHODS` or any registered model name.
        Default :data:`DEFAULT_METHODS`. The level set always runs.
    seed : int
        Seeds training and the level-set search. Default 0.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``... Default "auto". Training,
        checkpoint loading and prediction all use this one device.
    levelset_trials : int
        Budget of the level-set parameter search per fold. Default 8.
    epochs : dict, optional
        Override epochs per method key, e.g. ``{"unet": 1}``.
    configs : dict, optional
        Override constructor arguments per method key, e.g. ``{"lsn-uniform": {"num_steps": 2}}``.
    real_ct : str, optional
        A real CT data source (``"sample"``) every fold's methods are also scored on,
        trained on ``data`` only (see :mod:`.real_ct`). Default None.
    levelset : bool
        Tune and score the classical level set too (its column, first). Default True;
        False runs the networks alone (the capacity study, :mod:`.capacity`).
    progress : bool
        Progress bars while training. Default True.

    Returns
    -------
    Table2Result
    """
    start = time.perf_counter()
    p = get_preset(preset)
    out = Path(out)
    dev = resolve_device(device)
    chosen_methods = resolve_methods(methods)
    epochs, configs = dict(epochs or {}), dict(configs or {})
    liver = load_volumes(data, settings=PreprocessSettings(size=p.image_size, slices="liver"))
    every = load_volumes(data, settings=PreprocessSettings(size=p.image_size, slices="all"))
    liver_stack, all_stack = stack_slices(liver), stack_slices(every)
    split = volume_folds([v.dataid for v in liver], n_folds=n_folds)
    chosen = list(range(n_folds)) if folds is None else list(folds)
    write_json(out / "config.json", {
        "data": str(data), "preset": p.to_dict(), "seed": seed, "n_folds": n_folds, "folds": chosen,
        "levelset_search": {"trials": levelset_trials, "slices": SEARCH_SLICES, "space": SEARCH_SPACE,
                            "first": {**LevelSetParams().to_dict(), "grid": "the slices' size"}} if levelset else None,
        "methods": {m.key: {"model": m.model, "inputs": m.inputs, "columns": [c for c, _ in m.columns],
                            "recipe": {"epochs": epochs.get(m.key, recipe_for(m.model, p).epochs),
                                       "lr": recipe_for(m.model, p).lr,
                                       "config": m.model_config(p, configs.get(m.key))}}
                    for m in chosen_methods},
    })
    real_stack = None if real_ct is None else stack_slices(
        load_volumes(real_ct, settings=PreprocessSettings(size=p.image_size, slices="all")))
    per_fold, per_volume, real_scores = {}, [], {}
    for index in chosen:
        fold = split[index]
        fold_dir = out / f"fold-{index}"
        write_json(fold_dir / "fold.json", {"train": list(fold.train), "valid": list(fold.valid), "test": list(fold.test)})
        stacks = _fold_stacks(liver_stack, all_stack, fold)
        parts = {"levelset": _levelset_part(fold_dir, stacks["train"], stacks["test_all"], trials=levelset_trials,
                                            seed=seed)} if levelset else {}
        for m in chosen_methods:
            parts[m.key] = _network_part(fold_dir / m.key, m, stacks, preset=p, seed=seed, device=dev,
                                         epochs=epochs.get(m.key), config=configs.get(m.key, {}), progress=progress)
        per_fold[index] = parts
        if real_stack is not None:
            real_scores[index] = real_ct_part(fold_dir, chosen_methods, real_stack, levelset=parts.get("levelset"),
                                             device=dev)
        for method, part in parts.items():
            per_volume += [{"fold": index, "method": method, **row} for row in part["scores"]]
    table = _table(per_fold, chosen_methods)
    params = parameter_counts(chosen_methods, p, configs)
    _write_outputs(out, table, per_volume, chosen_methods, params, levelset=levelset)
    real = real_ct_table(real_scores) if real_scores else None
    if real is not None:
        write_real_ct(out, real, source=str(real_ct), trained_on=str(data))
    seconds = time.perf_counter() - start
    return Table2Result(table=table, per_volume=per_volume, out=out, seconds=seconds,
                        total_seconds=_add_time(out, seconds), parameters=params, real_ct=real)


def _add_time(out: Path, seconds: float) -> float:
    """Wall time spent on ``out`` over all the runs that built it (``timing.json``), this one included."""
    done = read_json(out / "timing.json") or {"seconds": 0.0, "runs": 0}
    total = {"seconds": round(done["seconds"] + seconds, 1), "runs": done["runs"] + 1}
    write_json(out / "timing.json", total)
    return total["seconds"]


