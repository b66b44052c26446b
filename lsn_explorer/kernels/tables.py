"""The atlas as tables: one row per kernel, per-layer fractions and summaries, CSV text and files."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from .atlas import Atlas
from .identify import OPERATORS, STENCIL_CATALOGUE, identify_kernels
from .spectrum import SPECTRUM_REFERENCES

__all__ = ["kernel_rows", "layer_fractions", "layer_summary", "csv_text", "write_csv"]


def kernel_rows(atlas: Atlas, index: int | None = None) -> list[dict]:
    """Per-kernel rows (all layers, or layer ``index``, 0-based) for a CSV.

    Returns
    -------
    list of dict
        Keys: ``layer`` (1-based), ``layer_name``, ``part``, ``in_channel``, ``out_channel``,
        the nine weights ``w00`` ... ``w22`` (``w<row><col>``), ``cluster``, ``pc1``, ``pc2``,
        ``nearest_stencil``, ``nearest_residual``, ``operator``, ``operator_scale``,
        ``residual``, ``order``, ``mean_zero``, ``spectral``.
    """
    ks, ident = atlas.kernels, atlas.identification
    sel = np.arange(len(ks)) if index is None else np.arange(ks.layers[index].start, ks.layers[index].stop)
    rows = []
    for r in sel:
        info = ks.layers[ks.layer[r]]
        row = dict(layer=int(ks.layer[r]) + 1, layer_name=info.name, part=info.part,
                   in_channel=int(ks.in_channel[r]), out_channel=int(ks.out_channel[r]))
        for j, w in enumerate(ks.kernels[r]):
            row[f"w{j // 3}{j % 3}"] = float(w)
        row.update(
            cluster=int(atlas.clusters.labels[r]), pc1=float(atlas.coords[r, 0]), pc2=float(atlas.coords[r, 1]),
            nearest_stencil=str(ident.nearest[r]), nearest_residual=float(ident.nearest_residual[r]),
            operator=str(ident.operator[r]), operator_scale=float(ident.scale[r]), residual=float(ident.residual[r]),
            order=float(ident.order[r]), mean_zero=bool(ident.mean_zero[r]), spectral=str(atlas.spectral[r]),
        )
        rows.append(row)
    return rows


def layer_fractions(atlas: Atlas, index: int, *, max_residual: float = 0.5) -> tuple[dict, dict]:
    """Fractions of a layer's kernels near each operator and each catalogue stencil.

    A kernel counts as near an operator or stencil when its residual is at most
    ``max_residual`` (0.5 ⇔ cosine similarity ≥ 0.87 to a stencil); the rest is ``"none"``.

    Parameters
    ----------
    atlas : Atlas
    index : int
        Layer, 0-based.
    max_residual : float, optional
        Default 0.5.

    Returns
    -------
    operators, stencils : dict of str -> float
        Every operator of :data:`~lsn_explorer.kernels.identify.OPERATORS` (then
        ``"zero"``, all-zero kernels) and every stencil of
        :data:`~lsn_explorer.kernels.identify.STENCIL_CATALOGUE`, in that fixed order
        (so layers compare bar by bar), ``"none"`` last; each sums to 1.
    """
    info = atlas.kernels.layers[index]
    sl = slice(info.start, info.stop)
    ident = atlas.identification
    n = max(info.n_kernels, 1)

    def fractions(categories, names, residuals):
        ok = residuals <= max_residual
        out = {c: float(((names == c) & ok).sum() / n) for c in categories}
        out["none"] = float((~ok).sum() / n)
        return out

    ops = [op.name for op in OPERATORS] + ["zero"]
    return (fractions(ops, ident.operator[sl], ident.residual[sl]),
            fractions(list(STENCIL_CATALOGUE), ident.nearest[sl], ident.nearest_residual[sl]))


def _centroid_columns(centers) -> dict:
    """``centroid_operators`` ("operator:residual" per centre) and ``centroid_first_order`` of a layer's centres."""
    cid = identify_kernels(centers)
    first = [cid.operators.index("dx"), cid.operators.index("dy")]
    return dict(
        centroid_operators=";".join(f"{o}:{r:.2f}" for o, r in zip(cid.operator, cid.residual)),
        centroid_first_order=float(np.nanmin(cid.residuals[:, first])),
    )


def layer_summary(atlas: Atlas, *, max_residual: float = 0.5) -> list[dict]:
    """One row per layer: scores, fraction mean-zero, fractions per operator / stencil / spectral label.

    A kernel counts as "near" an operator or stencil when its residual is at most
    ``max_residual`` (as :func:`layer_fractions`); the rest is ``unidentified``.

    Returns
    -------
    list of dict
        Keys: ``layer`` (1-based), ``name``, ``part``, ``n_kernels``, ``silhouette``,
        ``davies_bouldin``, ``inertia``, ``mean_zero``, ``op_<operator>``,
        ``op_unidentified``, ``near_<stencil>``, ``near_none``, ``spectral_<label>``,
        ``centroid_operators`` ("operator:residual" per cluster centre) and
        ``centroid_first_order`` (smallest residual of a centre against ∂x / ∂y).
    """
    ks, ident = atlas.kernels, atlas.identification
    spec_names = list(SPECTRUM_REFERENCES) + ["indeterminate"]
    rows = []
    for index, info in enumerate(ks.layers):
        sl = slice(info.start, info.stop)
        n = info.n_kernels
        row = dict(
            layer=index + 1, name=info.name, part=info.part, n_kernels=n,
            silhouette=atlas.clusters.silhouette[index], davies_bouldin=atlas.clusters.davies_bouldin[index],
            inertia=atlas.clusters.inertia[index], mean_zero=float(ident.mean_zero[sl].mean()),
        )
        ops, near = layer_fractions(atlas, index, max_residual=max_residual)
        row.update({f"op_{op.name}": ops[op.name] for op in OPERATORS}, op_unidentified=ops["none"])
        row.update({f"near_{name}": near[name] for name in STENCIL_CATALOGUE}, near_none=near["none"])
        for name in spec_names:
            row[f"spectral_{name}"] = float((atlas.spectral[sl] == name).sum() / n)
        row.update(_centroid_columns(atlas.clusters.centers[index]))
        rows.append(row)
    return rows


def csv_text(rows: list[dict], *, lineterminator: str = "\n") -> str:
    """CSV text of dict rows (same keys; the first row's order); floats with 10 significant digits.

    Parameters
    ----------
    rows : list of dict
    lineterminator : str, optional
        Default ``"\\n"``.

    Returns
    -------
    str
        Empty for no rows.
    """
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator=lineterminator)
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def write_csv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write :func:`csv_text` of ``rows`` to ``path`` atomically, with ``\\r\\n`` line ends (the csv module's)."""
    from .._files import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        fh.write(csv_text(rows, lineterminator="\r\n"))
    return path
