"""The upwind GAC step on the active tiles only: a narrow band that follows the front (numba, CPU).

A pixel's update reads its 5x5 neighbourhood and the fixed fields, nothing else. So a pixel
that did not change in one step, and whose 5x5 neighbourhood did not change either, does
not change in the next one: it computes the same number again. :class:`BandStep` splits
each image into ``tile x tile`` tiles and updates only the tiles that changed in the last
step or touch one that did (the tile size is at least 2, the reach of the stencil). The
first step updates every tile.

This is exact, not an approximation: the result equals the dense step to rounding (tested
against :func:`~lsn_explorer.levelset.step.gac_step` to 1e-5). The saving comes from the
level set's own stillness:

* with ``clamp`` (ITK-SNAP's option, ``evolve(..., clamp=w)``), ``u`` saturates at ``±w``
  a few pixels from the front, and those pixels stop changing, so the work follows a band
  of tiles around the moving front, as in the sparse-field and narrow-band methods;
* without it, every pixel of a signed distance keeps moving, every tile stays active and
  the step is a dense loop (still the fastest CPU step here).

Converged images of a batch (``evolve(..., max_rms_change=...)``) are skipped, and the
RMS change on the front band is measured inside the same loop.

The two state buffers alternate: a step reads one and writes the other. A tile that was
not updated holds the same values in both, by the rule above.
"""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np
import torch

__all__ = ["BandStep", "compile_kernels", "numba_available"]


@functools.cache
def numba_available() -> bool:
    """Whether numba can be imported."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


class BandStep:
    """Steps of one batch on its active tiles (see the module docstring).

    Parameters
    ----------
    fields : RateFields
        ``dt·F``, ``dt·v`` and ``dt·B`` (:meth:`~lsn_explorer.levelset.speeds.RateFields.scaled`),
        each a number or a tensor that broadcasts against ``(N, 1, H, W)``.
    like : (N, 1, H, W) Tensor
        A level set of the batch (its shape and dtype; float32 or float64, on the CPU).
    clamp : float or None
        Clip ``u`` to ``[-clamp, clamp]`` after every step.
    rms : bool
        Also measure each image's RMS change on its front band in every step.
    tile : int
        Tile side in pixels, at least 2. Default 16.
    """

    #: The returned level set is one of two buffers that later steps overwrite.
    reuses_buffers = True

    def __init__(self, fields, like: torch.Tensor, *, clamp: float | None, rms: bool = False, tile: int = 16):
        n, _, h, w = like.shape
        self.tile, self.rms = int(tile), bool(rms)
        self.clamp = math.inf if clamp is None else float(clamp)
        self.shape = (n, h, w)
        self.fields = field_arrays(fields, like)
        self._kernel = _band_step()
        tiles = (n, -(-h // self.tile), -(-w // self.tile))
        self.active = np.ones(tiles, dtype=np.bool_)
        self.changed = np.zeros(tiles, dtype=np.bool_)
        self.front = np.zeros(tiles, dtype=np.int64)
        dtype = np.float64 if like.dtype == torch.float64 else np.float32
        self.buffers = [np.empty((n, h, w), dtype=dtype) for _ in range(2)]
        self.current = None  # the tensor this object last returned

    def __call__(self, u: torch.Tensor, frozen: torch.Tensor | None = None):
        """One step of every image not ``frozen``.

        Parameters
        ----------
        u : (N, 1, H, W) Tensor
            The level set: this object's last result, or any other tensor (then every
            tile is updated, as in a first step).
        frozen : (N,) bool Tensor, optional
            Images left as they are.

        Returns
        -------
        u_next : (N, 1, H, W) Tensor
            Valid until the step after next (it shares memory with the buffers).
        rms : (N,) Tensor or None
            Each image's RMS change on its front band (NaN for frozen images), if asked
            for at construction.
        """
        if u is not self.current:
            # every tile is active now, so the step writes all of the other buffer
            self.buffers[0][...] = u.detach().reshape(self.shape).numpy()
            self.active[...] = True
        src, dst = self.buffers[0], self.buffers[1]
        skip = np.zeros(self.shape[0], np.bool_) if frozen is None else frozen.cpu().numpy().astype(np.bool_)
        rms = np.full(self.shape[0], np.nan)
        with _torch_threads():
            self._kernel(src, dst, *self.fields, self.active, self.changed, self.front, skip,
                         self.clamp, self.tile, self.rms, rms)
        self.buffers = [dst, src]
        self.current = torch.from_numpy(dst).view(self.shape[0], 1, *self.shape[1:])
        return self.current, (torch.from_numpy(rms).to(u.dtype) if self.rms else None)


def field_arrays(fields, like: torch.Tensor) -> list[np.ndarray]:
    """``dt·F, dt·vx, dt·vy, dt·B`` of ``fields`` at the size of ``like``, as (N, H, W) arrays for the numba loops."""
    maps = fields.maps(like)
    return [f.cpu().numpy()[:, 0] for f in (maps.speed, maps.vx, maps.vy, maps.curvature)]


@contextlib.contextmanager
def _torch_threads():
    """Run numba's parallel loop on torch's thread count, and leave torch's count as it was.

    numba's OpenMP layer shares the OpenMP runtime with torch: its first parallel launch
    would otherwise reset the count torch reports (``torch.set_num_threads`` is lost).
    """
    import numba

    threads = torch.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def compile_kernels() -> None:
    """Compile the loop for float32 and float64 level sets now (numba caches them on disk).

    The first step of a new installation otherwise waits ~10 s for the compiler;
    images and Binder call this once at build time.
    """
    from .speeds import RateFields

    for dtype in (torch.float32, torch.float64):
        like = torch.zeros(1, 1, 4, 4, dtype=dtype)
        BandStep(RateFields(0.1, 0.0, 0.0, 0.1), like, clamp=None)(like)


def _band_step():
    """The numba loop (its module compiles on first import and is cached on disk by numba)."""
    from .band_kernels import band_step

    return band_step
