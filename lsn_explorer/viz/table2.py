"""Figure of the Table 2 cross-validation: per-volume Dice per method, the paper beside it."""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["table2_figure"]


def table2_figure(per_volume: list[dict], traces: list[tuple], *, title: str = "Dice per held-out volume") -> go.Figure:
    """Per-volume Dice per method as box plots with every volume shown, paper averages as dashes.

    Parameters
    ----------
    per_volume : list of dict
        Rows with ``method``, ``split``, ``dice``, ``fold`` and ``dataid`` (as written by
        :func:`lsn_explorer.experiments.run_table2`).
    traces : list of (method, split, label, paper average or None)
        Which rows make each box, its label, and the paper's average to mark beside it.
    title : str
        Figure title.

    Returns
    -------
    go.Figure
        One box per trace that has rows; a dashed segment at the paper's average where given.
    """
    figure = go.Figure()
    for method, split, label, paper_average in traces:
        rows = [r for r in per_volume if r["method"] == method and r["split"] == split]
        if not rows:
            continue
        figure.add_trace(go.Box(
            x=[label] * len(rows), y=[r["dice"] for r in rows], name=label, boxpoints="all", jitter=0.4,
            pointpos=0, text=[f"fold {r['fold']} · volume {r['dataid']}" for r in rows],
            hovertemplate="%{text}<br>Dice %{y:.3f}<extra></extra>",
        ))
        if paper_average is not None:
            figure.add_trace(go.Scatter(
                x=[label], y=[paper_average], mode="markers", showlegend=False,
                marker=dict(symbol="line-ew-open", size=48, color="black", line=dict(width=2)),
                hovertemplate=f"paper's average {paper_average:.3f}<extra></extra>",
            ))
    figure.add_annotation(text="— paper's Table 2 average", xref="paper", yref="paper", x=1, y=1.06, showarrow=False)
    figure.update_layout(title=title, yaxis=dict(title="Dice", range=[0, 1.02]), showlegend=False,
                         template="plotly_white", margin=dict(l=60, r=20, t=60, b=40))
    return figure
