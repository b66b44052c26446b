"""Cross-validation experiments: Table 2 of the paper (level set, UNet, LSN)."""

from __future__ import annotations

from .levelset_column import LevelSetParams, bubble_centers, segment_slices, tune_levelset
from .paper import PAPER_TABLE2, TABLE2_COLUMNS
from .table2 import LSN_INITS, Table2Result, format_table, run_table2, table2_command

__all__ = [
    "LevelSetParams", "bubble_centers", "segment_slices", "tune_levelset", "PAPER_TABLE2", "TABLE2_COLUMNS",
    "LSN_INITS", "Table2Result", "format_table", "run_table2", "table2_command",
]
