"""Moments of 3x3 kernels: which derivatives a kernel takes (PDE-Net's sum rules).

Applied by cross-correlation (PyTorch and Keras ``conv2d``) to a smooth image
``u`` on a unit grid, a kernel ``q[r, c]`` gives, by Taylor expansion,

.. math::

    (q \\star u)(x, y) = \\sum_{i, j \\ge 0} m_{ij}\\, \\partial_x^i \\partial_y^j u(x, y),
    \\qquad m_{ij} = \\frac{1}{i!\\, j!} \\sum_{r, c} (c - 1)^i (r - 1)^j\\, q[r, c],

with ``x`` = column pointing right and ``y`` = row pointing **down**, as in
:mod:`lsn_explorer.levelset.stencils`. The nine moments with ``i, j <= 2``
form the moment matrix ``M[i, j] = m_ij`` (``i`` = order in x, ``j`` = order
in y); with ``A[i, k] = k^i / i!`` for ``k`` in ``(-1, 0, 1)`` it is
``M = A qᵀ Aᵀ``, and since ``A`` is invertible the nine moments *are* the
kernel in another basis. Higher moments alias onto them (``k³ = k`` on the
3-point grid) and are computed directly by :func:`moments`.

Examples: ``edge-right`` (Sobel / 8) has ``m10 = 1``, ``m12 = 1/4`` (∂x plus
smoothing along y); ``gaussian`` (/16) has ``m00 = 1``, ``m20 = m02 = 1/4``
(``I + Δ/4``, one explicit heat-equation step).

References
----------
.. [1] Z. Long, Y. Lu, X. Ma, B. Dong, "PDE-Net: learning PDEs from data",
   ICML 2018, arXiv:1710.09668.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from ..errors import InputError

__all__ = ["moment_matrix", "kernel_from_moments", "moments", "moment_basis_kernel", "as_kernels"]

_OFFSETS = np.array([-1.0, 0.0, 1.0])
# A[i, k] = k^i / i!
_A = np.array([[k**i / factorial(i) for k in _OFFSETS] for i in range(3)])
_A_INV = np.linalg.inv(_A)


def as_kernels(kernels, *, name: str = "kernels") -> np.ndarray:
    """``(9,)``, ``(3, 3)``, ``(K, 9)`` or ``(K, 3, 3)`` -> ``(K, 9)`` float64 (a copy when needed)."""
    arr = np.asarray(kernels, dtype=np.float64)
    if arr.shape in ((9,), (3, 3)):
        return arr.reshape(1, 9)
    if arr.ndim == 2 and arr.shape[1] == 9:
        return arr
    if arr.ndim == 3 and arr.shape[1:] == (3, 3):
        return arr.reshape(-1, 9)
    raise InputError(f"{name} has shape {arr.shape}; expected (K, 9), (K, 3, 3), (9,) or (3, 3)")


def moment_matrix(kernels) -> np.ndarray:
    """The 3x3 moment matrices ``M[i, j] = m_ij`` of 3x3 kernels.

    Parameters
    ----------
    kernels : (K, 9), (K, 3, 3), (9,) or (3, 3) array
        Row-major kernels indexed ``[row, col]``.

    Returns
    -------
    M : (K, 3, 3) array
        ``M[:, i, j]`` multiplies ``∂x^i ∂y^j`` (x right, y down).

    Examples
    --------
    >>> from lsn_explorer.levelset.stencils import REFERENCE_KERNELS
    >>> M = moment_matrix(REFERENCE_KERNELS["edge-right"])[0]
    >>> float(M[1, 0]), float(M[1, 2])
    (1.0, 0.25)
    """
    q = as_kernels(kernels).reshape(-1, 3, 3)
    # m_ij = sum_{r,c} A[i, c] A[j, r] q[r, c]
    return np.einsum("ic,jr,krc->kij", _A, _A, q, optimize=True)


def kernel_from_moments(M) -> np.ndarray:
    """Inverse of :func:`moment_matrix`: ``(K, 3, 3)`` moments -> ``(K, 3, 3)`` kernels ``[row, col]``."""
    M = np.asarray(M, dtype=np.float64)
    single = M.shape == (3, 3)
    M = M.reshape(-1, 3, 3)
    q = np.einsum("ci,rj,kij->krc", _A_INV, _A_INV, M, optimize=True)
    return q[0] if single else q


def moment_basis_kernel(i: int, j: int) -> np.ndarray:
    """The ``(3, 3)`` kernel whose only non-zero moment among ``i, j <= 2`` is ``m_ij = 1``."""
    M = np.zeros((3, 3))
    M[i, j] = 1.0
    return kernel_from_moments(M)


def moments(kernels, orders) -> np.ndarray:
    """Generalised moments ``m_ij`` for any ``(i, j)``, including those above 2.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    orders : sequence of (int, int)
        The ``(i, j)`` pairs (order in x, order in y).

    Returns
    -------
    (K, len(orders)) array
    """
    q = as_kernels(kernels)
    rows, cols = np.divmod(np.arange(9), 3)
    x, y = _OFFSETS[cols], _OFFSETS[rows]
    G = np.array([x**i * y**j / (factorial(i) * factorial(j)) for i, j in orders]).reshape(len(orders), 9)
    return q @ G.T
