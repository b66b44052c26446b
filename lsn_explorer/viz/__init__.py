"""Plotly figure builders: they take arrays and return ``go.Figure``, never show."""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
