r"""The speed-map LSN: an encoder–decoder predicts the speeds, then every layer is one upwind step of Eq. 1.

A network of the paper's kind learns *stencils*; this one learns *speed maps* and
keeps the stencils of a consistent upwind scheme (see ``docs/lsn.md``)::

    image ──encoder–decoder──▶ α(x) = tanh(a(x)) ∈ (-1, 1)     signed propagation speed
                               g(x) = sigmoid(b(x)) ∈ (0, 1)   stopping map
    u0 = a contour just inside the image border (signed distance)
    u  ──Nc upwind Euler steps at a coarse grid──▶ upsample ──Nf steps at full size──▶ u_Nt
    output: logits u_Nt / ε, i.e. H_ε(u_Nt) = sigmoid(u_Nt / ε); the segmentation is u_Nt > 0

Each of the ``Nc + Nf`` layers is exactly one forward-Euler step of

.. math:: u_t = g\,(\alpha + \beta\,\kappa(u))\,|\nabla u|

through :mod:`lsn_explorer.levelset` (Osher–Sethian upwind differences of the fixed
stencils ``D±x``, ``D±y`` and centred curvature; ``β`` is a fixed small number). Only
the front moves the segmentation: where α > 0 the region grows, where α < 0 it
shrinks, and g slows the front down.

Why a contour at the border
---------------------------
``u0 = border_contour``: every pixel but a one-pixel frame starts inside, and the
front shrinks inward wherever α < 0. Any liver, however many pieces it has in a
slice, lies inside the starting contour, and the front can reach its boundary from
every side, so no seed has to be found first. A seed grown outward would lose every
part of the liver it is not connected to in the slice. At steady state the region is
what the inward front cannot eat: the part of {α > 0} that it meets, with its holes
(enclosed α < 0 pixels, e.g. a misread tumour) filled.

A front that travels
--------------------
The time step is CFL-limited per image, ``dt = cfl / (√2 max|α g| + 4 β max g)``, so
the fastest pixels move ``cfl/√2`` of a pixel per layer whatever the scale of the
speeds. The coarse grid (``coarse_factor`` times smaller) covers the distance: with
the defaults, 40 steps of up to 0.64 px at 32x32 for a 128x128 image travel up to 25
coarse pixels, more than the 16 from the border to the centre. On the coarse grid α
is the *minimum* over each cell (g its mean): a coarse cell is inside only if all of
its pixels push outward, so the coarse front also enters coves whose mouth is
narrower than a cell. Then u is upsampled (values times the factor, so it stays a
distance in pixels) and ``fine_steps`` steps at full size move the front back out to
the boundary, up to ``fine_steps · 0.64`` pixels.

Keeping u a distance function
-----------------------------
After every step u is clipped to a band ``[-band, band]`` pixels around the front
(ITK-SNAP's clamp): far from the front u saturates, near it u keeps unit slope. The
clip passes no gradient outside the band, and the time step is detached.

Training
--------
:meth:`SpeedMapLSN.training_loss` is, per slice, ``L(a) + w · L(u_Nt / ε)`` with
``L = DiceL2 + BCE`` (on the sigmoid of the logits):

* ``L(a)`` trains the α map directly, everywhere, also where the front has not arrived
  (the clip gives no gradient there);
* ``L(u_Nt / ε)`` is the loss of the front itself, ``H_ε(u) = sigmoid(u/ε)`` with ε annealed
  from ``eps_start`` to ``eps_end`` pixels; it reaches the network through g (and the
  shared encoder), while α enters the solver layers **detached**. Gradients through ~50
  upwind steps (sign switches, the coarse grid's minimum) are noisy; fed into α they made
  training oscillate (``docs/lsn.md`` has the measurements). ``w = front_weight`` (0.2).

Gradients are clipped to norm 1 (the recipe). ``pde=False`` turns the network into its own
ablation: the α map thresholded, no front, trained with ``L(a)`` alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..levelset.fast import fused_gac_step
from ..levelset.edges import edge_function
from ..levelset.initial import border_contour
from ..levelset.operators import central_gradient
from ..levelset.step import cfl_time_step
from ..losses import dice_l2_loss
from .registry import Recipe
from .unet import UNet

__all__ = ["SpeedMapLSN", "SpeedMaps"]

#: Below this CFL rate (max speed, px per unit time) the time step stops growing.
_MIN_RATE = 1e-6


class SpeedMaps(nn.Module):
    """The encoder–decoder: ``(N, 1, H, W)`` image → ``(N, 2, H, W)`` logits of α and g (a 2-output UNet)."""

    def __init__(self, features: int = 15, depth: int = 4, batch_norm: bool = False):
        super().__init__()
        self.net = UNet(out_channels=2, features=features, depth=depth, batch_norm=batch_norm)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


class SpeedMapLSN(nn.Module):
    """A level-set network whose encoder–decoder predicts speed maps α(x), g(x) for upwind solver layers.

    Parameters
    ----------
    features : int, optional
        Filters of the encoder–decoder's outer levels. Default 15 (116,014
        parameters, under the UNet's 131,938).
    depth : int, optional
        Pooling steps of the encoder–decoder. Default 4.
    batch_norm : bool, optional
        Batch norm before every 3x3 convolution of the encoder–decoder (the UNet's
        option of the same name). Default False.
    coarse_factor : int, optional
        The coarse grid is this many times smaller. Default 4.
    coarse_steps, fine_steps : int, optional
        Layers on the coarse grid and at full size. Default 40 and 12.
    coarse_alpha : {"min", "mean"}, optional
        How a coarse cell's α comes from its pixels (see "A front that travels").
        Default "min".
    beta : float, optional
        Curvature weight β (fixed). Default 0.1.
    cfl : float, optional
        Courant number of the per-image time step. Default 0.9.
    band : float, optional
        Half-width in pixels of the band u is clipped to. Default 3.
    margin : float, optional
        Distance of u0's contour from the border pixels. Default 0.5.
    eps_start, eps_end : float, optional
        Width (pixels) of the smoothed Heaviside during training, annealed
        geometrically; ``eps_end`` is used after training. Defaults 3 and 1.
    front_weight : float, optional
        Weight ``w`` of the front's loss (see "Training"). Default 0.2.
    pde : bool, optional
        False: no front; the logits are the α map's (the ablation). Default True.
    image_edges : bool, optional
        In the full-size layers, multiply the learned g by the image's own edge map
        ``g_I`` (ITK-SNAP's, :func:`~lsn_explorer.levelset.edges.edge_function`), so the
        front also stops where the image has an edge. (Not on the coarse grid: the
        front starts at the border and must cross the body's outline.) Default False.
    edge_advection : float, optional
        γ of the classic GAC term ``γ ∇g_I · ∇u`` in the full-size layers, which pulls
        the front onto the image's edges. Default 0.

    Raises
    ------
    InputError
        A negative count or weight, or a non-positive factor, width or Courant number.

    Examples
    --------
    >>> net = SpeedMapLSN()
    >>> net(torch.zeros(1, 1, 64, 64)).shape
    torch.Size([1, 1, 64, 64])
    """

    model_name = "speed-map-lsn"
    amp_ok = False  # the solver layers want float32
    preprocessing = None
    #: Training per preset family: the UNet's epochs and learning rates, gradients clipped to norm 1.
    recipes = {
        "quick": Recipe(epochs=12, lr=2e-3, clip_grad_norm=1.0),
        "paper": Recipe(epochs=40, lr=1e-3, clip_grad_norm=1.0),
    }

    def __init__(
        self,
        *,
        features: int = 15,
        depth: int = 4,
        batch_norm: bool = False,
        coarse_factor: int = 4,
        coarse_steps: int = 40,
        fine_steps: int = 12,
        coarse_alpha: str = "min",
        beta: float = 0.1,
        cfl: float = 0.9,
        band: float = 3.0,
        margin: float = 0.5,
        eps_start: float = 3.0,
        eps_end: float = 1.0,
        front_weight: float = 0.2,
        pde: bool = True,
        image_edges: bool = False,
        edge_advection: float = 0.0,
    ):
        super().__init__()
        for name, value in dict(coarse_factor=coarse_factor, cfl=cfl, band=band, eps_start=eps_start,
                                eps_end=eps_end).items():
            if not value > 0:
                raise InputError(f"{name}={value!r} must be positive")
        for name, value in dict(coarse_steps=coarse_steps, fine_steps=fine_steps, beta=beta, front_weight=front_weight,
                                margin=margin, edge_advection=edge_advection).items():
            if not value >= 0:
                raise InputError(f"{name}={value!r} must be >= 0")
        if coarse_alpha not in ("min", "mean"):
            raise InputError(f"coarse_alpha={coarse_alpha!r} is not one of ['min', 'mean']")
        self.config = dict(
            features=int(features), depth=int(depth), batch_norm=bool(batch_norm), coarse_factor=int(coarse_factor),
            coarse_steps=int(coarse_steps), fine_steps=int(fine_steps), coarse_alpha=coarse_alpha, beta=float(beta),
            cfl=float(cfl),
            band=float(band), margin=float(margin), eps_start=float(eps_start), eps_end=float(eps_end),
            front_weight=float(front_weight), pde=bool(pde), image_edges=bool(image_edges),
            edge_advection=float(edge_advection),
        )
        self.maps = SpeedMaps(features=features, depth=depth, batch_norm=batch_norm)

    # ------------------------------------------------------------------ the two halves

    def speed_maps(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(a, α, g)``: the α logits, α = tanh(a) and g = sigmoid(b), each ``(N, 1, H, W)``."""
        out = self.maps(image[:, :1])
        a, b = out[:, 0:1], out[:, 1:2]
        return a, torch.tanh(a), torch.sigmoid(b)

    def initial(self, like: torch.Tensor) -> torch.Tensor:
        """u0 on the coarse grid of ``like`` ``(N, 1, H, W)``: the border contour, clipped to the band."""
        c = self.config
        n, _, h, w = like.shape
        f = c["coarse_factor"]
        u0 = border_contour((n, 1, h // f, w // f), margin=c["margin"], device=like.device, dtype=like.dtype)
        return u0.clamp(-c["band"], c["band"])

    def image_terms(self, image: torch.Tensor, g: torch.Tensor):
        """``(fine_g, advection)`` of the full-size layers: the learned g (times the image's ``g_I``
        with ``image_edges``) and ``γ ∇g_I`` (None without ``edge_advection``), without
        gradients through ``g_I``; ``image`` and ``g`` are ``(N, 1, H, W)``."""
        c = self.config
        if not (c["image_edges"] or c["edge_advection"]):
            return g, None
        with torch.no_grad():
            g_image = edge_function(image[:, :1].float()).to(g.dtype)
            gx, gy = central_gradient(g_image)
        advection = (c["edge_advection"] * gx, c["edge_advection"] * gy) if c["edge_advection"] else None
        return (g * g_image if c["image_edges"] else g), advection

    def solve(self, alpha: torch.Tensor, g: torch.Tensor, *, fine_g=None, advection=None,
              iter_callback=None) -> torch.Tensor:
        """The solver layers alone: ``u_Nt`` from u0 under the maps α and g, each ``(N, 1, H, W)``.

        ``fine_g`` replaces g and ``advection`` (a pair of ``(N, 1, H, W)`` velocities)
        moves the front too in the full-size layers (see :meth:`image_terms`).
        ``iter_callback(u)`` is called after every layer with ``u`` at the grid it
        lives on (coarse layers first), in pixels of that grid.
        """
        c = self.config
        f = c["coarse_factor"]
        h, w = alpha.shape[-2:]
        if h % f or w % f:
            raise InputError(f"image of {h}x{w} pixels; coarse_factor={f} must divide both")
        coarse_alpha = -F.max_pool2d(-alpha, f) if c["coarse_alpha"] == "min" else F.avg_pool2d(alpha, f)
        coarse = (coarse_alpha, F.avg_pool2d(g, f))
        u = self._steps(self.initial(alpha), *coarse, c["coarse_steps"], iter_callback)
        u = f * F.interpolate(u, scale_factor=f, mode="bilinear", align_corners=False)
        fine_g = g if fine_g is None else fine_g
        return self._steps(u.clamp(-c["band"], c["band"]), alpha, fine_g, c["fine_steps"], iter_callback, advection)

    def evolution(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """``(α, g, frames)`` of ``(N, 1, H, W)`` images, without gradients, on the CPU.

        ``frames`` holds u0 and u after every layer, all at full size in pixels
        (the coarse layers upsampled), ``Nc + Nf + 1`` tensors of shape ``(N, 1, H, W)``.
        """
        f, size = self.config["coarse_factor"], image.shape[-2:]

        def full(u):
            return u if u.shape[-2:] == size else f * F.interpolate(u, size=size, mode="bilinear", align_corners=False)

        with torch.no_grad():
            _, alpha, g = self.speed_maps(image)
            fine_g, advection = self.image_terms(image, g)
            frames = [full(self.initial(image))]
            self.solve(alpha, g, fine_g=fine_g, advection=advection, iter_callback=lambda u: frames.append(full(u)))
        return alpha.cpu(), g.cpu(), [u.cpu() for u in frames]

    def _steps(self, u, alpha, g, steps: int, iter_callback, advection=None):
        c = self.config
        # per-image CFL step, not differentiated; capped where the speeds vanish
        dt = cfl_time_step(g, alpha=alpha, beta=c["beta"], gamma=0.0 if advection is None else 1.0, grad_g=advection,
                           cfl=c["cfl"]).clamp(max=c["cfl"] / _MIN_RATE)
        dt = dt.to(u.dtype).view(-1, 1, 1, 1)
        speed, curv = dt * alpha * g, dt * c["beta"] * g  # the same every step: scaled once
        zero = torch.zeros((), dtype=u.dtype, device=u.device)
        vx, vy = (zero, zero) if advection is None else (dt * advection[0], dt * advection[1])
        for _ in range(steps):
            u = fused_gac_step(u, speed, vx, vy, curv).clamp(-c["band"], c["band"])
            if iter_callback is not None:
                iter_callback(u)
        return u

    # ------------------------------------------------------------------ protocol

    def forward(self, image: torch.Tensor, *, epsilon: float | None = None, return_maps: bool = False):
        """``(N, 1, H, W)`` image → ``(N, 1, H, W)`` logits ``u_Nt / ε`` (or the α logits when ``pde=False``).

        With ``return_maps=True`` returns ``(logits, a)``, the α logits too.
        """
        a, alpha, g = self.speed_maps(image)
        if self.config["pde"]:
            # α learns from its own loss; the front's loss reaches the network through g (see "Training")
            fine_g, advection = self.image_terms(image, g)
            logits = self.solve(alpha.detach(), g, fine_g=fine_g, advection=advection) / (
                self.config["eps_end"] if epsilon is None else epsilon)
        else:
            logits = a
        return (logits, a) if return_maps else logits

    def epsilon(self, progress: float) -> float:
        """ε at ``progress`` in [0, 1] of the training: geometric from ``eps_start`` to ``eps_end``."""
        c = self.config
        return c["eps_start"] * (c["eps_end"] / c["eps_start"]) ** min(max(progress, 0.0), 1.0)

    def training_loss(self, net, images: torch.Tensor, masks: torch.Tensor, *, progress: float):
        """Per-slice ``L(a) + w · L(u_Nt / ε)`` with ``L = DiceL2 + BCE`` (see "Training"), and the logits.

        Without the solver (``pde=False``) the loss is ``L(a)`` and the logits are ``a``.
        """
        logits, a = net(images, epsilon=self.epsilon(progress), return_maps=True)
        loss = _segmentation_loss(a, masks)
        if self.config["pde"]:
            loss = loss + self.config["front_weight"] * _segmentation_loss(logits, masks)
        return loss, logits

    def named_kernel_layers(self) -> list[tuple[str, str, torch.Tensor]]:
        """The encoder–decoder's 18 3x3 convolutions, as the UNet's (``conv1`` ... ``conv18``)."""
        return self.maps.net.named_kernel_layers()


def _segmentation_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-slice Dice-L2 loss plus mean binary cross-entropy of ``sigmoid(logits)``, ``(N,)``."""
    bce = F.binary_cross_entropy_with_logits(logits.float(), masks, reduction="none").mean(dim=(1, 2, 3))
    return dice_l2_loss(logits, masks, reduction="none").mean(1) + bce
