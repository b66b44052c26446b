"""One line per finished stage of a long call, with the seconds it took."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["StageClock"]


class StageClock:
    """Times consecutive stages and reports each as ``"<stage>: <what it did> (<seconds> s)"``.

    Parameters
    ----------
    progress : callable or None
        ``progress(line)`` once per stage (the command line prints it to stderr);
        ``None`` reports nothing.

    Examples
    --------
    >>> lines = []
    >>> clock = StageClock(lines.append)
    >>> clock.done("collect", "8 kernels in 1 layer")
    >>> lines[0].startswith("collect: 8 kernels in 1 layer (")
    True
    """

    def __init__(self, progress: Callable[[str], None] | None = None):
        self._progress = progress
        self._start = time.perf_counter()

    def done(self, stage: str, detail: str) -> None:
        """Report the stage that ends now (timed from the previous one, or from the clock's start)."""
        now = time.perf_counter()
        if self._progress is not None:
            self._progress(f"{stage}: {detail} ({now - self._start:.1f} s)")
        self._start = now
