"""LiTS-style CT data: the phantom, the NIfTI reader and its cache, folds by volume, slice tensors.

The one entry point is :func:`load_volumes`; :func:`volume_folds` splits the
volumes as the authors did; :func:`stack_slices` turns them into tensors.
"""

from __future__ import annotations

from .folds import Fold, LeakySliceSplit, fold_table, leaky_slice_split, print_fold_table, volume_folds
from .lits import Case, find_cases
from .loading import check_settings, load_volume, load_volumes
from .phantom import default_phantom_dir, write_phantom_dataset
from .slices import SliceStack, stack_slices
from .volume import PreprocessSettings, Volume

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
