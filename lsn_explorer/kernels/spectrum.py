"""The authors' second labelling: compare sorted Fourier magnitude spectra.

For each kernel (``cluster-kernels-2.py`` of Actor et al.): zero-pad it at the
corner to the layer's input size ``H x W``, take ``|FFT2|`` (the singular
values of the periodic convolution on one channel), sort descending, divide by
the maximum, and assign the reference whose sorted spectrum is nearest in L1
— or ``"indeterminate"`` when that distance exceeds ``0.10 · H · W``.
The sorted spectrum forgets orientation and sign, so ``edge-right`` and
``edge-left`` are indistinguishable; the authors used six references
(:data:`SPECTRUM_REFERENCES`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from ..levelset.stencils import REFERENCE_KERNELS
from .moments import as_kernels

__all__ = ["SPECTRUM_REFERENCES", "sorted_spectra", "spectrum_labels"]

SPECTRUM_REFERENCES: tuple[str, ...] = ("mean", "laplacian1", "gaussian", "edge-right", "identity", "sharpen")
"""The references active in the authors' spectral comparison, in their output order."""


def sorted_spectra(kernels, shape: tuple[int, int] = (64, 64), *, chunk: int = 512) -> np.ndarray:
    """Sorted, max-normalised ``|FFT2|`` of kernels zero-padded to ``shape``.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    shape : (int, int), optional
        ``(H, W)``, the layer's input size. Default (64, 64).
    chunk : int, optional
        Kernels per batch (memory). Default 512.

    Returns
    -------
    (K, H*W) array
        Descending; all zeros for an all-zero kernel.
    """
    H, W = (int(s) for s in shape)
    if H < 3 or W < 3:
        raise InputError(f"shape={shape!r} must be at least (3, 3)")
    q = as_kernels(kernels).reshape(-1, 3, 3)
    # DFT of a 3x3 kernel padded at the corner: F[u, v] = sum_{r,c} q[r, c] e^{-2πi(ur/H + vc/W)}
    Eh = np.exp(-2j * np.pi * np.outer(np.arange(H), np.arange(3)) / H)  # (H, 3)
    Ew = np.exp(-2j * np.pi * np.outer(np.arange(W), np.arange(3)) / W)  # (W, 3)
    out = np.empty((len(q), H * W))
    for s in range(0, len(q), chunk):
        mag = np.abs(np.einsum("ur,krc,vc->kuv", Eh, q[s : s + chunk], Ew, optimize=True)).reshape(-1, H * W)
        mag = -np.sort(-mag, axis=1)
        top = mag[:, :1]
        out[s : s + chunk] = np.divide(mag, top, out=np.zeros_like(mag), where=top > 0)
    return out


def spectrum_labels(
    kernels,
    shape: tuple[int, int] = (64, 64),
    *,
    references: Mapping[str, np.ndarray] | None = None,
    threshold: float = 0.10,
) -> tuple[np.ndarray, np.ndarray]:
    """The authors' spectral label of each kernel.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    shape : (int, int), optional
        Layer input size ``(H, W)``. Default (64, 64).
    references : mapping, optional
        Default: the six of :data:`SPECTRUM_REFERENCES`.
    threshold : float, optional
        ``"indeterminate"`` when the L1 distance exceeds ``threshold · H · W``. Default 0.10.

    Returns
    -------
    labels : (K,) array of str
    distance : (K,) array
        L1 distance to the chosen reference, divided by ``H · W``.
    """
    if references is None:
        references = {k: REFERENCE_KERNELS[k] for k in SPECTRUM_REFERENCES}
    names = np.array(list(references) + ["indeterminate"])
    R = sorted_spectra(np.stack([np.asarray(v, dtype=np.float64) for v in references.values()]), shape)
    S = sorted_spectra(kernels, shape)
    n = S.shape[1]
    # L1 distance of every kernel to every reference, chunked
    dist = np.empty((len(S), len(R)))
    for s in range(0, len(S), 256):
        dist[s : s + 256] = np.abs(S[s : s + 256, None, :] - R[None]).sum(axis=2) / n
    best = dist.argmin(axis=1)
    d = dist[np.arange(len(S)), best]
    best = np.where(d > threshold, len(R), best)
    return names[best], d
