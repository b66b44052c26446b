"""Name a 3x3 kernel: the nearest finite-difference operator and the nearest reference stencil.

Every kernel is compared, up to a non-zero scale factor (BatchNorm and the
next layer make scale arbitrary), with a small library of operators written as
moment patterns (see :mod:`~lsn_explorer.kernels.moments`). An operator fixes
the kernel's second-order Taylor jet — the six moments ``m00, m10, m01, m20,
m11, m02`` — and leaves the three highest (``m21, m12, m22``, the truncation
error of a 3x3 stencil) free:

==============  =========================================  ===================
operator        jet (up to the scale ``s``)                examples
==============  =========================================  ===================
``identity``    ``m00 = 1``                                identity
``dxx``         ``m20 = 1``
``dyy``         ``m02 = 1``
``dxy``         ``m11 = 1``
``laplacian``   ``m20 = m02 = 1``                          laplacian1/2/-diag
``dx``          ``m10 = 1, m20 = c``, ``|c| <= 1/2``       Dx, D±x, Sobel
``dy``          ``m01 = 1, m02 = c``, ``|c| <= 1/2``       Dy, D±y, edge-up
``smoothing``   ``m00 = 1, m20 = m02 = c``, ``0 < c <= 1/2``  mean, gaussian
``sharpening``  ``m00 = 1, m20 = m02 = c``, ``-1 <= c < 0``   sharpen
==============  =========================================  ===================

``c`` in ``dx``/``dy`` is the numerical diffusion of a one-sided (upwind)
difference (``D±x = ∂x ± ∂xx/2``). The residual of an operator is
``min ‖q − s·p‖ / ‖q‖`` over the scale and the free moments, measured on the
kernel's nine weights: 0 for an exact match, 1 for a kernel orthogonal to
the operator. The operator with the smallest residual is reported; exact ties
go to the first in the table (the simplest).

The order of accuracy ``p`` of a kernel as an approximation of its
operator's leading term ``s·∂^α`` is the largest ``p`` with
``|m_β − s·δ_βα| <= rtol·|s|`` for every moment of total order
``|β| < |α| + p`` (PDE-Net's sum rules; ``inf`` if all hold up to order 8).
The Sobel and centred differences are second order, one-sided differences
first order, the five-point Laplacian second order.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from ..levelset.stencils import FINITE_DIFFERENCE_STENCILS, REFERENCE_KERNELS
from .moments import as_kernels, kernel_from_moments, moment_matrix, moments

__all__ = [
    "Operator",
    "OPERATORS",
    "STENCIL_CATALOGUE",
    "Identification",
    "identify_kernels",
    "operator_residuals",
    "nearest_stencil",
    "order_of_accuracy",
    "is_mean_zero",
]


@dataclass(frozen=True)
class Operator:
    """A differential operator as a moment pattern, with an optional bounded second term.

    Attributes
    ----------
    name : str
    label : str
        How figures write it.
    primary : dict of (int, int) -> float
        Leading term ``{(i, j): weight}`` (``m_ij``, i = x order, j = y order).
    secondary : dict or None
        Second term, allowed with ratio ``c`` in ``[c_min, c_max]`` to the primary.
    """

    name: str
    label: str
    primary: Mapping[tuple[int, int], float]
    secondary: Mapping[tuple[int, int], float] | None = None
    c_min: float = 0.0
    c_max: float = 0.0

    @property
    def derivative_order(self) -> int:
        return max(i + j for i, j in self.primary)


_LAP = {(2, 0): 1.0, (0, 2): 1.0}
OPERATORS: tuple[Operator, ...] = (
    Operator("identity", "I", {(0, 0): 1.0}),
    Operator("dxx", "∂xx", {(2, 0): 1.0}),
    Operator("dyy", "∂yy", {(0, 2): 1.0}),
    Operator("dxy", "∂xy", {(1, 1): 1.0}),
    Operator("laplacian", "Δ", _LAP),
    Operator("dx", "∂x", {(1, 0): 1.0}, {(2, 0): 1.0}, -0.5, 0.5),
    Operator("dy", "∂y", {(0, 1): 1.0}, {(0, 2): 1.0}, -0.5, 0.5),
    Operator("smoothing", "I+cΔ", {(0, 0): 1.0}, _LAP, 0.0, 0.5),
    Operator("sharpening", "I−cΔ", {(0, 0): 1.0}, _LAP, -1.0, 0.0),
)
"""The operator library, simplest first (exact ties go to the earlier one)."""

STENCIL_CATALOGUE: Mapping[str, np.ndarray] = {
    **REFERENCE_KERNELS,
    **{k: v for k, v in FINITE_DIFFERENCE_STENCILS.items() if k != "laplacian"},
}
"""The 11 reference kernels and the LSN's one-sided and centred differences
(its five-point ``laplacian`` is ``8 · laplacian1``, so it is not repeated)."""

_FREE = ((2, 1), (1, 2), (2, 2))
_JET = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2))
_MAX_CHECK = 8


def _pattern_kernel(pattern: Mapping[tuple[int, int], float]) -> np.ndarray:
    M = np.zeros((3, 3))
    for (i, j), w in pattern.items():
        M[i, j] = w
    return kernel_from_moments(M).ravel()


def _combine(a, b, c):
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + c * v
    return out


def _projector(patterns) -> tuple[np.ndarray, np.ndarray]:
    """(pinv (9, d), projector (9, 9)) of span{patterns} + the free moments, in kernel space."""
    B = np.stack([_pattern_kernel(p) for p in patterns] + [_pattern_kernel({f: 1.0}) for f in _FREE])
    pinv = np.linalg.pinv(B)  # coefficients = q @ pinv
    return pinv, pinv @ B


def operator_residuals(kernels, *, operators=OPERATORS) -> tuple[np.ndarray, np.ndarray]:
    """Residual and scale of every kernel against every operator.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    operators : sequence of Operator, optional
        Default :data:`OPERATORS`.

    Returns
    -------
    residual : (K, n_ops) array in [0, 1]
        ``min ‖q − s·p‖ / ‖q‖``; ``nan`` for an all-zero kernel.
    scale : (K, n_ops) array
        The fitted coefficient ``s`` of the operator's leading term.
    """
    q = as_kernels(kernels)
    qn = np.linalg.norm(q, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.empty((len(q), len(operators)))
        scale = np.empty_like(res)
        for n, op in enumerate(operators):
            patterns = [op.primary] + ([op.secondary] if op.secondary else [])
            pinv, P = _projector(patterns)
            coef = q @ pinv
            res[:, n] = np.linalg.norm(q - q @ P, axis=1) / qn
            scale[:, n] = coef[:, 0]
            if not op.secondary:
                continue
            ratio = coef[:, 1] / coef[:, 0]
            out = ~((ratio >= op.c_min) & (ratio <= op.c_max))
            if out.any():
                # outside the allowed wedge: the nearest point lies on one of its two edges
                edges = [_projector([_combine(op.primary, op.secondary, c)]) for c in (op.c_min, op.c_max)]
                qo = q[out]
                cand = np.stack([np.linalg.norm(qo - qo @ P_e, axis=1) for _, P_e in edges], axis=1)
                pick = cand.argmin(axis=1)
                res[out, n] = cand.min(axis=1) / qn[out]
                coef_e = np.stack([qo @ pinv_e[:, 0] for pinv_e, _ in edges], axis=1)
                scale[out, n] = coef_e[np.arange(len(qo)), pick]
    return np.clip(res, 0.0, 1.0), scale


def _order_table():
    return [(i, j) for i, j in product(range(_MAX_CHECK + 1), repeat=2) if i + j <= _MAX_CHECK]


def order_of_accuracy(kernels, operator: Operator | str, scale=None, *, rtol: float = 0.05) -> np.ndarray:
    """Order of accuracy of each kernel as an approximation of ``s · (leading term of operator)``.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    operator : Operator or str
        An operator or its name in :data:`OPERATORS`.
    scale : (K,) array, optional
        The scale ``s``; by default the least-squares scale of the leading pattern.
    rtol : float, optional
        A moment counts as matching when it is within ``rtol·|s|``. Default 0.05.

    Returns
    -------
    (K,) float array
        0 = not even consistent; ``inf`` = all moments up to order 8 match.
    """
    op = _operator(operator)
    q = as_kernels(kernels)
    orders = _order_table()
    m = moments(q, orders)
    target = np.array([op.primary.get(o, 0.0) for o in orders])
    if scale is None:
        idx = [orders.index(o) for o in op.primary]
        t = target[idx]
        scale = m[:, idx] @ t / (t @ t)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    bad = np.abs(m - scale[:, None] * target) > rtol * np.abs(scale)[:, None] + 1e-12 * np.abs(q).max(axis=1, keepdims=True)
    total = np.array([i + j for i, j in orders])
    result = np.full(len(q), np.inf)
    for level in range(_MAX_CHECK, -1, -1):
        # first failing total order = |α| + p  =>  order p
        fails = bad[:, total == level].any(axis=1)
        result[fails] = level - op.derivative_order
    return np.maximum(result, 0.0)


def _operator(operator) -> Operator:
    if isinstance(operator, Operator):
        return operator
    for op in OPERATORS:
        if op.name == operator:
            return op
    raise InputError(f"operator={operator!r} is not one of {[op.name for op in OPERATORS]}")


def is_mean_zero(kernels, *, rtol: float = 0.05) -> np.ndarray:
    """``|Σ q| <= rtol · Σ |q|``: the paper's "mean-zero stencil" test, ``(K,)`` bool."""
    q = as_kernels(kernels)
    return np.abs(q.sum(axis=1)) <= rtol * np.abs(q).sum(axis=1)


def nearest_stencil(kernels, stencils: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The nearest stencil up to a **positive** scale factor.

    A positive factor keeps ``edge-left`` apart from ``edge-right``.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    stencils : mapping of name -> (3, 3) array, optional
        Default :data:`STENCIL_CATALOGUE`.

    Returns
    -------
    names : (K,) array of str
        ``"none"`` for an all-zero kernel.
    residual : (K,) array in [0, 1]
        ``min_{s >= 0} ‖q − s·r‖ / ‖q‖`` (1 for an all-zero kernel).
    """
    stencils = STENCIL_CATALOGUE if stencils is None else stencils
    q = as_kernels(kernels)
    names = np.array(list(stencils))
    R = np.stack([np.asarray(v, dtype=np.float64).ravel() for v in stencils.values()])
    R = R / np.linalg.norm(R, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (q @ R.T) / np.linalg.norm(q, axis=1, keepdims=True)
    cos = np.nan_to_num(cos, nan=0.0)
    best = cos.argmax(axis=1)
    c = np.clip(cos[np.arange(len(q)), best], 0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = q / np.linalg.norm(q, axis=1, keepdims=True)
    # the difference itself, not sqrt(1 - cos²), which loses half the digits near a match
    res = np.linalg.norm(np.nan_to_num(unit) - c[:, None] * R[best], axis=1)
    zero = ~np.isfinite(unit).all(axis=1)
    res[zero] = 1.0
    out = names[best].astype(object)
    out[zero] = "none"
    return out.astype(str), np.clip(res, 0.0, 1.0)


@dataclass(frozen=True)
class Identification:
    """What each kernel looks like, from :func:`identify_kernels`.

    Attributes
    ----------
    moments : (K, 3, 3) array
        Moment matrices ``M[i, j] = m_ij``.
    operator : (K,) array of str
        Nearest operator (``"zero"`` for an all-zero kernel).
    scale : (K,) array
        Coefficient of the operator's leading term.
    residual : (K,) array in [0, 1]
        Residual against that operator.
    order : (K,) array
        Order of accuracy (0 = inconsistent, ``inf`` = exact to order 8).
    mean_zero : (K,) bool array
    nearest : (K,) array of str
        Nearest catalogue stencil up to a positive scale.
    nearest_residual : (K,) array in [0, 1]
    residuals : (K, n_ops) array
        Residual against every operator of ``operators``.
    operators : tuple of str
        Column names of ``residuals``.
    """

    moments: np.ndarray
    operator: np.ndarray
    scale: np.ndarray
    residual: np.ndarray
    order: np.ndarray
    mean_zero: np.ndarray
    nearest: np.ndarray
    nearest_residual: np.ndarray
    residuals: np.ndarray
    operators: tuple[str, ...]


def identify_kernels(
    kernels,
    *,
    operators=OPERATORS,
    stencils: Mapping[str, np.ndarray] | None = None,
    rtol: float = 0.05,
    tie: float = 1e-9,
) -> Identification:
    """Moments, nearest operator, order of accuracy, mean-zero test and nearest stencil.

    Parameters
    ----------
    kernels : (K, 9) or (K, 3, 3) array
    operators : sequence of Operator, optional
        Default :data:`OPERATORS`, simplest first.
    stencils : mapping, optional
        Catalogue for the nearest stencil; default :data:`STENCIL_CATALOGUE`.
    rtol : float, optional
        Tolerance of the order of accuracy and of the mean-zero test. Default 0.05.
    tie : float, optional
        Residuals within ``tie`` of the best count as equal (the simpler wins).

    Returns
    -------
    Identification

    Examples
    --------
    >>> from lsn_explorer.levelset.stencils import XP, REFERENCE_KERNELS
    >>> ident = identify_kernels([XP, -3.0 * REFERENCE_KERNELS["gaussian"]])
    >>> ident.operator.tolist(), ident.order.tolist()
    (['dx', 'smoothing'], [1.0, 2.0])
    """
    q = as_kernels(kernels)
    ops = tuple(operators)
    res, scale = operator_residuals(q, operators=ops)
    zero = ~np.isfinite(res).all(axis=1)
    filled = np.where(np.isfinite(res), res, 2.0)
    choice = (filled <= filled.min(axis=1, keepdims=True) + tie).argmax(axis=1)
    rows = np.arange(len(q))
    order = np.zeros(len(q))
    for n, op in enumerate(ops):
        sel = (choice == n) & ~zero
        if sel.any():
            order[sel] = order_of_accuracy(q[sel], op, scale[sel, n], rtol=rtol)
    names = np.array([op.name for op in ops], dtype=object)[choice]
    names[zero] = "zero"
    nearest, near_res = nearest_stencil(q, stencils)
    return Identification(
        moments=moment_matrix(q),
        operator=names.astype(str),
        scale=np.where(zero, 0.0, scale[rows, choice]),
        residual=np.where(zero, 1.0, res[rows, choice]),
        order=order,
        mean_zero=is_mean_zero(q, rtol=rtol),
        nearest=nearest,
        nearest_residual=near_res,
        residuals=res,
        operators=tuple(op.name for op in ops),
    )
