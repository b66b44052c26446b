"""The solver's backends by name, what each can do, and what ``evolve(backend="auto")`` picks.

=================  ==========================================================  =========  ========
name               what it runs                                                gradients  devices
=================  ==========================================================  =========  ========
``reference``      :func:`~lsn_explorer.levelset.step.gac_step`: convolutions  yes        any
                   and ReLUs, both schemes, learned curvature stencils
``fused``          :func:`~lsn_explorer.levelset.fast.fused_gac_step`: the     no         any
                   same numbers from slices of one padded tensor
``compiled``       ``torch.compile`` of ``fused`` (a one-off compilation of    no         any
                   5-30 s per shape)
``band``           :class:`~lsn_explorer.levelset.band.BandStep`: a numba      no         CPU
                   loop over the tiles that can still change
``sparse``         :class:`~lsn_explorer.levelset.sparse.SparseField`: a      no         CPU
                   sparse field, a narrow band kept a distance function
=================  ==========================================================  =========  ========

All take speeds as numbers, per-image values or per-pixel maps
(:mod:`~lsn_explorer.levelset.speeds`), and all but ``sparse`` give the reference's
numbers (tested to 1e-5). ``"auto"`` takes the reference when gradients, the central
scheme or learned stencils need it; otherwise ``sparse`` on the CPU when numba imports
(its work follows the front, so long runs on large images cost what the front's length
costs) and ``fused`` on a GPU. Ask for ``band`` or ``reference`` by name where the dense
solution itself is the point: ``u`` away from the front, or the numbers of the network
the solver unrolls into.

A backend is built into a *stepper*: ``stepper(u, frozen) -> (u_next, rms)``, one
step of every image not ``frozen`` and, when asked for, each image's RMS change on
its front band (see :func:`front_rms`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import InputError
from .operators import front_band

__all__ = ["Backend", "BACKENDS", "AUTO_ORDER", "StepProblem", "choose_backend", "chunk_size", "front_rms"]


@dataclass(frozen=True)
class StepProblem:
    """What a stepper is built from: checked fields of one batch (see ``evolve``).

    Attributes
    ----------
    u0 : (N, 1, H, W) Tensor
    g : (N | 1, 1, H, W) Tensor
    grad_g : pair of (N | 1, 1, H, W) Tensor, or None until ``evolve`` computes it
    alpha, beta, gamma, dt : float or Tensor
        As :func:`~lsn_explorer.levelset.speeds.as_field` returns them (``dt`` may
        be ``"auto"`` until ``evolve`` resolves it).
    scheme : str
    curvature_kernels : (4, 1, 3, 3) Tensor or None
    clamp : float or None
    tile : int
    rms : bool
        Whether the stepper must measure the RMS change.
    """

    u0: torch.Tensor
    g: torch.Tensor
    grad_g: tuple[torch.Tensor, torch.Tensor] | None
    alpha: object
    beta: object
    gamma: object
    dt: object
    scheme: str
    curvature_kernels: torch.Tensor | None
    clamp: float | None
    tile: int
    rms: bool

    def needs_gradients(self) -> bool:
        """Whether a speed, ``g`` or ``u0`` carries autograd history."""
        values = (self.u0, self.g, self.alpha, self.beta, self.gamma, self.dt, *(self.grad_g or ()))
        return torch.is_grad_enabled() and any(isinstance(v, torch.Tensor) and v.requires_grad for v in values)

    def fields(self):
        """``dt·F``, ``dt·v``, ``dt·B`` without gradients (:class:`~lsn_explorer.levelset.speeds.RateFields`)."""
        from .speeds import RateFields

        with torch.no_grad():
            return RateFields.of(self.g, self.grad_g, self.alpha, self.beta, self.gamma).scaled(self.dt)


@dataclass(frozen=True)
class Backend:
    """One way to run the steps of ``evolve``.

    Attributes
    ----------
    name : str
    build : callable
        ``build(problem) -> stepper``.
    gradients : bool
        Autograd flows through the steps; the central scheme and learned curvature
        stencils are supported.
    gpu : bool
        Runs on CUDA tensors.
    working_set : int
        Images of ``H x W`` one step touches per image of the batch, for
        :func:`chunk_size`.
    dtypes : tuple of torch.dtype or None
        The level-set dtypes it steps; None: any floating dtype.
    available : callable
        ``available() -> bool``: whether this process can run it.
    exact : bool
        Gives the reference's numbers (to 1e-5); False: its front follows the reference's
        closely (the sparse field resets u to a distance).
    """

    name: str
    build: Callable[[StepProblem], Callable]
    gradients: bool
    gpu: bool
    working_set: int
    dtypes: tuple[torch.dtype, ...] | None = None
    available: Callable[[], bool] = lambda: True
    exact: bool = True


def _reference(problem: StepProblem):
    from .step import gac_step

    p = problem
    return TorchStepper(lambda u: gac_step(u, p.g, alpha=p.alpha, beta=p.beta, gamma=p.gamma, dt=p.dt, grad_g=p.grad_g,
                                           curvature_kernels=p.curvature_kernels, scheme=p.scheme), p.clamp, p.rms)


def _fused(problem: StepProblem, compiled: bool = False):
    from .fast import compiled_gac_step, fused_gac_step

    fn = compiled_gac_step() if compiled else fused_gac_step
    fields = problem.fields()
    like = problem.u0
    parts = [torch.as_tensor(f, dtype=like.dtype, device=like.device)
             for f in (fields.speed, fields.vx, fields.vy, fields.curvature)]

    def step(u):
        with torch.no_grad():
            return fn(u, *parts)

    return TorchStepper(step, problem.clamp, problem.rms)


def _band(problem: StepProblem):
    from .band import BandStep

    return BandStep(problem.fields(), problem.u0, clamp=problem.clamp, rms=problem.rms, tile=problem.tile)


def _sparse(problem: StepProblem):
    from .sparse import SparseField

    return SparseField(problem.fields(), problem.u0, width=problem.clamp, rms=problem.rms)


@functools.cache
def _band_available() -> bool:
    from .band import numba_available

    return numba_available()


@functools.cache
def _compiler_available() -> bool:
    try:
        import torch._inductor  # noqa: F401
    except ImportError:
        return False
    return True


#: Every backend of ``evolve``, by name.
BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("reference", _reference, gradients=True, gpu=True, working_set=40),
        Backend("fused", _fused, gradients=False, gpu=True, working_set=24),
        Backend("compiled", functools.partial(_fused, compiled=True), gradients=False, gpu=True, working_set=8,
                available=_compiler_available),
        Backend("band", _band, gradients=False, gpu=False, working_set=6, dtypes=(torch.float32, torch.float64),
                available=_band_available),
        Backend("sparse", _sparse, gradients=False, gpu=False, working_set=10, dtypes=(torch.float32, torch.float64),
                available=_band_available, exact=False),
    )
}

#: What ``backend="auto"`` tries, in order, when no gradients, central scheme or learned stencils need the reference.
AUTO_ORDER = ("sparse", "fused")


def choose_backend(name: str, problem: StepProblem) -> Backend:
    """The backend ``name`` (or the one ``"auto"`` picks) for ``problem``, checked against what it can do.

    Raises
    ------
    InputError
        An unknown name, or a backend that cannot run the problem (the message says
        why and which backend can).
    """
    special = problem.scheme != "upwind" or problem.curvature_kernels is not None or problem.needs_gradients()
    if name == "auto":
        if special:
            return BACKENDS["reference"]
        return next(BACKENDS[n] for n in AUTO_ORDER if _why_not(BACKENDS[n], problem.u0, special) is None)
    if name not in BACKENDS:
        raise InputError(f"backend={name!r} is not one of {set(BACKENDS) | {'auto'}}")
    why = _why_not(BACKENDS[name], problem.u0, special)
    if why is not None:
        raise InputError(f"backend={name!r} {why}")
    return BACKENDS[name]


def _why_not(backend: Backend, u0: torch.Tensor, special: bool) -> str | None:
    """Why ``backend`` cannot run a problem (``special``: it needs gradients, the central scheme or learned stencils)."""
    if special and not backend.gradients:
        return "needs scheme='upwind', no curvature_kernels and speeds without gradients; use backend='reference' for learning"
    if u0.device.type != "cpu" and not backend.gpu:
        return f"runs on the CPU; u0 is on {u0.device}. Use backend='fused' or 'auto'"
    if backend.dtypes is not None and u0.dtype not in backend.dtypes:
        names = " or ".join(str(d).removeprefix("torch.") for d in backend.dtypes)
        return f"steps {names} level sets; u0 is {u0.dtype}"
    if not backend.available():
        return "cannot run here (numba, or torch's inductor, does not import); use backend='auto'"
    return None


def chunk_size(backend: Backend, u0: torch.Tensor) -> int:
    """How many images of ``u0`` to evolve together so that one step's working set fits the cache.

    On a GPU the whole batch. On the CPU as many images as the per-core L2 cache
    holds (at least one per thread): per-slice throughput then does not fall as the
    batch grows.
    """
    n, _, h, w = u0.shape
    if u0.device.type != "cpu":
        return n
    per_image = backend.working_set * h * w * u0.element_size()
    return max(1, min(n, max(torch.get_num_threads(), _l2_cache_bytes() // per_image)))


@functools.cache
def _l2_cache_bytes() -> int:
    """The per-core L2 cache in bytes (Linux sysfs), 1 MiB where it cannot be read."""
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            if (index / "level").read_text().strip() == "2":
                size = (index / "size").read_text().strip().upper()
                scale = {"K": 2**10, "M": 2**20}.get(size[-1], 1)
                return int(size.rstrip("KM")) * scale
        except (OSError, ValueError):
            continue
    return 2**20


class TorchStepper:
    """A ``u -> u_next`` tensor step as a stepper: clamp, front RMS and frozen images around it."""

    reuses_buffers = False

    def __init__(self, step: Callable[[torch.Tensor], torch.Tensor], clamp: float | None, rms: bool):
        self.step, self.clamp, self.rms = step, clamp, rms

    def __call__(self, u: torch.Tensor, frozen: torch.Tensor | None = None):
        new = self.step(u)
        if self.clamp is not None:
            new = new.clamp(-self.clamp, self.clamp)
        rms = front_rms(u, new) if self.rms else None
        if frozen is not None:
            new = torch.where(frozen[:, None, None, None], u, new)
        return new, rms


def front_rms(u: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """``(N,)`` RMS of ``new - u`` over each image's front band (:func:`front_band`); all pixels where it has none."""
    with torch.no_grad():
        band = front_band(u)
        band = torch.where(band.flatten(1).any(1)[:, None, None, None], band, torch.ones_like(band))
        sq = ((new - u) ** 2 * band).sum(dim=(1, 2, 3))
        return torch.sqrt(sq / band.sum(dim=(1, 2, 3)))
