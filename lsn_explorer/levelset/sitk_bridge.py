"""Run SimpleITK's geodesic active contour filter beside :func:`evolve` on the same input.

SimpleITK is a test dependency, imported only inside
:func:`compare_with_simpleitk`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..metrics import dice_score
from .edges import gaussian_gradient
from .solver import evolve

__all__ = ["compare_with_simpleitk", "Comparison", "run_simpleitk_gac", "SimpleITKMissingError"]


class SimpleITKMissingError(ImportError):
    """SimpleITK is not installed (``pip install SimpleITK``, or the ``test`` extra)."""


@dataclass(frozen=True)
class Comparison:
    """Both segmentations of one slice and how they agree.

    Attributes
    ----------
    ours, simpleitk : (H, W) bool ndarray
        ``u > 0`` from :func:`evolve` and ``φ < 0`` from SimpleITK.
    ours_iterations, simpleitk_iterations : int
        Steps each solver ran before its RMS rule stopped it (or the cap).
    ours_converged, simpleitk_converged : bool
        Whether each stopped on its RMS rule rather than on ``num_iter``.
    dice : float
        ``2|A∩B| / (|A|+|B|)`` (1.0 when both are empty).
    ours_seconds, simpleitk_seconds : float
        Wall-clock time of each solver.
    ours_level_set, simpleitk_level_set : (H, W) float32 ndarray
        Final level sets, both positive inside (SimpleITK's sign flipped).
    """

    ours: np.ndarray
    simpleitk: np.ndarray
    ours_iterations: int
    simpleitk_iterations: int
    ours_converged: bool
    simpleitk_converged: bool
    dice: float
    ours_seconds: float
    simpleitk_seconds: float
    ours_level_set: np.ndarray
    simpleitk_level_set: np.ndarray


def _import_sitk():
    try:
        import SimpleITK as sitk
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise SimpleITKMissingError(
            "compare_with_simpleitk needs SimpleITK, a test dependency: pip install SimpleITK "
            "(or pip install -e '.[test]')"
        ) from err
    return sitk


def _as_2d(name: str, x) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = np.squeeze(a) if a.ndim == 4 and a.shape[:2] == (1, 1) else a
    if a.ndim != 2:
        raise InputError(f"{name} has shape {np.shape(x)}; expected (H, W) or (1, 1, H, W)")
    return a.astype(np.float32)


def run_simpleitk_gac(
    g, u0, *, alpha: float, beta: float, gamma: float, num_iter: int = 1000, max_rms_change: float = 0.01,
    num_threads: int | None = None,
) -> tuple[np.ndarray, int, float]:
    """SimpleITK's ``GeodesicActiveContourLevelSetImageFilter`` in this library's convention.

    Parameters
    ----------
    g : (H, W) array or Tensor
        Feature (speed) image.
    u0 : (H, W) array or Tensor
        Initial level set, **positive inside**; passed to ITK as ``-u0``.
    alpha, beta, gamma : float
        ``PropagationScaling``, ``CurvatureScaling``, ``AdvectionScaling``.
    num_iter, max_rms_change
        ``NumberOfIterations`` and ``MaximumRMSError``.
    num_threads : int, optional
        ``SetNumberOfThreads``; default SimpleITK's global default.

    Returns
    -------
    u : (H, W) float32 ndarray
        Final level set, positive inside (``-φ``).
    iterations : int
        ``ElapsedIterations``.
    rms : float
        ``RMSChange`` of the last iteration.
    """
    sitk = _import_sitk()
    flt = sitk.GeodesicActiveContourLevelSetImageFilter()
    flt.SetPropagationScaling(float(alpha))
    flt.SetCurvatureScaling(float(beta))
    flt.SetAdvectionScaling(float(gamma))
    flt.SetNumberOfIterations(int(num_iter))
    flt.SetMaximumRMSError(float(max_rms_change))
    if num_threads is not None:
        flt.SetNumberOfThreads(int(num_threads))
    phi = flt.Execute(sitk.GetImageFromArray(-_as_2d("u0", u0)), sitk.GetImageFromArray(_as_2d("g", g)))
    return -sitk.GetArrayFromImage(phi).astype(np.float32), int(flt.GetElapsedIterations()), float(flt.GetRMSChange())


def compare_with_simpleitk(
    image,
    g,
    u0,
    *,
    alpha: float,
    beta: float,
    gamma: float,
    num_iter: int = 2000,
    chunk: int = 50,
    tolerance: float = 0.002,
    reinit_every: int | None = 10,
    dt: float | str = "auto",
    itk_advection: bool = True,
) -> Comparison:
    """Segment one slice with :func:`evolve` and with SimpleITK's GAC filter.

    Both get the same edge map ``g``, the same initial level set and the same
    α (``PropagationScaling``), β (``CurvatureScaling``) and γ
    (``AdvectionScaling``); SimpleITK gets ``-u0`` because its level set is
    negative inside. SimpleITK does not expose its time step, so equal
    physical time cannot be arranged: both run to convergence instead.

    Parameters
    ----------
    image : (H, W) array or Tensor
        The slice (checked for shape; both solvers see only ``g``).
    g : (H, W) array or Tensor
        Edge function of ``image``.
    u0 : (H, W) array or Tensor
        Initial level set, positive inside (e.g. :func:`~lsn_explorer.levelset.initial.bubbles`).
    alpha, beta, gamma : float
        Propagation, curvature, advection weights.
    num_iter : int
        Cap on iterations for each solver. Default 2000.
    chunk : int
        Convergence is checked every ``chunk`` iterations. Default 50.
    tolerance : float
        A solver has converged when its segmentation changed in fewer than
        ``tolerance`` × (its area) pixels over the last chunk. Default 0.002.
    reinit_every : int or None
        :func:`evolve`'s re-initialisation period (SimpleITK's sparse field
        keeps a signed distance near the front at every step). Default 10.
    dt : float or "auto"
        :func:`evolve`'s time step.
    itk_advection : bool
        ``True`` (default): give :func:`evolve` ITK's advection field, the
        derivative-of-Gaussian gradient of ``g`` with σ = 1 px
        (``DerivativeSigma``); ``False``: centred differences of ``g``.

    Returns
    -------
    Comparison

    Raises
    ------
    SimpleITKMissingError
        If SimpleITK is not installed (an ``ImportError``).
    InputError
        If the three arrays are not 2-D of one shape.

    Notes
    -----
    **Why not ITK's RMS rule.** On a GAC front held by an edge, the values of
    ITK's active layer keep moving back and forth by about 0.1 per iteration,
    so ``MaximumRMSError=0.01`` is never met even after the segmentation has
    stopped changing. The rule here looks at the segmentation itself. Each
    SimpleITK chunk restarts the filter from its previous output, which is
    what the sparse-field solver rebuilds its band from at every iteration.
    """
    img, gg, u = _as_2d("image", image), _as_2d("g", g), _as_2d("u0", u0)
    if not img.shape == gg.shape == u.shape:
        raise InputError(f"image {img.shape}, g {gg.shape} and u0 {u.shape} must have the same (H, W) shape")
    _import_sitk()
    g_t = torch.from_numpy(gg)[None, None]
    grad_g = gaussian_gradient(g_t, 1.0) if itk_advection else None

    def ours(v: np.ndarray, n: int) -> tuple[np.ndarray, int]:
        out = evolve(torch.from_numpy(v)[None, None], g_t, num_iter=n, alpha=alpha, beta=beta, gamma=gamma,
                     dt=dt, reinit_every=reinit_every, grad_g=grad_g)
        return out[0, 0].numpy(), n

    def theirs(v: np.ndarray, n: int) -> tuple[np.ndarray, int]:
        w, its, _ = run_simpleitk_gac(gg, v, alpha=alpha, beta=beta, gamma=gamma, num_iter=n, max_rms_change=0.0)
        return w, its

    t0 = time.perf_counter()
    a_u, a_its, a_conv = _until_stable(ours, u, num_iter, chunk, tolerance)
    t1 = time.perf_counter()
    b_u, b_its, b_conv = _until_stable(theirs, u, num_iter, chunk, tolerance)
    t2 = time.perf_counter()
    a, b = a_u > 0, b_u > 0
    return Comparison(
        ours=a, simpleitk=b, ours_iterations=a_its, simpleitk_iterations=b_its,
        ours_converged=a_conv, simpleitk_converged=b_conv,
        dice=dice_score(a, b),
        ours_seconds=t1 - t0, simpleitk_seconds=t2 - t1, ours_level_set=a_u, simpleitk_level_set=b_u,
    )


def _until_stable(run, u: np.ndarray, num_iter: int, chunk: int, tolerance: float) -> tuple[np.ndarray, int, bool]:
    done = 0
    while done < num_iter:
        n = min(chunk, num_iter - done)
        new, its = run(u, n)
        done += its
        changed = int(((new > 0) != (u > 0)).sum())
        u = new
        if its < n or changed <= tolerance * max(int((u > 0).sum()), 1):
            return u, done, True
    return u, done, False
