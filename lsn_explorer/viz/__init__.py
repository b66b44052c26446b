"""Plotly figure builders: they take arrays and return ``go.Figure``, never show."""

from __future__ import annotations

from .evolution import evolution_figure, zero_contour
from .kernels import centroid_heatmaps_figure, kernel_scatter_figure, layer_summary_figure, scatter_grid_figure
from .slices import mask_contour, slice_figure
from .speed_maps import speed_maps_figure
from .table2 import table2_figure

__all__ = [
    "slice_figure",
    "mask_contour",
    "evolution_figure",
    "zero_contour",
    "kernel_scatter_figure",
    "scatter_grid_figure",
    "centroid_heatmaps_figure",
    "layer_summary_figure",
    "table2_figure",
    "speed_maps_figure",
]
