"""LiTS-style CT data: the phantom, the NIfTI reader and its cache, folds by volume, slice tensors.

The one entry point is :func:`load_volumes`; :func:`volume_folds` splits the
volumes as the authors did; :func:`stack_slices` turns them into tensors.
"""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = [
    "Case",
    "find_cases",
    "PreprocessSettings",
    "Volume",
    "check_settings",
    "load_volume",
    "load_volumes",
    "Fold",
    "volume_folds",
    "LeakySliceSplit",
    "leaky_slice_split",
    "fold_table",
    "print_fold_table",
    "SliceStack",
    "stack_slices",
    "default_phantom_dir",
    "write_phantom_dataset",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "Fold": "folds",
    "LeakySliceSplit": "folds",
    "fold_table": "folds",
    "leaky_slice_split": "folds",
    "print_fold_table": "folds",
    "volume_folds": "folds",
    "Case": "lits",
    "find_cases": "lits",
    "check_settings": "loading",
    "load_volume": "loading",
    "load_volumes": "loading",
    "default_phantom_dir": "phantom",
    "write_phantom_dataset": "phantom",
    "SliceStack": "slices",
    "stack_slices": "slices",
    "PreprocessSettings": "volume",
    "Volume": "volume",
})
