# The public names of lsn_explorer.levelset, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .edges import (
    edge_function as edge_function,
    gaussian_gradient as gaussian_gradient,
    gradient_magnitude as gradient_magnitude,
    itksnap_remap as itksnap_remap,
)
from .initial import (
    authors_disc as authors_disc,
    bubbles as bubbles,
    bubble_centers as bubble_centers,
    bubble_level_set as bubble_level_set,
    border_contour as border_contour,
    random_uniform as random_uniform,
    signed_distance as signed_distance,
    reinitialise as reinitialise,
)
from .sitk_bridge import (
    Comparison as Comparison,
    compare_with_simpleitk as compare_with_simpleitk,
)
from .backends import BACKENDS as BACKENDS
from .solver import (
    EvolveResult as EvolveResult,
    evolve as evolve,
    store_evolution_in as store_evolution_in,
)
from .stencils import (
    FINITE_DIFFERENCE_STENCILS as FINITE_DIFFERENCE_STENCILS,
    REFERENCE_KERNELS as REFERENCE_KERNELS,
    as_weight as as_weight,
)
from .step import (
    cfl_time_step as cfl_time_step,
    check_time_step as check_time_step,
    gac_step as gac_step,
)
