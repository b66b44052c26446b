"""The numbers the paper reports, for side-by-side comparison.

Table 2 of Actor, Fuentes & Rivière (2020): mean Dice per fold of the 5-fold
cross-validation on the 131 LiTS training volumes. Its columns, in the paper's words:
"ITK-SNAP and UNET numbers are on the validation set for each fold" (the held-out
fifth); "LSN Test" is the LSN on its testing subset (10 % of the slices of the training
volumes) and "LSN Validation" the LSN on the held-out fifth.
"""

from __future__ import annotations

__all__ = ["TABLE2_COLUMNS", "PAPER_TABLE2"]

#: Column keys of Table 2, in the paper's order.
TABLE2_COLUMNS = ("levelset", "unet", "lsn_test", "lsn_validation")

#: Table 2 as printed: fold (0-4), "Avg" and "Avg\\{2}" → Dice per column.
PAPER_TABLE2 = {
    "0": {"levelset": 0.736, "unet": 0.912, "lsn_test": 0.837, "lsn_validation": 0.619},
    "1": {"levelset": 0.600, "unet": 0.919, "lsn_test": 0.847, "lsn_validation": 0.729},
    "2": {"levelset": 0.483, "unet": 0.874, "lsn_test": 0.116, "lsn_validation": 0.005},
    "3": {"levelset": 0.730, "unet": 0.895, "lsn_test": 0.827, "lsn_validation": 0.606},
    "4": {"levelset": 0.643, "unet": 0.915, "lsn_test": 0.831, "lsn_validation": 0.596},
    "Avg": {"levelset": 0.640, "unet": 0.903, "lsn_test": 0.692, "lsn_validation": 0.511},
    "Avg\\{2}": {"levelset": 0.604, "unet": 0.911, "lsn_test": 0.837, "lsn_validation": 0.638},
}
