"""Cross-validation experiments: Table 2 of the paper (level set, UNet, LSN, LSN-G, speed-map LSN), over seeds."""

from __future__ import annotations

from .levelset_column import LevelSetParams, bubble_centers, segment_slices, tune_levelset
from .methods import COLUMN_TITLES, DEFAULT_METHODS, METHODS, Method, parameter_counts
from .over_seeds import run_table2_seeds, table2_command
from .paper import PAPER_TABLE2, TABLE2_COLUMNS
from .table2 import Table2Result, format_table, run_table2

__all__ = [
    "LevelSetParams", "bubble_centers", "segment_slices", "tune_levelset", "PAPER_TABLE2", "TABLE2_COLUMNS",
    "COLUMN_TITLES", "DEFAULT_METHODS", "METHODS", "Method", "Table2Result", "format_table", "parameter_counts",
    "run_table2", "run_table2_seeds", "table2_command",
]
