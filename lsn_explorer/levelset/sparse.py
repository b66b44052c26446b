"""A sparse-field level set: the upwind GAC step on a narrow band that follows the front (numba, CPU).

The dense backends update every pixel of every image in every step. Here each image keeps
a list of the pixels of its narrow band, ``|u| < width``, and only those are touched
(:mod:`~lsn_explorer.levelset.sparse_kernels`):

* the front layer, ``|u| < 1``, takes the same upwind step as the dense backends;
* the rest of the band is kept a signed distance to that front (the Eikonal update of
  fast sweeping), as Whitaker's sparse field and ITK's ``SparseFieldLevelSetImageFilter``
  keep their layers at distances 1, 2, ...; beyond the band ``u`` is ``±width``;
* the band is rebuilt from the moving front in every step, pixel by pixel.

So a step costs time in proportion to the front's length, whatever the image's area, and
the cost does not grow with the length of the run. The level set starts as the signed
distance of ``u0`` (:func:`~lsn_explorer.levelset.initial.reinitialise`, once). Its zero level
follows the dense solver's closely but not to rounding: the dense solver never resets u to
a distance; ``tests/test_sparse_field.py`` measures how closely.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from .band import _torch_threads, field_arrays
from .initial import reinitialise

__all__ = ["SparseField", "DEFAULT_WIDTH"]

#: Half-width of the band in pixels when ``clamp`` is not given.
DEFAULT_WIDTH = 3.0


class SparseField:
    """Steps of one batch on each image's narrow band (see the module docstring).

    Parameters
    ----------
    fields : RateFields
        ``dt·F``, ``dt·v`` and ``dt·B`` (:meth:`~lsn_explorer.levelset.speeds.RateFields.scaled`),
        each a number or a tensor that broadcasts against ``(N, 1, H, W)``.
    like : (N, 1, H, W) Tensor
        A level set of the batch (its shape and dtype; float32 or float64, on the CPU).
    width : float or None
        Half-width of the band in pixels, at least 2 (``evolve``'s ``clamp``); None:
        :data:`DEFAULT_WIDTH`. ``u`` is clipped to ``±width``.
    rms : bool
        Also report each image's RMS change on its front layer in every step.

    Attributes
    ----------
    counts : (N,) ndarray of int64
        Pixels in each image's band.

    Raises
    ------
    InputError
        A width below 2.
    """

    #: The returned level set is a buffer that later steps overwrite.
    reuses_buffers = True

    def __init__(self, fields, like: torch.Tensor, *, width: float | None = None, rms: bool = False):
        n, _, h, w = like.shape
        self.width = DEFAULT_WIDTH if width is None else float(width)
        if not self.width >= 2:
            raise InputError(f"clamp={width!r} is too narrow for the sparse field: its band needs a half-width of at least 2 pixels")
        self.rms = bool(rms)
        self.shape = (n, h, w)
        self.fields = field_arrays(fields, like)
        self.rows, self.cols, self.next_rows, self.next_cols = (np.empty((n, h * w), np.int32) for _ in range(4))
        self.stamp = np.zeros((n, h * w), np.int32)
        self.counts = np.zeros(n, np.int64)
        self.steps = 0
        self.u = np.empty((n, h, w), np.float64 if like.dtype == torch.float64 else np.float32)
        self.current = None  # the tensor this object last returned

    def run(self, u: torch.Tensor, num_steps: int, *, active: torch.Tensor, max_rms_change: float | None = None):
        """Up to ``num_steps`` steps of every ``active`` image; each stops once its RMS change falls below ``max_rms_change``.

        Parameters
        ----------
        u : (N, 1, H, W) Tensor
            This object's last result, or any level set (then it starts over from its
            signed distance).
        num_steps : int
        active : (N,) bool Tensor
            Images still running; updated in place (False once stopped).
        max_rms_change : float, optional
            RMS change of the front layer below which an image stops. None: never.

        Returns
        -------
        u : (N, 1, H, W) Tensor
            Valid until the next call (it shares memory with this object).
        steps : (N,) int64 Tensor
            Steps each image took.
        rms : (N,) Tensor
            Each image's RMS change in its last step (NaN for one that took none).
        """
        from .sparse_kernels import band_of, sparse_steps

        with _torch_threads():
            if u is not self.current:
                self._start(u, band_of)
            alive = active.cpu().numpy().astype(np.bool_)
            steps = np.zeros(self.shape[0], np.int64)
            rms = np.full(self.shape[0], np.nan)
            stop = -1.0 if max_rms_change is None else float(max_rms_change)
            sparse_steps(self.u, *self.fields, self.rows, self.cols, self.counts, self.next_rows, self.next_cols,
                         self.stamp, self.steps + 1, int(num_steps), self.width, stop, alive, steps, rms)
        self.steps += int(num_steps)
        active.copy_(torch.from_numpy(alive))
        self.current = torch.from_numpy(self.u).view(self.shape[0], 1, *self.shape[1:])
        return self.current, torch.from_numpy(steps), torch.from_numpy(rms).to(u.dtype)

    def __call__(self, u: torch.Tensor, frozen: torch.Tensor | None = None):
        """One step of every image not ``frozen``: ``(u_next, rms)``, as the other steppers (see :meth:`run`)."""
        active = torch.ones(self.shape[0], dtype=torch.bool) if frozen is None else ~frozen.cpu()
        u_next, _, rms = self.run(u, 1, active=active)
        return u_next, (rms if self.rms else None)

    def _start(self, u: torch.Tensor, band_of) -> None:
        self.u[...] = reinitialise(u.detach()).clamp(-self.width, self.width).reshape(self.shape).numpy()
        band_of(self.u, self.width, self.rows, self.cols, self.counts)
