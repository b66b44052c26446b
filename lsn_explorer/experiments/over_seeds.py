"""Table 2 over several seeds: one :func:`~.table2.run_table2` per seed, then mean ± sd.

One training run of our UNet moves by up to 0.03 Dice per fold between seeds, so a
comparison of two methods is made over seeds::

    out/
      seed-<s>/            one complete single-seed Table 2 (see :mod:`.table2`)
      seeds.json           mean and sd per row and column, parameters, seconds per seed
      table2.md, table2.csv  mean ± sd over the seeds, the paper's value in brackets
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._files import atomic_path, write_json, write_table_csv
from .real_ct import real_ct_caption
from .table2 import run_table2
from .tables import format_table

__all__ = ["run_table2_seeds", "table2_command"]


def run_table2_seeds(data: str = "phantom", *, seeds: Sequence[int] = (0, 1, 2), out: str | Path = "runs/table2",
                     **options) -> dict:
    """:func:`run_table2` once per seed into ``out/seed-<s>/``, then the mean ± sd over the seeds.

    Parameters
    ----------
    data : str
        As :func:`run_table2`.
    seeds : sequence of int
        Default (0, 1, 2).
    out : str or Path
        Output folder.
    **options
        Passed to :func:`run_table2`.

    Returns
    -------
    dict
        ``{"seeds", "mean": table, "sd": table, "parameters", "seconds": [wall time per seed, summed
        over resumed runs], "tables": [per seed]}`` and, with ``real_ct=``, ``"real_ct": {"mean", "sd"}``;
        also written as ``out/seeds.json``, ``out/table2.md``, ``out/table2.csv`` (and ``real_ct.md``,
        ``real_ct.csv``).
    """
    out = Path(out)
    results = [run_table2(data, out=out / f"seed-{s}", seed=s, **options) for s in seeds]
    mean, sd = _over_seeds([r.table for r in results])
    summary = {
        "seeds": list(seeds), "mean": mean, "sd": sd, "parameters": results[0].parameters,
        "seconds": [round(r.total_seconds, 1) for r in results], "tables": [r.table for r in results],
    }
    if results[0].real_ct is not None:
        summary["real_ct"] = dict(zip(("mean", "sd"), _over_seeds([r.real_ct for r in results])))
    write_json(out / "seeds.json", summary)
    with atomic_path(out / "table2.md") as tmp:
        tmp.write_text(_seed_note(seeds) + format_table(mean, sd=sd, params=summary["parameters"]))
    write_table_csv(out / "table2.csv", mean, sd)
    if "real_ct" in summary:
        real = summary["real_ct"]
        with atomic_path(out / "real_ct.md") as tmp:
            tmp.write_text(_seed_note(seeds) + real_ct_caption(data, options["real_ct"]) + "\n\n"
                           + format_table(real["mean"], sd=real["sd"], paper=None))
        write_table_csv(out / "real_ct.csv", real["mean"], real["sd"])
    return summary


def _over_seeds(tables: list[dict]) -> tuple[dict, dict]:
    """Mean and sample standard deviation, row by row and column by column, of one table per seed.

    The worst fold left out by "Avg\\{k}" may differ between seeds: those rows are
    matched by position and labelled "Avg\\{worst}".
    """
    rows, columns = list(tables[0]), list(next(iter(tables[0].values())))
    stacked = np.array([[[table[list(table)[i]][c] for c in columns] for i in range(len(rows))] for table in tables])
    mean = stacked.mean(0)
    sd = stacked.std(0, ddof=1) if len(tables) > 1 else np.zeros_like(mean)
    label = ["Avg\\{worst}" if row.startswith("Avg\\") else row for row in rows]
    return ({row: dict(zip(columns, map(float, mean[i]))) for i, row in enumerate(label)},
            {row: dict(zip(columns, map(float, sd[i]))) for i, row in enumerate(label)})


def _seed_note(seeds: Sequence[int]) -> str:
    return f"Mean ± sd over seeds {', '.join(map(str, seeds))}.\n\n"


def table2_command(*, data: str = "phantom", preset: str = "quick", out: str | Path = "runs/table2",
                   seeds: Sequence[int] = (0,), device: str = "auto", folds: list[int] | None = None,
                   methods: Sequence[str] | None = None, real_ct: str | None = None) -> Path:
    """``lsn-explorer table2``: run :func:`run_table2` (or :func:`run_table2_seeds`), print the table.

    Prints Table 2 (mean ± sd with several seeds), the real-CT table when
    ``real_ct`` is given, and the wall time.

    Parameters
    ----------
    data : str
        ``"phantom"`` (default), a LiTS folder or a CSV.
    preset : {"quick", "paper"}
        Default "quick".
    out : str or Path
        Output folder; an existing one is continued. Default "runs/table2".
    seeds : sequence of int
        One seed (default ``(0,)``) runs :func:`run_table2` into ``out``; several
        run :func:`run_table2_seeds`, one ``out/seed-<s>/`` each.
    device : str
        Default "auto".
    folds : list of int, optional
        Run only these folds (default all).
    methods : sequence of str, optional
        The networks (default :data:`~.methods.DEFAULT_METHODS`); the level set always runs.
    real_ct : str, optional
        A real CT data source (``"sample"``) to score every fold's methods on as well.

    Returns
    -------
    Path
        The output folder ``out``.

    Raises
    ------
    InputError
        An unknown preset, method or device, or data with fewer than 5 volumes.
    MissingDataError, DataFileError
        Data that cannot be found or read (see :func:`~lsn_explorer.data.load_volumes`).
    """
    options = dict(preset=preset, device=device, folds=folds, methods=methods, real_ct=real_ct)
    if len(seeds) == 1:
        result = run_table2(data, out=out, seed=seeds[0], **options)
        print(format_table(result.table, params=result.parameters))
        if result.real_ct is not None:
            print(real_ct_caption(data, real_ct) + "\n\n" + format_table(result.real_ct, paper=None))
        print(f"({result.total_seconds / 60:.1f} min; results in {result.out})")
        return result.out
    summary = run_table2_seeds(data, seeds=seeds, out=out, **options)
    print(_seed_note(seeds) + format_table(summary["mean"], sd=summary["sd"], params=summary["parameters"]))
    if "real_ct" in summary:
        print(real_ct_caption(data, real_ct) + "\n\n"
              + format_table(summary["real_ct"]["mean"], sd=summary["real_ct"]["sd"], paper=None))
    print(f"({sum(summary['seconds']) / 60:.1f} min; results in {out})")
    return Path(out)
