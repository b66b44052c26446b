r"""The Level Set Network (LSN): the geodesic-active-contour solver unrolled into a CNN.

Each layer is one time step of Eq. 1 of Actor et al. (2020) (the layers are
:class:`~lsn_explorer.models.unrolled.UnrolledLevelSet`'s),

.. math:: u_t = \gamma\, \nabla g \cdot \nabla u + g\,(\alpha + \beta\,\kappa(u))\,|\nabla u|,

computed by :func:`lsn_explorer.levelset.step.gac_step` (forward Euler, upwind
ReLU-of-convolution differences).  One set of weights is applied ``num_steps``
times (the time steps share weights).  As in the paper (§2.1), the stencils of
the curvature and of the edge detector become learnable 3x3 kernels, while the
convection (upwind) stencils stay fixed for stability.

Symbols
-------
``I``                 image ``(N, 1, H, W)`` (windowed to [-1, 1])
``g``                 edge function of ``I`` in (0, 1]
``u``                 level set, ``u > 0`` inside; ``u0`` its initial value
``α, β, γ``           propagation, curvature, advection weights (Eq. 1 names)
``Nt, dt``            number of layers (time steps) and time per layer
``κ_e, λ_e``          ITK-SNAP edge remapping ``g = 1 / (1 + (x/κ_e)^λ_e)``

Presets, against the paper and the authors' Keras code::

    setting           paper (§2.2)        code (liverlevelset/lsn.py)      "paper" preset here
    ----------------  ------------------  -------------------------------  ----------------------------
    Nt                5                   10 (--nt)                        5
    dt                1                   0.05                             1, split into CFL substeps
    u0                random uniform      ones (U[0,1) with --randinit)    U[0,1), fixed seed
    kernels init      "standard normal"   N(0, 0.05²) ('normal')           the stencils (XC, YC, ...)
    α, β, γ           not stated          fixed 0/1 by flags (identity     trainable, init 1, 0.2, 1
                                          network without flags)
    edge function     not stated          Sobel⁴, max over the batch       ITK-SNAP, max per image,
                                                                           learnable gradient kernels
    curvature         learned kernels     learned, summed to one scalar    learned (4, 1, 3, 3),
                                          per batch (bug)                  per pixel
    output            not stated          linear u                         logits s·u (s > 0 learned)

    "code" preset here: Nt = 10, dt = 0.05, u0 = ones, Sobel⁴ edges (per image), α = β = γ = 1.
    Both presets are available as ``LevelSetNetwork.from_preset("paper" | "code")``.

None of the authors' bugs are kept: the edge maximum is per image, the
curvature is a per-pixel field, and α, β, γ are non-zero by default (the
network is not the identity).

Stability at dt = 1
-------------------
The explicit step is stable only for ``dt`` below a CFL limit (about 0.3 for
α = 1, β = 0.2, γ = 1 and the centred stencils).  The paper's ``dt = 1`` is therefore
read as the time *per layer*: each layer advances ``u`` by ``dt`` in
``m = ceil(dt / dt_max)`` equal substeps (see "Substeps" in
:mod:`lsn_explorer.models.unrolled`), with ``cfl = 0.9`` by default; ``m``
depends on the weights only, never on the images of a batch, and grows with the
learned curvature kernels as they train.  ``substeps=1`` turns this off (one
Euler step of ``dt`` per layer, as the authors' code).

The network returns ``s·u_Nt`` with a learned scale ``s = exp(log_scale) > 0``
(init 1): the segmentation is ``u_Nt > 0`` as for the solver, and the Dice-L2
loss applies the sigmoid to these logits.

References
----------
.. [1] J. Actor, D. T. Fuentes, B. Rivière, "Identification of kernels in a
   convolutional neural network: connections between level set equation and
   deep learning for image segmentation", Proc. SPIE 11313 (2020),
   doi:10.1117/12.2548871.
.. [2] V. Caselles, R. Kimmel, G. Sapiro, "Geodesic active contours",
   IJCV 22 (1997), doi:10.1023/A:1007979827043.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InputError
from ..levelset.edges import SOBEL4_KAPPA, itksnap_remap, relative_edge_strength
from ..levelset.stencils import SOBEL_X, SOBEL_Y, XC, YC, as_weight
from .registry import Recipe
from .unrolled import INITS, UnrolledLevelSet

__all__ = ["LevelSetNetwork", "LSN_PRESETS", "INITS", "EDGES"]

#: Edge detectors: ITK-SNAP's (blur σ, centred gradient, κ = 0.04, λ = 3) or the authors' Sobel⁴.
EDGES = ("itksnap", "sobel4")
#: Constructor arguments of the two presets tabled in the module docstring.
LSN_PRESETS = {
    "paper": dict(num_steps=5, dt=1.0, init="uniform", edge="itksnap"),
    "code": dict(num_steps=10, dt=0.05, init="ones", edge="sobel4", alpha=1.0, beta=1.0, gamma=1.0),
}
_EDGE_DEFAULTS = {
    "itksnap": dict(sigma=1.0, kappa=0.04, lam=3.0),
    "sobel4": dict(sigma=0.0, kappa=SOBEL4_KAPPA, lam=4.0),  # g = 1/(1 + 20 s), s = (|∇I|/max)^4
}
_EPS = 1e-12


def _scalar(value: float, trainable: bool) -> nn.Parameter:
    return nn.Parameter(torch.tensor(float(value)), requires_grad=trainable)


class LevelSetNetwork(UnrolledLevelSet):
    """Unrolled level-set solver with learnable curvature and edge kernels.

    Parameters
    ----------
    num_steps : int, optional
        Layers / time steps Nt (shared weights). Default 5 (paper).
    dt : float, optional
        Time advanced per layer. Default 1.0 (paper); see "Stability at dt = 1".
    alpha, beta, gamma : float, optional
        Initial propagation, curvature and advection weights. Defaults 1.0,
        0.2 (ITK-SNAP's curvature weight) and 1.0.
    learn_weights : bool, optional
        Train α, β, γ. Default True.
    learn_curvature : bool, optional
        Train the (4, 1, 3, 3) curvature kernels (grad-x, grad-y, div-x, div-y). Default True.
    learn_edges : bool, optional
        Train the (2, 1, 3, 3) gradient kernels of the edge detector. Default True.
    learn_edge_remap : bool, optional
        Train κ_e and λ_e of the remapping too. Default False.
    kernel_init : {"stencil", "normal"}, optional
        ``"stencil"`` (default): the centred / Sobel stencils of
        :mod:`lsn_explorer.levelset.stencils`; ``"normal"``: N(0, kernel_std²),
        the paper's "standard normal" with ``kernel_std=1`` (0.05 is the
        authors' Keras ``'normal'``).
    kernel_std : float, optional
        Standard deviation of ``kernel_init="normal"``. Default 1.0.
    init : {"uniform", "disc", "ones"}, optional
        u0 when ``forward`` gets none: U[0, 1) per pixel from ``init_seed``
        (paper; the same u0 on every call), the authors' disc of radius
        10·H/256 at row 0.67 H, col 0.25 W (signed distance), or ones
        (the authors' default). Default "uniform".
    init_seed : int, optional
        Seed of the uniform u0. Default 0.
    authors_y_sign : bool, optional
        Reproduce the y-sign error of the authors' advection (see
        :mod:`lsn_explorer.models.unrolled`). Default False.
    edge : {"itksnap", "sobel4"}, optional
        Edge detector and its defaults (blur σ, κ_e, λ_e). Default "itksnap".
    sigma, kappa, lam : float, optional
        Override the edge detector's blur σ (pixels, fixed), κ_e and λ_e.
    substeps : int or "auto", optional
        Euler substeps per layer; ``"auto"`` (default) picks the CFL-limited
        number described in the module docstring.
    cfl : float, optional
        Courant number of ``substeps="auto"``. Default 0.9.
    max_substeps : int, optional
        Upper limit of ``"auto"`` substeps. Default 256.

    Raises
    ------
    InputError
        Unknown ``init``, ``edge`` or ``kernel_init``; non-positive ``num_steps``,
        ``dt``, ``cfl`` or ``substeps``.

    Examples
    --------
    >>> net = LevelSetNetwork(num_steps=2)
    >>> net(torch.zeros(1, 1, 16, 16)).shape
    torch.Size([1, 1, 16, 16])
    >>> [name for name, _, _ in net.named_kernel_layers()]
    ['edge', 'curvature_gradient', 'curvature_divergence']
    """

    model_name = "lsn"
    #: Training per preset family: the paper's Nt = 5 layers (dt 0.5 per layer on a CPU, 1 on a GPU).
    recipes = {
        "quick": Recipe(epochs=3, lr=1e-2, config={"num_steps": 5, "dt": 0.5}),
        "paper": Recipe(epochs=20, lr=1e-2, config={"num_steps": 5, "dt": 1.0}),
    }

    def __init__(
        self,
        num_steps: int = 5,
        dt: float = 1.0,
        *,
        alpha: float = 1.0,
        beta: float = 0.2,
        gamma: float = 1.0,
        learn_weights: bool = True,
        learn_curvature: bool = True,
        learn_edges: bool = True,
        learn_edge_remap: bool = False,
        kernel_init: str = "stencil",
        kernel_std: float = 1.0,
        init: str = "uniform",
        init_seed: int = 0,
        authors_y_sign: bool = False,
        edge: str = "itksnap",
        sigma: float | None = None,
        kappa: float | None = None,
        lam: float | None = None,
        substeps: int | str = "auto",
        cfl: float = 0.9,
        max_substeps: int = 256,
    ):
        super().__init__()
        shared = self._unrolled_config(
            num_steps=num_steps, dt=dt, init=init, init_seed=init_seed, substeps=substeps, cfl=cfl,
            max_substeps=max_substeps, authors_y_sign=authors_y_sign,
        )
        if edge not in EDGES:
            raise InputError(f"edge={edge!r} is not one of {list(EDGES)}")
        if kernel_init not in ("stencil", "normal"):
            raise InputError(f"kernel_init={kernel_init!r} is not one of ['stencil', 'normal']")
        e = dict(_EDGE_DEFAULTS[edge])
        e.update({k: v for k, v in dict(sigma=sigma, kappa=kappa, lam=lam).items() if v is not None})
        if not (e["kappa"] > 0 and e["lam"] > 0 and e["sigma"] >= 0):
            raise InputError(f"kappa={e['kappa']}, lam={e['lam']} must be positive and sigma={e['sigma']} non-negative")
        self.config = dict(
            **shared, alpha=float(alpha), beta=float(beta), gamma=float(gamma),
            learn_weights=bool(learn_weights), learn_curvature=bool(learn_curvature), learn_edges=bool(learn_edges),
            learn_edge_remap=bool(learn_edge_remap), kernel_init=kernel_init, kernel_std=float(kernel_std),
            edge=edge, sigma=float(e["sigma"]), kappa=float(e["kappa"]), lam=float(e["lam"]),
        )
        like = torch.zeros((), dtype=torch.float32)
        edge_init = as_weight([XC, YC] if edge == "itksnap" else [SOBEL_X, SOBEL_Y], like)
        curv_init = as_weight([XC, YC, XC, YC], like)
        if kernel_init == "normal":
            edge_init = torch.randn_like(edge_init) * kernel_std
            curv_init = torch.randn_like(curv_init) * kernel_std
        self.edge_kernels = nn.Parameter(edge_init, requires_grad=learn_edges)
        self.curvature_kernels = nn.Parameter(curv_init, requires_grad=learn_curvature)
        self.alpha = _scalar(alpha, learn_weights)
        self.beta = _scalar(beta, learn_weights)
        self.gamma = _scalar(gamma, learn_weights)
        self.log_kappa = _scalar(math.log(e["kappa"]), learn_edge_remap)
        self.log_lam = _scalar(math.log(e["lam"]), learn_edge_remap)
        self.log_scale = _scalar(0.0, True)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "LevelSetNetwork":
        """The ``"paper"`` or ``"code"`` configuration of the module docstring, with overrides."""
        if name not in LSN_PRESETS:
            raise InputError(f"preset={name!r} is not one of {list(LSN_PRESETS)}")
        return cls(**{**LSN_PRESETS[name], **overrides})

    @classmethod
    def from_stencils(
        cls,
        num_steps: int,
        dt: float,
        *,
        alpha: float = 1.0,
        beta: float = 0.2,
        gamma: float = 0.0,
        sigma: float = 1.0,
        kappa: float = 0.04,
        lam: float = 3.0,
        init: str = "uniform",
    ) -> "LevelSetNetwork":
        """An LSN with nothing learned: ``num_steps`` plain solver steps of ``dt``.

        ``net(image, u0)`` then equals ``levelset.evolve(u0, edge_function(image,
        sigma=sigma, kappa=kappa, lam=lam), num_iter=num_steps, alpha=alpha,
        beta=beta, gamma=gamma, dt=dt)`` (one substep per layer; the output scale is 1).
        """
        return cls(
            num_steps, dt, alpha=alpha, beta=beta, gamma=gamma, learn_weights=False, learn_curvature=False,
            learn_edges=False, learn_edge_remap=False, init=init, edge="itksnap", sigma=sigma, kappa=kappa,
            lam=lam, substeps=1,
        ).requires_grad_(False)

    # ------------------------------------------------------------------ pieces

    def edge_function(self, image: torch.Tensor) -> torch.Tensor:
        """``g = 1 / (1 + (|K ⋆ G_σ*I| / max / κ_e)^λ_e)``, max per image; ``(N,1,H,W) -> (N,1,H,W)``."""
        # ε keeps the gradient finite on flat regions; without learned kernels it is left out
        eps = _EPS if self.edge_kernels.requires_grad else 0.0
        x = relative_edge_strength(image, self.edge_kernels.to(image.dtype), sigma=self.config["sigma"], eps=eps)
        if self.log_lam.requires_grad:
            x = x.clamp_min(_EPS)  # d/dλ of x^λ needs log x
        return itksnap_remap(x, kappa=self.log_kappa.exp(), lam=self.log_lam.exp())

    def curvature_stencils(self) -> torch.Tensor:
        """The (learned) curvature stencils (grad-x, grad-y, div-x, div-y), ``(4, 1, 3, 3)``."""
        return self.curvature_kernels

    def output(self, u: torch.Tensor) -> torch.Tensor:
        """Logits ``s·u_Nt`` with the learned scale ``s > 0``."""
        return self.log_scale.exp() * u

    def named_kernel_layers(self) -> list[tuple[str, str, torch.Tensor]]:
        """``(name, "lsn", weight (out, in, 3, 3))``: edge (2, 1), curvature gradient (2, 1) and divergence (2, 1)."""
        return [
            ("edge", "lsn", self.edge_kernels),
            ("curvature_gradient", "lsn", self.curvature_kernels[0:2]),
            ("curvature_divergence", "lsn", self.curvature_kernels[2:4]),
        ]
