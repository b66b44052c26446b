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

from .._lazy import lazy_exports

__all__ = [
    "edge_function",
    "gaussian_gradient",
    "gradient_magnitude",
    "itksnap_remap",
    "authors_disc",
    "bubbles",
    "bubble_centers",
    "bubble_level_set",
    "border_contour",
    "random_uniform",
    "signed_distance",
    "Comparison",
    "compare_with_simpleitk",
    "BACKENDS",
    "EvolveResult",
    "evolve",
    "reinitialise",
    "store_evolution_in",
    "FINITE_DIFFERENCE_STENCILS",
    "REFERENCE_KERNELS",
    "as_weight",
    "cfl_time_step",
    "check_time_step",
    "gac_step",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "edge_function": "edges",
    "gaussian_gradient": "edges",
    "gradient_magnitude": "edges",
    "itksnap_remap": "edges",
    "authors_disc": "initial",
    "border_contour": "initial",
    "bubbles": "initial",
    "bubble_centers": "initial",
    "bubble_level_set": "initial",
    "random_uniform": "initial",
    "signed_distance": "initial",
    "Comparison": "sitk_bridge",
    "compare_with_simpleitk": "sitk_bridge",
    "BACKENDS": "backends",
    "EvolveResult": "solver",
    "evolve": "solver",
    "reinitialise": "initial",
    "store_evolution_in": "solver",
    "FINITE_DIFFERENCE_STENCILS": "stencils",
    "REFERENCE_KERNELS": "stencils",
    "as_weight": "stencils",
    "cfl_time_step": "step",
    "check_time_step": "step",
    "gac_step": "step",
})
