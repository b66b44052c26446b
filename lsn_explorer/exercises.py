"""Self-checking exercises for ``notebooks/06_exercises.ipynb``.

Each ``check_*`` function runs a learner's function or answer against the
library's own solution on small inputs. A right answer prints one line that
starts with ``✓``; a wrong one raises ``AssertionError`` whose message says
what is wrong and gives a hint. The solutions are the library itself
(:func:`~lsn_explorer.levelset.step.gac_step`,
:func:`~lsn_explorer.kernels.identify_kernels`,
:func:`~lsn_explorer.levelset.solver.evolve`); nothing here is a second copy.

=====================================  =============================================
exercise                               check
=====================================  =============================================
1. the upwind transport step           :func:`check_upwind_step`
2. name a kernel by its moments        :func:`mystery_kernels`, :func:`check_kernel_identification`
3. tune α, β, γ on a phantom slice     :func:`tuning_problem`, :func:`check_tuned_parameters`
=====================================  =============================================
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from .kernels import OPERATORS, identify_kernels, moment_matrix
from .levelset.stencils import REFERENCE_KERNELS
from .levelset.edges import edge_function
from .levelset.initial import bubbles
from .levelset.operators import central_gradient
from .levelset.solver import evolve
from .levelset.step import gac_step
from .metrics import dice_score

__all__ = [
    "check_upwind_step",
    "mystery_kernels",
    "check_kernel_identification",
    "TuningProblem",
    "tuning_problem",
    "run_tuned_parameters",
    "check_tuned_parameters",
    "TUNING_TARGET",
]

#: Dice against the label that exercise 3 asks for.
TUNING_TARGET = 0.85


# --------------------------------------------------------------------------- exercise 1


def _upwind_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]]:
    """Small (u, vx, vy, dt) cases: a steep disc and smooth random fields, velocities of both signs."""
    gen = torch.Generator().manual_seed(0)
    rows, cols = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    disc = (4.0 - torch.sqrt((rows - 5.5) ** 2 + (cols - 6.0) ** 2)).clamp(-2, 2)[None, None].double()
    cases = [(disc, torch.full_like(disc, 0.7), torch.full_like(disc, -0.4), 0.5)]
    for _ in range(3):
        u = torch.randn(1, 1, 12, 12, generator=gen, dtype=torch.float64)
        vx, vy = torch.randn(2, 1, 1, 12, 12, generator=gen, dtype=torch.float64)
        cases.append((u, vx, vy, 0.3))
    return cases


def _reference_upwind_step(u, vx, vy, dt):
    # the solver's own step with only the advection term: u + dt·(upwind v·∇u)
    return gac_step(u, torch.ones_like(u), alpha=0.0, beta=0.0, gamma=1.0, dt=dt, grad_g=(vx, vy))


def _interior(t: torch.Tensor) -> torch.Tensor:
    return t[..., 1:-1, 1:-1]


def check_upwind_step(fn: Callable) -> None:
    """Check a learner's upwind transport step ``fn(u, vx, vy, dt) -> u_next``.

    The step must return ``u + dt · (max(vx, 0)·D⁺x u − max(−vx, 0)·D⁻x u +
    max(vy, 0)·D⁺y u − max(−vy, 0)·D⁻y u)`` with replicate padding, which is
    what :func:`~lsn_explorer.levelset.step.gac_step` computes for
    ``alpha=0, beta=0, gamma=1`` and ``grad_g=(vx, vy)``.

    Parameters
    ----------
    fn : callable
        ``fn(u, vx, vy, dt)`` with ``(1, 1, H, W)`` float64 tensors and a float.

    Raises
    ------
    AssertionError
        With a hint: still a blank, wrong shape, downwind differences, centred
        differences, a sign error, or only the border wrong.
    """
    for k, (u, vx, vy, dt) in enumerate(_upwind_cases()):
        try:
            got = fn(u.clone(), vx.clone(), vy.clone(), dt)
        except NotImplementedError:
            raise AssertionError(
                "your step still raises NotImplementedError: replace the `raise` line with the upwind update"
            ) from None
        want = _reference_upwind_step(u, vx, vy, dt)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            found = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise AssertionError(f"case {k}: the step returned {found}; expected a tensor of shape {tuple(want.shape)}")
        got = got.to(want.dtype)
        if torch.allclose(got, want, atol=1e-6):
            continue
        _raise_upwind_hint(k, got, u, vx, vy, dt, want)
    print("✓ upwind step: matches the solver's advection step on 4 test fields (both signs of v)")


def _raise_upwind_hint(k, got, u, vx, vy, dt, want) -> None:
    d = torch.nn.functional.pad(u, (1, 1, 1, 1), mode="replicate")
    dxp = d[..., 1:-1, 2:] - u
    dxn = u - d[..., 1:-1, :-2]
    dyp = d[..., 2:, 1:-1] - u
    dyn = u - d[..., :-2, 1:-1]
    relu = torch.relu
    downwind = u + dt * (relu(vx) * dxn - relu(-vx) * dxp + relu(vy) * dyn - relu(-vy) * dyp)
    ux, uy = central_gradient(u)
    centred = u + dt * (vx * ux + vy * uy)
    flipped = u - dt * (want - u) / dt
    err = float((got - want).abs().max())
    if torch.allclose(got, downwind, atol=1e-6):
        hint = ("this is the DOWNWIND step: where vx > 0 the upwind scheme uses D⁺x (relu(vx)·D⁺x u) and where "
                "vx < 0 it uses D⁻x (−relu(−vx)·D⁻x u); you swapped D⁺ and D⁻")
    elif torch.allclose(got, centred, atol=1e-6):
        hint = "this is the CENTRED step v·(Dx u, Dy u): split each velocity into relu(v) and −relu(−v) parts"
    elif torch.allclose(got, flipped, atol=1e-6):
        hint = "the update has the wrong sign: u_next = u + dt·(...), with the ReLU terms as in Table 1"
    elif torch.allclose(_interior(got), _interior(want), atol=1e-6):
        hint = ("the interior is right but the border is not: pad u by replicating its edge "
                "(apply_stencils does), so differences pointing out of the image are zero")
    else:
        hint = ("compare term by term with  u + dt·(relu(vx)·D⁺x u − relu(−vx)·D⁻x u + relu(vy)·D⁺y u − "
                "relu(−vy)·D⁻y u);  y is the row index, pointing down")
    raise AssertionError(f"case {k}: largest difference from the solver's step is {err:.3g}. Hint: {hint}")


# --------------------------------------------------------------------------- exercise 2


def mystery_kernels() -> dict[str, np.ndarray]:
    """Three 3x3 kernels to name, ``{"A": (3, 3), "B": ..., "C": ...}``, the same in every call.

    Each is a scaled catalogue stencil with a little noise, the way a learned
    kernel looks next to the stencil it approximates.
    """
    rng = np.random.default_rng(2020)
    base = {
        "A": -2.5 * REFERENCE_KERNELS["edge-down"],
        "B": 0.3 * (REFERENCE_KERNELS["laplacian2"] * 16 / 8),
        "C": 4.0 * REFERENCE_KERNELS["gaussian"],
    }
    return {k: v + 0.02 * np.abs(v).max() * rng.standard_normal((3, 3)) for k, v in base.items()}


def _identified(kernels: Mapping[str, np.ndarray]) -> dict[str, str]:
    names = sorted(kernels)
    ident = identify_kernels(np.stack([kernels[n] for n in names]))
    return dict(zip(names, ident.operator.tolist()))


def check_kernel_identification(answer: Mapping[str, str | None], kernels: Mapping[str, np.ndarray] | None = None) -> None:
    """Check operator names given for :func:`mystery_kernels`.

    Parameters
    ----------
    answer : dict of str -> str
        ``{"A": "dx", ...}``; names from :data:`lsn_explorer.kernels.OPERATORS`
        (``identity, dxx, dyy, dxy, laplacian, dx, dy, smoothing, sharpening``).
    kernels : dict, optional
        The kernels named; default :func:`mystery_kernels`.

    Raises
    ------
    AssertionError
        For a missing, unknown or wrong name, with the kernel's low moments as a hint.
    """
    kernels = mystery_kernels() if kernels is None else kernels
    truth = _identified(kernels)
    allowed = [op.name for op in OPERATORS]
    if not isinstance(answer, Mapping):
        raise AssertionError(f"answer is a {type(answer).__name__}; expected a dict like {{'A': 'dx', ...}}")
    for name in sorted(kernels):
        given = answer.get(name)
        if given is None:
            raise AssertionError(f"kernel {name}: no answer yet (replace None with one of {allowed})")
        if given in REFERENCE_KERNELS:
            raise AssertionError(f"kernel {name}: {given!r} is a stencil's name; give the operator it approximates, "
                                 f"one of {allowed}")
        if given not in allowed:
            raise AssertionError(f"kernel {name}: {given!r} is not one of {allowed}")
        if given != truth[name]:
            raise AssertionError(f"kernel {name}: not {given!r}. Hint: {_moment_hint(kernels[name], given)}")
    print("✓ kernels: " + ", ".join(f"{n} = {truth[n]}" for n in sorted(kernels)) + " (identify_kernels agrees)")


def _moment_hint(kernel: np.ndarray, given: str) -> str:
    m = moment_matrix(np.asarray(kernel)[None])[0]  # m[i, j]: i = x order, j = y order
    text = (f"its moments are m00 = {m[0, 0]:.2f} (sum), m10 = {m[1, 0]:.2f}, m01 = {m[0, 1]:.2f} (first), "
            f"m20 = {m[2, 0]:.2f}, m02 = {m[0, 2]:.2f}, m11 = {m[1, 1]:.2f} (second)")
    if given in ("dx", "dy"):
        text += "; a first derivative has m00 ≈ 0 and one large first moment (x = column, y = row pointing down)"
    elif given in ("laplacian", "dxx", "dyy", "dxy"):
        text += "; a second derivative has m00 ≈ 0 and no first moment"
    else:
        text += "; identity, smoothing and sharpening have m00 ≠ 0 and differ in the sign of m20 = m02"
    return text


# --------------------------------------------------------------------------- exercise 3


@dataclass(frozen=True)
class TuningProblem:
    """The slice of exercise 3.

    Attributes
    ----------
    image : (H, W) float32 ndarray
        Phantom CT slice, HU window [-100, 400] mapped to [-1, 1].
    mask : (H, W) bool ndarray
        The liver label.
    u0 : (H, W) float32 Tensor
        One bubble at the deepest point of the liver (signed distance).
    bubble : (row, col, radius)
    """

    image: np.ndarray
    mask: np.ndarray
    u0: torch.Tensor
    bubble: tuple[float, float, float]


@functools.lru_cache(maxsize=1)
def tuning_problem() -> TuningProblem:
    """Phantom volume 0 at 128², the slice with most liver, one bubble inside it (about 2 s, then cached)."""
    from .data.phantom import widest_liver_slice
    from .levelset.initial import bubble_centers

    image, mask = widest_liver_slice(0, seed=0, size=128, num_slices=8)
    row, col, radius = bubble_centers(mask)[0]
    u0 = bubbles(mask.shape, [(row, col)], radius=radius)
    return TuningProblem(image=image, mask=mask, u0=u0, bubble=(row, col, radius))


_TUNING_KEYS = ("alpha", "beta", "gamma", "num_iter")


def run_tuned_parameters(params: Mapping[str, float]) -> tuple[float, torch.Tensor]:
    """Evolve the bubble of :func:`tuning_problem` with ``params``; return (Dice, final u).

    ``params`` holds ``alpha, beta, gamma, num_iter`` and optionally ``kappa``
    and ``lam`` of the ITK-SNAP edge function (defaults 0.04 and 3).
    """
    p = tuning_problem()
    g = edge_function(torch.from_numpy(p.image), kappa=float(params.get("kappa", 0.04)), lam=float(params.get("lam", 3.0)))
    u = evolve(p.u0[None, None], g[None, None], num_iter=int(params["num_iter"]), alpha=float(params["alpha"]),
               beta=float(params["beta"]), gamma=float(params["gamma"]), dt="auto")
    return dice_score((u[0, 0] > 0).numpy(), p.mask), u[0, 0]


def check_tuned_parameters(params: Mapping[str, float | None], *, target: float = TUNING_TARGET) -> float:
    """Check that ``params`` segment the liver of :func:`tuning_problem` with Dice ≥ ``target``.

    Parameters
    ----------
    params : dict
        ``{"alpha": ..., "beta": ..., "gamma": ..., "num_iter": ...}`` (Eq. 1
        names), optionally ``kappa`` and ``lam``. ``num_iter`` at most 1000.
    target : float, optional
        Default :data:`TUNING_TARGET`.

    Returns
    -------
    float
        The Dice reached.

    Raises
    ------
    AssertionError
        Missing values, or a Dice below ``target`` (with a hint: leaking or stuck).
    """
    if not isinstance(params, Mapping):
        raise AssertionError(f"params is a {type(params).__name__}; expected a dict with keys {list(_TUNING_KEYS)}")
    missing = [k for k in _TUNING_KEYS if params.get(k) is None]
    if missing:
        raise AssertionError(f"no value yet for {missing}: replace each None with a number")
    if not 1 <= int(params["num_iter"]) <= 1000:
        raise AssertionError(f"num_iter={params['num_iter']}; use 1 to 1000 iterations")
    dice, u = run_tuned_parameters(params)
    mask = tuning_problem().mask
    area, true_area = int((u > 0).sum()), int(mask.sum())
    if dice < target:
        if area > 1.15 * true_area:
            hint = (f"the front LEAKS: {area} pixels inside against {true_area} in the label. Slow the balloon "
                    "(smaller alpha), pull the front onto edges (larger gamma) or smooth it (larger beta)")
        elif area < 0.85 * true_area:
            hint = (f"the front stops SHORT: {area} pixels inside against {true_area} in the label. More "
                    "iterations, a stronger balloon (alpha) or less curvature (beta)")
        else:
            hint = "the area is about right but the shape is off: try a larger gamma to lock onto the liver's edge"
        raise AssertionError(f"Dice {dice:.3f} < {target}. Hint: {hint}")
    print(f"✓ tuned parameters: Dice {dice:.3f} ≥ {target} on the phantom slice")
    return dice
