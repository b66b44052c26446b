"""Canonical forms of 3x3 kernels: remove sign, scale and (optionally) orientation.

A learned kernel's sign and scale are arbitrary once a BatchNorm or the next
layer follows it, and an edge detector is the same idea in any of its 8
orientations. Clustering canonical forms groups kernels by shape alone:

1. **sign**: multiply by the sign of the centre tap (+1 when it is 0), as the
   authors' ``--normalize`` option;
2. **scale**: divide by the L2 norm (all-zero kernels, norm < ``eps``, stay 0);
3. **symmetry** (optional): of the 8 rotations/reflections (the dihedral group
   D4), keep the one with the largest score ``w · q`` for a fixed generic
   ``w``; every member of an orbit maps to the same representative.
"""

from __future__ import annotations

import numpy as np

from .moments import as_kernels

__all__ = ["D4_PERMUTATIONS", "dihedral_orbit", "canonicalize"]


def _d4_permutations() -> np.ndarray:
    idx = np.arange(9).reshape(3, 3)
    perms = []
    for flip in (False, True):
        base = idx.T if flip else idx
        for k in range(4):
            perms.append(np.rot90(base, k).ravel())
    return np.array(perms)


D4_PERMUTATIONS: np.ndarray = _d4_permutations()
"""(8, 9) int array: ``q[:, D4_PERMUTATIONS[g]]`` is transform ``g`` of row-major kernels ``q``."""

# a fixed, generic weight vector: no two distinct orbit members tie except on a null set
_W = np.sqrt(np.array([2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0, 19.0, 23.0]))


def dihedral_orbit(kernel) -> np.ndarray:
    """The 8 rotations/reflections of one kernel, ``(8, 3, 3)`` (the identity first)."""
    q = as_kernels(kernel)[0]
    return q[D4_PERMUTATIONS].reshape(8, 3, 3)


def canonicalize(kernels, *, sign: bool = True, scale: bool = True, symmetry: bool = False, eps: float = 1e-6) -> np.ndarray:
    """Canonical forms of kernels (see the module notes).

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    sign : bool, optional
        Make the centre tap non-negative. Default True.
    scale : bool, optional
        Unit L2 norm; rows with norm < ``eps`` become 0. Default True.
    symmetry : bool, optional
        Map every kernel to one fixed representative of its D4 orbit. Default False.
    eps : float, optional
        Norm below which a kernel counts as zero. Default 1e-6.

    Returns
    -------
    (K, 9) float64 array
        A new array.

    Examples
    --------
    >>> from lsn_explorer.levelset.stencils import SOBEL_X
    >>> forms = canonicalize(dihedral_orbit(SOBEL_X), symmetry=True)
    >>> bool(np.allclose(forms, forms[0]))
    True
    """
    q = as_kernels(kernels).copy()
    if sign:
        s = np.sign(q[:, 4])
        q *= np.where(s == 0, 1.0, s)[:, None]
    if scale:
        n = np.linalg.norm(q, axis=1, keepdims=True)
        q = np.where(n < eps, 0.0, q / np.where(n < eps, 1.0, n))
    if symmetry:
        orbit = q[:, D4_PERMUTATIONS]  # (K, 8, 9)
        score = np.round(orbit @ _W, 12)  # rounding: equal members tie exactly, first wins
        # the centre tap is D4-invariant, so the sign rule still holds afterwards
        q = orbit[np.arange(len(q)), score.argmax(axis=1)]
    return q
