"""Figure of the capacity study: Dice against trainable parameters, one line per method."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["capacity_figure"]

_COLOURS = {"speed-map-lsn": "#1f77b4", "no-pde": "#ff7f0e", "unet": "#2ca02c"}


def capacity_figure(rows: list[dict]) -> go.Figure:
    """Dice (mean ± sd over seeds) against parameters, log scale, one panel per dataset.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`~lsn_explorer.experiments.capacity.run_capacity`: ``method``,
        ``params``, ``dataset``, ``dice_mean``, ``dice_sd``, ``seeds``, ``folds``.

    Returns
    -------
    go.Figure
        One line with error bars per method in each panel, the methods' legend shared.
    """
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    figure = make_subplots(rows=1, cols=len(datasets), shared_yaxes=True, subplot_titles=datasets)
    for col, dataset in enumerate(datasets, start=1):
        for method in dict.fromkeys(r["method"] for r in rows):
            points = sorted((r for r in rows if r["method"] == method and r["dataset"] == dataset), key=lambda r: r["params"])
            figure.add_trace(go.Scatter(
                x=[r["params"] for r in points], y=[r["dice_mean"] for r in points], name=method, mode="lines+markers",
                error_y={"type": "data", "array": [r["dice_sd"] for r in points]}, legendgroup=method,
                showlegend=col == 1, line={"color": _COLOURS.get(method)},
                hovertemplate=f"{method}<br>%{{x:,d}} parameters<br>Dice %{{y:.3f}}<extra></extra>",
            ), row=1, col=col)
        figure.update_xaxes(type="log", title_text="trainable parameters", row=1, col=col)
    seeds, folds = rows[0]["seeds"], rows[0]["folds"]
    figure.update_yaxes(title_text=f"Dice, mean ± sd over {seeds} seeds ({folds} folds)", row=1, col=1)
    figure.update_layout(width=900, height=420, title="Dice against capacity")
    return figure
