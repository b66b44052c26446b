"""Plotly figure builders: they take arrays and return ``go.Figure``, never show."""

from __future__ import annotations

from .._lazy import lazy_exports

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
    "capacity_figure",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "capacity_figure": "capacity",
    "evolution_figure": "evolution",
    "zero_contour": "evolution",
    "centroid_heatmaps_figure": "kernels",
    "kernel_scatter_figure": "kernels",
    "layer_summary_figure": "kernels",
    "scatter_grid_figure": "kernels",
    "mask_contour": "slices",
    "slice_figure": "slices",
    "speed_maps_figure": "speed_maps",
    "table2_figure": "table2",
})
