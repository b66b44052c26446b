"""Cross-validation experiments over seeds: Table 2 of the paper (level set, UNet, LSN, LSN-G, speed-map LSN)
and the capacity study (speed-map LSN, its ablation and a UNet at several sizes)."""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = [
    "LevelSetParams", "bubble_centers", "segment_slices", "tune_levelset", "PAPER_TABLE2", "TABLE2_COLUMNS",
    "COLUMN_TITLES", "DEFAULT_METHODS", "METHODS", "Method", "Table2Result", "format_table", "parameter_counts",
    "run_table2", "run_table2_seeds", "table2_command", "CAPACITY_SIZES", "run_capacity", "capacity_command",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "LevelSetParams": "levelset_column",
    "bubble_centers": ".levelset.initial",
    "CAPACITY_SIZES": "capacity",
    "run_capacity": "capacity",
    "capacity_command": "capacity",
    "segment_slices": "levelset_column",
    "tune_levelset": "levelset_column",
    "COLUMN_TITLES": "methods",
    "DEFAULT_METHODS": "methods",
    "METHODS": "methods",
    "Method": "methods",
    "parameter_counts": "methods",
    "run_table2_seeds": "over_seeds",
    "table2_command": "over_seeds",
    "PAPER_TABLE2": "paper",
    "TABLE2_COLUMNS": "paper",
    "Table2Result": "table2",
    "format_table": "tables",
    "run_table2": "table2",
})
