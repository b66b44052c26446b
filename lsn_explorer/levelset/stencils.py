"""Named 3x3 stencils: finite differences and the reference kernel catalogue.

Conventions (stated once, used everywhere in lsn_explorer)
---------------------------------------------------------
* A stencil is a ``(3, 3)`` float64 array indexed ``[row, col]``; the centre is
  ``[1, 1]``.
* ``x`` is the column index, pointing **right**; ``y`` is the row index,
  pointing **down** (image convention). Unit grid spacing.
* PyTorch's ``conv2d`` is a cross-correlation, so a stencil is applied as-is:
  ``(S ⋆ u)[i, j] = Σ_{a,b} S[a, b] u[i + a - 1, j + b - 1]``. The same holds
  for Keras ``conv2d``, so kernels exported from either library compare
  directly with the arrays below.
* Every constant is read-only; copy it before changing it.

Finite differences (symbols used in the formula comments: ``u[i, j]`` is row
``i``, column ``j``)

=========  ============================================  =====================
name       formula                                       constant
=========  ============================================  =====================
``D+x``    ``u[i, j+1] - u[i, j]``                       ``XP``
``D-x``    ``u[i, j] - u[i, j-1]``                       ``XN``
``D+y``    ``u[i+1, j] - u[i, j]``                       ``YP``
``D-y``    ``u[i, j] - u[i-1, j]``                       ``YN``
``Dx``     ``(u[i, j+1] - u[i, j-1]) / 2``               ``XC``
``Dy``     ``(u[i+1, j] - u[i-1, j]) / 2``               ``YC``
laplacian  ``u[i±1, j] + u[i, j±1] - 4 u[i, j]``         ``LAPLACIAN``
=========  ============================================  =====================

The authors' Keras code (Actor et al. 2020) used y pointing up in its one-sided
stencils and centred stencils without the ½; the constants here do neither.

Reference kernels (``REFERENCE_KERNELS``) are the 11 kernels of the authors'
kernel analysis, with their exact scale factors. What the four Sobel kernels
respond to, in this module's row-down convention:

* ``edge-right`` = ``Sobel_x / 8``: positive where intensity increases to the
  right (+x); it estimates ``∂I/∂x``.
* ``edge-left`` = ``-edge-right``: positive where intensity increases to the left.
* ``edge-up``: top row positive, so positive where intensity increases
  **upwards** (towards row 0); it estimates ``-∂I/∂y``.
* ``edge-down`` = ``-edge-up``: positive where intensity increases downwards;
  it estimates ``+∂I/∂y``.

References
----------
.. [1] J. Actor, D. T. Fuentes, B. Rivière, "Identification of kernels in a
   convolutional neural network: connections between level set equation and
   deep learning for image segmentation", Proc. SPIE 11313 (2020),
   doi:10.1117/12.2548871.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # the stencils are numpy; torch loads only with as_weight
    import torch

__all__ = [
    "XP",
    "XN",
    "YP",
    "YN",
    "XC",
    "YC",
    "LAPLACIAN",
    "SOBEL_X",
    "SOBEL_Y",
    "FINITE_DIFFERENCE_STENCILS",
    "REFERENCE_KERNELS",
    "as_weight",
]


def _const(rows, scale: float = 1.0) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float64) * scale
    a.setflags(write=False)
    return a


# XP: D+x u = u[i, j+1] - u[i, j]
XP = _const([[0, 0, 0], [0, -1, 1], [0, 0, 0]])
# XN: D-x u = u[i, j] - u[i, j-1]
XN = _const([[0, 0, 0], [-1, 1, 0], [0, 0, 0]])
# YP: D+y u = u[i+1, j] - u[i, j]   (y points down)
YP = _const([[0, 0, 0], [0, -1, 0], [0, 1, 0]])
# YN: D-y u = u[i, j] - u[i-1, j]
YN = _const([[0, -1, 0], [0, 1, 0], [0, 0, 0]])
# XC: Dx u = (u[i, j+1] - u[i, j-1]) / 2
XC = _const([[0, 0, 0], [-1, 0, 1], [0, 0, 0]], 0.5)
# YC: Dy u = (u[i+1, j] - u[i-1, j]) / 2
YC = _const([[0, -1, 0], [0, 0, 0], [0, 1, 0]], 0.5)
# LAPLACIAN: u[i-1, j] + u[i+1, j] + u[i, j-1] + u[i, j+1] - 4 u[i, j]
LAPLACIAN = _const([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
# SOBEL_X: 8 · ∂I/∂x estimate (x right), unscaled Sobel
SOBEL_X = _const([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
# SOBEL_Y: 8 · ∂I/∂y estimate (y down), unscaled Sobel
SOBEL_Y = _const([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])

FINITE_DIFFERENCE_STENCILS: Mapping[str, np.ndarray] = {
    "D+x": XP,
    "D-x": XN,
    "D+y": YP,
    "D-y": YN,
    "Dx": XC,
    "Dy": YC,
    "laplacian": LAPLACIAN,
}

REFERENCE_KERNELS: Mapping[str, np.ndarray] = {
    "mean": _const(np.ones((3, 3)), 1 / 9),
    "laplacian1": _const([[0, 1, 0], [1, -4, 1], [0, 1, 0]], 1 / 8),
    "laplacian2": _const([[1, 1, 1], [1, -8, 1], [1, 1, 1]], 1 / 16),
    "laplacian-diag": _const([[1, 0, 1], [0, -4, 0], [1, 0, 1]], 1 / 8),
    "gaussian": _const([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
    "edge-right": _const([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], 1 / 8),
    "edge-up": _const([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], 1 / 8),
    "edge-left": _const([[1, 0, -1], [2, 0, -2], [1, 0, -1]], 1 / 8),
    "edge-down": _const([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], 1 / 8),
    "identity": _const([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    # sums to 1/9, not 1: kept exactly as in the authors' analysis
    "sharpen": _const([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], 1 / 9),
}


def as_weight(
    stencils: np.ndarray | Sequence[np.ndarray] | torch.Tensor, like: torch.Tensor
) -> torch.Tensor:
    """Stack stencils into a ``conv2d`` weight on ``like``'s dtype and device.

    Parameters
    ----------
    stencils : (3, 3) array, sequence of K (3, 3) arrays, or (K, 3, 3) array
        The stencils, in output-channel order.
    like : Tensor
        Any tensor; the result takes its dtype and device.

    Returns
    -------
    weight : (K, 1, 3, 3) Tensor
        Ready for ``F.conv2d(u, weight)`` on a ``(N, 1, H, W)`` input.

    Raises
    ------
    InputError
        If a stencil is not 3x3.

    Examples
    --------
    >>> import torch
    >>> w = as_weight([XC, YC], torch.zeros(1))
    >>> tuple(w.shape)
    (2, 1, 3, 3)
    """
    import torch

    if isinstance(stencils, torch.Tensor):
        arr = stencils.detach().cpu().double().numpy()
    elif isinstance(stencils, np.ndarray):
        arr = stencils
    else:
        arr = np.stack([np.asarray(s, dtype=np.float64) for s in stencils])
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (3, 3):
        raise InputError(
            f"stencils has shape {arr.shape}; expected (3, 3), (K, 3, 3) or a sequence of 3x3 arrays"
        )
    return torch.as_tensor(arr.copy(), dtype=like.dtype, device=like.device)[:, None]
