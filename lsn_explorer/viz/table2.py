"""Figure of the Table 2 cross-validation: per-volume Dice per method, the paper beside it."""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["table2_figure", "METHOD_LABELS"]

#: How each method of the cross-validation is labelled, with the paper's column it matches.
METHOD_LABELS = {
    ("levelset", "test"): ("Level set", "levelset"),
    ("unet", "test"): ("UNet", "unet"),
    ("lsn-uniform", "valid"): ("LSN test", "lsn_test"),
    ("lsn-uniform", "test"): ("LSN validation", "lsn_validation"),
    ("lsn-bubbles", "test"): ("LSN, bubble u0", None),
}


def table2_figure(per_volume: list[dict], *, title: str = "Dice per held-out volume") -> go.Figure:
    """Per-volume Dice per method as box plots with every volume shown, paper averages as dashes.

    Parameters
    ----------
    per_volume : list of dict
        Rows with ``method``, ``split``, ``dice``, ``fold`` and ``dataid`` (as written by
        :func:`lsn_explorer.experiments.run_table2`).
    title : str
        Figure title.

    Returns
    -------
    go.Figure
        One box per method; a dashed segment at the paper's average where the paper has one.
    """
    from ..experiments.paper import PAPER_TABLE2  # here: importing experiments loads the training stack

    figure = go.Figure()
    for (method, split), (label, paper_column) in METHOD_LABELS.items():
        rows = [r for r in per_volume if r["method"] == method and r["split"] == split]
        if not rows:
            continue
        figure.add_trace(go.Box(
            x=[label] * len(rows), y=[r["dice"] for r in rows], name=label, boxpoints="all", jitter=0.4,
            pointpos=0, text=[f"fold {r['fold']} · volume {r['dataid']}" for r in rows],
            hovertemplate="%{text}<br>Dice %{y:.3f}<extra></extra>",
        ))
        if paper_column:
            figure.add_trace(go.Scatter(
                x=[label], y=[PAPER_TABLE2["Avg"][paper_column]], mode="markers", showlegend=False,
                marker=dict(symbol="line-ew-open", size=48, color="black", line=dict(width=2)),
                hovertemplate=f"paper's average {PAPER_TABLE2['Avg'][paper_column]:.3f}<extra></extra>",
            ))
    figure.add_annotation(text="— paper's Table 2 average", xref="paper", yref="paper", x=1, y=1.06, showarrow=False)
    figure.update_layout(title=title, yaxis=dict(title="Dice", range=[0, 1.02]), showlegend=False,
                         template="plotly_white", margin=dict(l=60, r=20, t=60, b=40))
    return figure
