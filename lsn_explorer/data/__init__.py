"""LiTS-style CT data: the phantom, the NIfTI reader and its cache, folds by volume, slice tensors.

The one entry point is :func:`load_volumes`; :func:`volume_folds` splits the
volumes as the authors did; :func:`stack_slices` turns them into tensors.
"""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
