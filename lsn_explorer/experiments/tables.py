"""Table 2 as markdown: our numbers (± sd over seeds), the paper's beside them, parameter counts."""

from __future__ import annotations

from .methods import COLUMN_TITLES
from .paper import PAPER_TABLE2

__all__ = ["format_table"]


def _paper_value(paper: dict, row: str, column: str) -> float | None:
    reference = paper.get(row) or (list(paper.values())[-1] if row.startswith("Avg\\") and paper else None)
    return None if reference is None else reference.get(column)


def format_table(table: dict, *, paper: dict | None = PAPER_TABLE2, sd: dict | None = None,
                 params: dict | None = None) -> str:
    """Table 2 as markdown: ours (± sd over seeds when given), the paper's value in brackets where it has one.

    Parameters
    ----------
    table : dict
        Row → column → Dice (a mean over seeds when ``sd`` is given).
    paper : dict, optional
        The paper's Table 2; default :data:`~lsn_explorer.experiments.paper.PAPER_TABLE2`.
    sd : dict, optional
        Row → column → standard deviation over seeds.
    params : dict, optional
        Column → trainable parameters, shown as a last row.
    """
    columns = list(next(iter(table.values())))
    headers = ["Fold"] + [COLUMN_TITLES.get(c, c) for c in columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row, values in table.items():
        cells = []
        for c in columns:
            reference = _paper_value(paper or {}, row, c)
            spread = f" ± {sd[row][c]:.3f}" if sd is not None else ""
            cells.append(f"{values[c]:.3f}{spread}" + (f" ({reference:.3f})" if reference is not None else ""))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    if params is not None:
        lines.append("| Parameters | " + " | ".join(f"{params.get(c, 0):,d}" for c in columns) + " |")
    return "\n".join(lines) + "\n"
