"""A progress bar over slices, on stderr, that costs nothing when switched off."""

from __future__ import annotations

import sys

__all__ = ["slice_progress"]


def slice_progress(total: int, enabled: bool, what: str):
    """A ``tqdm`` bar of ``total`` slices labelled ``what`` (a context manager with ``update(n)``).

    Parameters
    ----------
    total : int
        Slices to do.
    enabled : bool
        False gives a bar that prints nothing.
    what : str
        The bar's label, e.g. ``"unet"``.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=what, unit="slice", disable=not enabled, file=sys.stderr)
