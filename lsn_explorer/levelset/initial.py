"""Initial level sets ``u0`` (positive inside).

Each function takes ``shape`` as ``(H, W)`` (returns ``(H, W)``) or
``(N, 1, H, W)`` (returns ``(N, 1, H, W)``), and returns float32 unless told
otherwise. Coordinates are ``(row, col)`` in pixels, row pointing down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy import ndimage

from ..errors import InputError
from .operators import central_gradient, front_band

__all__ = ["bubbles", "bubble_centers", "bubble_level_set", "signed_distance", "random_uniform", "authors_disc",
           "border_contour", "reinitialise"]


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2 or (len(shape) == 4 and shape[1] == 1):
        if min(shape) > 0:
            return shape
    raise InputError(f"shape={shape}; expected (H, W) or (N, 1, H, W) with positive sizes")


def _grid(shape: tuple[int, ...], device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    h, w = shape[-2:]
    rows = torch.arange(h, device=device, dtype=torch.float64)[:, None]
    cols = torch.arange(w, device=device, dtype=torch.float64)[None, :]
    return rows, cols


def bubbles(
    shape: Sequence[int],
    centers: Sequence[Sequence[float]] | Sequence[Sequence[Sequence[float]]],
    radius: float | Sequence[float] = 5.0,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Discs ("bubbles", as placed in ITK-SNAP) as a signed distance.

    Parameters
    ----------
    shape : (H, W) or (N, 1, H, W)
    centers : sequence of (row, col), or N such sequences
        Bubble centres; one list for every image, or one list per image.
    radius : float or sequence of float
        Radius in pixels, one for all bubbles or one per bubble. Default 5.
    device, dtype
        Of the result. Default CPU, float32.

    Returns
    -------
    u0 : (H, W) or (N, 1, H, W) Tensor
        ``max_k (r_k - |x - c_k|)``: the exact signed distance outside the
        union of discs, positive inside.

    Examples
    --------
    >>> u = bubbles((9, 9), [(4, 4)], radius=2.5)
    >>> int((u > 0).sum())
    21
    """
    shape = _check_shape(shape)
    n = shape[0] if len(shape) == 4 else 1
    per_image = _centers_per_image(centers, n)
    rows, cols = _grid(shape, device, dtype)
    out = []
    for cs in per_image:
        radii = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(cs),))
        if len(cs) == 0:
            raise InputError("centers is empty; expected at least one (row, col) per image")
        u = torch.stack([r - torch.sqrt((rows - c[0]) ** 2 + (cols - c[1]) ** 2) for c, r in zip(cs, radii)]).amax(0)
        out.append(u)
    u = torch.stack(out)[:, None].to(dtype)
    return u if len(shape) == 4 else u[0, 0]


def _centers_per_image(centers, n: int) -> list[list[tuple[float, float]]]:
    arr = [np.asarray(c, dtype=np.float64) for c in centers] if len(centers) else []
    if arr and all(a.ndim == 1 and a.shape == (2,) for a in arr):
        return [[tuple(a) for a in arr]] * n
    if len(arr) == n and all(a.ndim == 2 and a.shape[1] == 2 for a in arr):
        return [[tuple(p) for p in a] for a in arr]
    raise InputError(
        f"centers has {len(arr)} entries; expected a sequence of (row, col) pairs, or {n} such sequences (one per image)"
    )


def signed_distance(mask) -> torch.Tensor:
    """Signed Euclidean distance of a mask, positive inside.

    Parameters
    ----------
    mask : (H, W) or (N, 1, H, W) array or Tensor
        Nonzero inside.

    Returns
    -------
    u : Tensor, same shape, float32, on the mask's device
        Inside: distance to the nearest outside pixel centre minus ½; outside:
        minus (distance to the nearest inside pixel centre minus ½). The zero
        level lies half-way between boundary pixels. An empty mask gives
        ``-(H + W)``, a full one ``+(H + W)``.

    Notes
    -----
    Computed on the CPU with ``scipy.ndimage.distance_transform_edt``.
    """
    t = torch.as_tensor(mask)
    if t.ndim not in (2, 4) or (t.ndim == 4 and t.shape[1] != 1):
        raise InputError(f"mask has shape {tuple(t.shape)}; expected (H, W) or (N, 1, H, W)")
    m = t.detach().cpu().numpy().astype(bool).reshape(-1, *t.shape[-2:])
    far = float(sum(t.shape[-2:]))
    out = np.empty(m.shape, dtype=np.float32)
    for i, mi in enumerate(m):
        if mi.all() or not mi.any():
            out[i] = far if mi.all() else -far
        else:
            out[i] = np.where(mi, ndimage.distance_transform_edt(mi) - 0.5, 0.5 - ndimage.distance_transform_edt(~mi))
    return torch.from_numpy(out.reshape(t.shape)).to(t.device)


def random_uniform(
    shape: Sequence[int],
    *,
    seed: int,
    low: float = 0.0,
    high: float = 1.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Independent U[low, high) values per pixel, the paper's initial condition.

    The same ``seed`` gives the same values in any process (a CPU
    ``torch.Generator``; the result is then moved to ``device``). With the
    default ``[0, 1)`` every pixel starts inside.

    Examples
    --------
    >>> bool((random_uniform((4, 4), seed=0) == random_uniform((4, 4), seed=0)).all())
    True
    """
    shape = _check_shape(shape)
    gen = torch.Generator().manual_seed(int(seed))
    u = low + (high - low) * torch.rand(shape, generator=gen, dtype=torch.float64)
    return u.to(device=device, dtype=dtype)


def authors_disc(
    shape: Sequence[int] = (256, 256),
    *,
    radius: float = 10.0,
    center: tuple[float, float] | None = None,
    indicator: bool = False,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The authors' ``--circleinit`` disc: radius 10 at row ⌊0.67 H⌋, col ⌊0.25 W⌋.

    Parameters
    ----------
    shape : (H, W) or (N, 1, H, W)
    radius : float
        Default 10 (the authors' ``--circlerad``).
    center : (row, col), optional
        Default ``(floor(0.67 H), floor(0.25 W))`` = (171, 64) at 256².
    indicator : bool
        ``True``: 1 inside, 0 outside, as the authors; ``False`` (default):
        the signed distance ``r - |x - c|``.

    Returns
    -------
    u0 : (H, W) or (N, 1, H, W) Tensor
    """
    shape = _check_shape(shape)
    h, w = shape[-2:]
    c = (int(0.67 * h), int(0.25 * w)) if center is None else center
    u = bubbles(shape, [c], radius, device=device, dtype=dtype)
    return (u >= 0).to(dtype) if indicator else u


def border_contour(
    shape: Sequence[int],
    *,
    margin: float = 0.5,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A contour ``margin`` pixels inside the image border, as a signed distance (positive inside).

    Everything but a thin frame starts inside, so a front that shrinks from here
    reaches every point of the image: whatever lies inside the body is on its way.

    Parameters
    ----------
    shape : (H, W) or (N, 1, H, W)
    margin : float
        Distance of the contour from the outermost pixel centres. Default 0.5:
        the one-pixel frame of the image starts outside, everything else inside.

    Returns
    -------
    u0 : (H, W) or (N, 1, H, W) Tensor
        ``min(row, col, H-1-row, W-1-col) - margin``: the exact distance to the
        contour inside it, the distance to the nearest border line outside.

    Examples
    --------
    >>> u = border_contour((6, 6))
    >>> int((u > 0).sum())
    16
    """
    shape = _check_shape(shape)
    rows, cols = _grid(shape, device, dtype)
    h, w = shape[-2:]
    d = torch.minimum(torch.minimum(rows, h - 1 - rows), torch.minimum(cols, w - 1 - cols)) - float(margin)
    return d.to(dtype).expand(shape).clone() if len(shape) == 4 else d.to(dtype)


def bubble_centers(mask: np.ndarray, *, min_area: int = 10, max_radius: float = 8.0) -> list[tuple[float, float, float]]:
    """Where a user would place bubbles: the deepest point of every region of ``mask``.

    Parameters
    ----------
    mask : (H, W) array
        The label of one slice (non-zero inside).
    min_area : int
        Regions smaller than this many pixels get no bubble. Default 10.
    max_radius : float
        Largest bubble radius in pixels. Default 8.

    Returns
    -------
    list of (row, col, radius)
        One bubble per region, radius = half the region's depth there (≥ 1).
    """
    regions, count = ndimage.label(np.asarray(mask) > 0)
    depth = ndimage.distance_transform_edt(regions > 0)
    centers = []
    for region in range(1, count + 1):
        inside = regions == region
        if inside.sum() < min_area:
            continue
        flat = np.argmax(np.where(inside, depth, -1.0))
        row, col = np.unravel_index(flat, mask.shape)
        centers.append((float(row), float(col), float(np.clip(depth[row, col] / 2, 1.0, max_radius))))
    return centers


def bubble_level_set(masks: torch.Tensor, **options) -> tuple[torch.Tensor, torch.Tensor]:
    """Bubble initial conditions for a stack of slices.

    Parameters
    ----------
    masks : (N, 1, H, W) Tensor
        Labels the bubbles are placed in (see :func:`bubble_centers`).
    **options
        Passed to :func:`bubble_centers`.

    Returns
    -------
    u0 : (N, 1, H, W) float32 Tensor
        Signed distance to the bubbles (positive inside); ``-1`` on slices with no bubble.
    seeded : (N,) bool Tensor
        Which slices received at least one bubble.
    """
    n, _, h, w = masks.shape
    u0 = torch.full((n, 1, h, w), -1.0)
    seeded = torch.zeros(n, dtype=torch.bool)
    for i, mask in enumerate(masks[:, 0].cpu().numpy()):
        found = bubble_centers(mask, **options)
        if found:
            centers = [(r, c) for r, c, _ in found]
            u0[i, 0] = bubbles((h, w), centers, radius=[radius for _, _, radius in found])
            seeded[i] = True
    return u0, seeded


def reinitialise(u: torch.Tensor) -> torch.Tensor:
    """Re-initialise ``u`` to a signed distance with the same zero level.

    Far from the front the result is the exact Euclidean signed distance of
    the mask ``u > 0`` (computed on the CPU with SciPy, see
    :func:`~lsn_explorer.levelset.initial.signed_distance`). On the front band
    (:func:`front_band`) it is the sub-pixel estimate ``u / |∇u|``, so the
    zero level does not snap to pixel edges.

    Parameters
    ----------
    u : (N, 1, H, W) Tensor

    Returns
    -------
    u : (N, 1, H, W) Tensor, same dtype and device (no gradient)
    """
    with torch.no_grad():
        sd = signed_distance(u > 0).to(dtype=u.dtype, device=u.device)
        ux, uy = central_gradient(u)
        local = u / torch.sqrt(ux**2 + uy**2).clamp_min(1e-3)
        return torch.where(front_band(u), local.clamp(-1.0, 1.0), sd)
