"""Plotly figure builders: they take arrays and return ``go.Figure``, never show."""

from __future__ import annotations

from .slices import mask_contour, slice_figure

__all__ = ["slice_figure", "mask_contour"]
