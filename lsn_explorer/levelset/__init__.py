"""The level set equation as convolutions and ReLUs.

The geodesic active contour equation (Eq. 1 of Actor et al. 2020),
``u_t = γ ∇g·∇u + g (α + β κ(u)) |∇u|`` with ``u > 0`` inside, solved by
forward Euler with upwind differences written as ``ReLU(conv)``.

Modules: :mod:`.stencils` (named 3x3 stencils and the reference kernels),
:mod:`.edges` (edge functions ``g``), :mod:`.operators` (the pieces of a step),
:mod:`.step` (``gac_step``, CFL), :mod:`.solver` (``evolve``), :mod:`.backends`
(how the steps run: :mod:`.fast` fused torch step, :mod:`.band` numba narrow band),
:mod:`.initial` (initial level sets), :mod:`.sitk_bridge` (SimpleITK peer).
"""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
