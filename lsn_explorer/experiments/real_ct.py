"""Table 2's second section: every method trained on the phantom, scored on a real CT.

After the folds of :func:`~lsn_explorer.experiments.table2.run_table2`, each fold's
trained networks (``fold-<i>/<method>/best.pt``) segment every slice of a real CT
data source (``"sample"``: the TotalSegmentator example case), at the size they were
trained on, and the level set runs there with the parameters tuned on that fold's
phantom volumes and bubbles placed from the real label, as on the phantom. Nothing is
trained on the real CT::

    out/fold-<i>/real_ct.json   {method: mean volume Dice on the real CT}
    out/real_ct.md, real_ct.csv  one row per fold, one column per method, "Avg"
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._files import atomic_path, read_json, write_json, write_table_csv
from ..inference import predict
from ..metrics import mean_volume_dice
from ..models.loading import load_model
from .levelset_column import LevelSetParams, segment_slices
from .methods import Method, method_inputs
from .tables import format_table

__all__ = ["real_ct_part", "real_ct_table", "write_real_ct", "real_ct_caption"]


def real_ct_caption(trained_on: str, source: str) -> str:
    """The line that says what the real-CT table scored: ``Trained on 'phantom', scored on the real CT 'sample' ...``."""
    return f"Trained on {trained_on!r}, scored on the real CT {source!r} (all slices, volume Dice)."


def real_ct_part(fold_dir: Path, methods: Sequence[Method], stack, *, levelset: dict, device) -> dict:
    """One fold's level set and networks scored on the real CT (read back if done).

    Parameters
    ----------
    fold_dir : Path
        ``out/fold-<i>``, with ``<method>/best.pt`` for every method.
    methods : sequence of Method
    stack : SliceStack
        Every slice of the real CT, with its dataids.
    levelset : dict or None
        The fold's level-set part; its ``params`` are used as tuned. None: no level set.
    device : torch.device
        Where the networks run.

    Returns
    -------
    dict
        ``{"levelset": Dice (if run), method key: Dice, ...}``, mean volume Dice; also written to
        ``fold_dir/real_ct.json``.
    """
    path = fold_dir / "real_ct.json"
    if (done := read_json(path)) is not None:
        return done
    scores = {}
    if levelset is not None:
        params = LevelSetParams(**levelset["params"])
        scores["levelset"] = mean_volume_dice(segment_slices(stack.images, stack.masks, params), stack)
    for m in methods:
        model = load_model(fold_dir / m.key / "best.pt", map_location=device)
        scores[m.key] = mean_volume_dice(predict(model, method_inputs(stack, m.inputs), device=device) > 0, stack)
    write_json(path, scores)
    return scores


def real_ct_table(per_fold: dict) -> dict:
    """``{fold: {method: Dice}}`` → rows "0".."k" and "Avg" (the mean over folds) → method → Dice."""
    table = {str(index): dict(scores) for index, scores in per_fold.items()}
    columns = list(next(iter(table.values())))
    table["Avg"] = {c: float(np.mean([row[c] for row in list(table.values())])) for c in columns}
    return table


def write_real_ct(out: Path, table: dict, *, source: str, trained_on: str) -> None:
    """Write ``out/real_ct.md`` (captioned by :func:`real_ct_caption`) and ``out/real_ct.csv`` of a
    :func:`real_ct_table`."""
    write_table_csv(out / "real_ct.csv", table)
    with atomic_path(out / "real_ct.md") as tmp:
        tmp.write_text(real_ct_caption(trained_on, source) + "\n\n" + format_table(table, paper=None))
