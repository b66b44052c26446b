# The public names of lsn_explorer.viz, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .slices import (
    slice_figure as slice_figure,
    mask_contour as mask_contour,
)
from .evolution import (
    evolution_figure as evolution_figure,
    zero_contour as zero_contour,
)
from .kernels import (
    kernel_scatter_figure as kernel_scatter_figure,
    scatter_grid_figure as scatter_grid_figure,
    centroid_heatmaps_figure as centroid_heatmaps_figure,
    layer_summary_figure as layer_summary_figure,
)
from .table2 import table2_figure as table2_figure
from .speed_maps import speed_maps_figure as speed_maps_figure
from .capacity import capacity_figure as capacity_figure
