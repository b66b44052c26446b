r"""The level-set solver unrolled into layers: what the paper's LSN and the authors' LSN-G share.

Each of the ``Nt`` layers advances the level set by a time ``dt`` of Eq. 1,

.. math:: u_t = \gamma\, \nabla g \cdot \nabla u + g\,(\alpha + \beta\,\kappa(u))\,|\nabla u|,

in ``m`` equal forward-Euler substeps of :func:`lsn_explorer.levelset.step.gac_step`
(upwind ReLU-of-convolution differences, zero-flux borders). The layers share their
weights. With the fixed curvature stencils a substep runs as
:func:`~lsn_explorer.levelset.fast.fused_gac_step`, the same numbers (tested to 1e-6)
from slices of one padded tensor, which trains about 3x faster on a CPU. Subclasses say where ``g``, ``α``, ``β``, ``γ`` and the curvature stencils
come from; ``g`` is a map and the weights may be numbers, per-image values or maps
(see :mod:`lsn_explorer.levelset.speeds`).

Substeps
--------
``m = ceil(dt / dt_max)`` with ``dt_max = cfl / (|γ| + √2 |α| + 4 |β| ρ)``: the CFL
bound of :func:`~lsn_explorer.levelset.step.cfl_time_step` with ``g ≤ 1`` and
``|∂g/∂x|, |∂g/∂y| ≤ ½`` (centred differences of a function with values in (0, 1]),
so ``m`` follows the weights, never the images. For maps, ``|α|`` is the largest
value of the map. ``ρ = (‖k_gx‖₁‖k_dx‖₁ + ‖k_gy‖₁‖k_dy‖₁) / 2`` is 1 for the centred
curvature stencils and grows with learned ones.

The authors' y sign
-------------------
The authors' Keras code measured ``∂g/∂y`` with a stencil whose y points down and
the one-sided differences of ``u`` with y pointing up, so the y part of its
advection is upwind for ``u_t = −γ g_y u_y``: the front is pushed away from edges
along y instead of onto them. ``authors_y_sign=True`` reproduces that (by flipping
``∂g/∂y``); the default is the consistent sign.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InputError
from ..levelset.fast import fused_gac_step
from ..levelset.initial import authors_disc, random_uniform
from ..levelset.operators import central_gradient
from ..levelset.speeds import RateFields, as_field, edge_field
from ..levelset.step import PROPAGATION_WAVE, gac_step, stability_rate

__all__ = ["UnrolledLevelSet", "INITS"]

#: Initial conditions u0: the paper's random uniform, the authors' disc, ones.
INITS = ("uniform", "disc", "ones")


class UnrolledLevelSet(nn.Module):
    """Base class: ``num_steps`` layers of ``dt`` each, from ``u0`` to logits.

    Subclasses implement :meth:`edge_function` and :meth:`weights`, and may
    override :meth:`curvature_stencils` (default: the fixed centred stencils)
    and :meth:`output` (default: ``u_Nt`` itself as logits). They call
    :meth:`_unrolled_config` in ``__init__`` to check and record the shared
    settings.
    """

    amp_ok = False  # square roots and the CFL bound want float32
    preprocessing = None

    @staticmethod
    def _unrolled_config(*, num_steps, dt, init, init_seed, substeps, cfl, max_substeps, authors_y_sign) -> dict:
        """The checked shared settings, ready for ``self.config``."""
        if int(num_steps) != num_steps or num_steps < 1:
            raise InputError(f"num_steps={num_steps!r} must be an integer >= 1")
        if not dt > 0 or not cfl > 0:
            raise InputError(f"dt={dt!r} and cfl={cfl!r} must be positive")
        if init not in INITS:
            raise InputError(f"init={init!r} is not one of {list(INITS)}")
        if substeps != "auto" and (isinstance(substeps, str) or int(substeps) != substeps or substeps < 1):
            raise InputError(f"substeps={substeps!r} must be 'auto' or an integer >= 1")
        return dict(
            num_steps=int(num_steps), dt=float(dt), init=init, init_seed=int(init_seed),
            substeps=substeps if substeps == "auto" else int(substeps), cfl=float(cfl), max_substeps=int(max_substeps),
            authors_y_sign=bool(authors_y_sign),
        )

    # ------------------------------------------------------------------ what subclasses provide

    def edge_function(self, image: torch.Tensor) -> torch.Tensor:
        """``(N, 1, H, W)`` image → ``(N, 1, H, W)`` edge map ``g`` in (0, 1]."""
        raise NotImplementedError

    def weights(self) -> tuple:
        """``(α, β, γ)``: numbers or tensors (see :mod:`lsn_explorer.levelset.speeds`); by default
        the attributes ``alpha``, ``beta`` and ``gamma``."""
        return self.alpha, self.beta, self.gamma

    def curvature_stencils(self) -> torch.Tensor | None:
        """``(4, 1, 3, 3)`` curvature stencils, or None for the fixed centred ones."""
        return None

    def output(self, u: torch.Tensor) -> torch.Tensor:
        """Logits from the final level set."""
        return u

    # ------------------------------------------------------------------ shared

    def initial(self, image: torch.Tensor) -> torch.Tensor:
        """u0 for a batch of images, per ``init`` (deterministic)."""
        shape, opts = tuple(image.shape), dict(device=image.device, dtype=image.dtype)
        kind = self.config["init"]
        if kind == "uniform":
            return random_uniform(shape, seed=self.config["init_seed"], **opts)
        if kind == "disc":
            return authors_disc(shape, radius=10.0 * shape[-2] / 256, **opts)
        return torch.ones(shape, **opts)

    def num_substeps(self, alpha=None, beta=None, gamma=None) -> int:
        """Euler substeps per layer for these weights (default: the network's own); see "Substeps"."""
        if self.config["substeps"] != "auto":
            return int(self.config["substeps"])
        own = self.weights()
        a, b, c = (_largest(own[i] if w is None else w) for i, w in enumerate((alpha, beta, gamma)))
        rate = stability_rate(c + PROPAGATION_WAVE * a, b * self._curvature_spread())
        if rate == 0:
            return 1
        return int(min(self.config["max_substeps"], max(1, math.ceil(self.config["dt"] * rate / self.config["cfl"]))))

    def _curvature_spread(self) -> float:
        kernels = self.curvature_stencils()
        if kernels is None:
            return 1.0
        with torch.no_grad():
            k = kernels.abs().sum(dim=(1, 2, 3))
            return float((k[0] * k[2] + k[1] * k[3]) / 2.0)

    def evolve(self, image: torch.Tensor, u0: torch.Tensor | None = None, *, g=None, alpha=None, beta=None,
               gamma=None, iter_callback=None) -> torch.Tensor:
        """The final level set ``u_Nt``; ``iter_callback(u)`` after each layer.

        Parameters
        ----------
        image : (N, 1, H, W) or (N, 2, H, W) Tensor
            The image, or (image, u0) in two channels as the authors' network input;
            a separate ``u0`` then must not be given.
        u0 : (N, 1, H, W) Tensor, optional
            Initial level set; default per ``init``.
        g, alpha, beta, gamma : Tensor or float, optional
            Replace the network's edge map or weights, e.g. by maps (see
            :mod:`lsn_explorer.levelset.speeds`); default the network's own.
        iter_callback : callable, optional
            Called with ``u`` after each layer.

        Returns
        -------
        (N, 1, H, W) Tensor

        Raises
        ------
        InputError
            Wrong image or u0 shape, or a speed of the wrong shape (named).
        """
        if image.ndim != 4 or image.shape[1] not in (1, 2):
            raise InputError(f"image has shape {tuple(image.shape)}; expected (N, 1, H, W) or (N, 2, H, W) = (image, u0)")
        if image.shape[1] == 2:
            if u0 is not None:
                raise InputError("image holds (image, u0) in two channels; do not pass u0 as well")
            image, u0 = image[:, :1], image[:, 1:]
        u = self.initial(image) if u0 is None else u0
        if u.shape != image.shape:
            raise InputError(f"u0 has shape {tuple(u.shape)}; expected the image's {tuple(image.shape)}")
        g = self.edge_function(image) if g is None else g
        own = self.weights()
        alpha, beta, gamma = (own[i] if w is None else as_field(n, w, u)
                              for i, (n, w) in enumerate((("alpha", alpha), ("beta", beta), ("gamma", gamma))))
        g = edge_field(g, u)
        gx, gy = central_gradient(g)  # the convection stencils stay fixed
        grad_g = (gx, -gy) if self.config["authors_y_sign"] else (gx, gy)
        m = self.num_substeps(alpha, beta, gamma)
        step = self._substep(g, grad_g, alpha, beta, gamma, self.config["dt"] / m, u.dtype)
        for _ in range(self.config["num_steps"]):
            for _ in range(m):
                u = step(u)
            if iter_callback is not None:
                iter_callback(u)
        return u

    def _substep(self, g, grad_g, alpha, beta, gamma, dt: float, dtype):
        """One Euler substep ``u -> u_next``: the fused step unless the curvature stencils are learned."""
        kernels = self.curvature_stencils()
        if kernels is not None:
            kernels = kernels.to(dtype)
            return lambda u: gac_step(u, g, alpha=alpha, beta=beta, gamma=gamma, dt=dt, grad_g=grad_g,
                                      curvature_kernels=kernels)
        fields = RateFields.of(g, grad_g, alpha, beta, gamma).scaled(dt)
        return lambda u: fused_gac_step(u, fields.speed, fields.vx, fields.vy, fields.curvature)

    def forward(self, image: torch.Tensor, u0: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, 1, H, W)`` image and optional u0, or ``(N, 2, H, W)`` (image, u0) ``-> (N, 1, H, W)`` logits."""
        return self.output(self.evolve(image, u0))


def _largest(weight) -> float:
    """``max |w|`` of a number or tensor (no gradient)."""
    if isinstance(weight, torch.Tensor):
        return float(weight.detach().abs().max())
    return abs(float(weight))
