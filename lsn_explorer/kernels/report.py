"""The whole atlas of one model, its per-layer summary, CSV files and the ``kernels`` command.

:func:`analyze_kernels` runs every step once per model (collect, per-layer
k-means, one global PCA, identification, the authors' spectral labels) and
returns an :class:`Atlas` of plain arrays that figures and apps slice.
:func:`kernels_command` writes it to a folder: per layer a scatter (the
paper's Figure 3 panel), the cluster centres as heatmaps and a CSV of the
kernels; then a summary CSV, summary bars and a grid of selected layers.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..levelset.stencils import FINITE_DIFFERENCE_STENCILS, REFERENCE_KERNELS
from .cluster import LayerClusters, cluster_layers
from .collect import KernelSet, collect_kernels
from .identify import OPERATORS, STENCIL_CATALOGUE, Identification, identify_kernels
from .project import PCA2, reference_matrix, umap_cache_name, umap_embedding
from .spectrum import SPECTRUM_REFERENCES, spectrum_labels

__all__ = [
    "PLOT_STENCILS",
    "FIRST_ORDER_STENCILS",
    "PAPER_LAYERS",
    "Atlas",
    "analyze_kernels",
    "layer_summary",
    "kernel_rows",
    "write_csv",
    "load_model_argument",
    "grid_layers",
    "atlas_figures",
    "write_figures",
    "kernels_command",
    "precompute_umap",
]

PLOT_STENCILS = {**REFERENCE_KERNELS, **FINITE_DIFFERENCE_STENCILS}
"""What the scatters show beside the kernels: the 11 reference kernels and the LSN's finite differences."""

FIRST_ORDER_STENCILS = ("edge-right", "edge-up", "edge-left", "edge-down", "D+x", "D-x", "D+y", "D-y", "Dx", "Dy")
"""Stencils of first derivatives (the paper: "no clear cluster ... around first-order stencils")."""

PAPER_LAYERS = (2, 11, 12, 15, 17, 18)
"""Layers (1-based) shown in the paper's Figure 3."""


@dataclass(frozen=True)
class Atlas:
    """Everything the kernel atlas computes for one model (arrays, no figures).

    Attributes
    ----------
    kernels : KernelSet
    clusters : LayerClusters
        Per-layer k-means.
    pca : PCA2
        One basis fitted on all kernels.
    coords : (K, 2) array
        Kernels in the global PCA plane.
    stencil_names : list of str
        :data:`PLOT_STENCILS` names.
    stencil_coords : (R, 2) array
        The stencils in the same plane (same centring as the data).
    identification : Identification
    spectral : (K,) array of str
        The authors' FFT-spectrum label.
    options : dict
        The arguments of :func:`analyze_kernels`.
    """

    kernels: KernelSet
    clusters: LayerClusters
    pca: PCA2
    coords: np.ndarray
    stencil_names: list
    stencil_coords: np.ndarray
    identification: Identification
    spectral: np.ndarray
    options: dict


def analyze_kernels(
    model,
    *,
    n_clusters: int = 3,
    canonicalize: bool = False,
    symmetry: bool = False,
    n_init: int = 10,
    random_state: int = 0,
    spectrum_shape: tuple[int, int] | None = (32, 32),
) -> Atlas:
    """Collect, cluster per layer, project with one global PCA, and identify every kernel.

    Parameters
    ----------
    model : nn.Module, KernelSet, str or Path
        Anything :func:`~lsn_explorer.kernels.collect_kernels` accepts.
    n_clusters : int, optional
        k of the per-layer k-means. Default 3.
    canonicalize, symmetry : bool, optional
        Cluster canonical forms (see :class:`~lsn_explorer.kernels.KernelAtlas`). Default False.
    n_init : int, optional
        k-means restarts. Default 10.
    random_state : int, optional
        Seed. Default 0.
    spectrum_shape : (int, int) or None, optional
        Grid of the authors' spectral labels; ``None`` skips them
        (labels ``"n/a"``). Default (32, 32).

    Returns
    -------
    Atlas
    """
    ks = collect_kernels(model)
    clusters = cluster_layers(
        ks, n_clusters, canonicalize=canonicalize, symmetry=symmetry, n_init=n_init, random_state=random_state
    )
    pca = PCA2(2).fit(ks.kernels) if len(ks) >= 2 else None
    names, R = reference_matrix(PLOT_STENCILS)
    if pca is None:
        raise InputError(f"{ks.source} has {len(ks)} kernel; the atlas needs at least 2")
    ident = identify_kernels(ks.kernels)
    spectral = spectrum_labels(ks.kernels, spectrum_shape)[0] if spectrum_shape else np.full(len(ks), "n/a")
    return Atlas(
        kernels=ks, clusters=clusters, pca=pca, coords=pca.transform(ks.kernels), stencil_names=names,
        stencil_coords=pca.transform(R), identification=ident, spectral=spectral,
        options=dict(n_clusters=n_clusters, canonicalize=canonicalize, symmetry=symmetry, n_init=n_init,
                     random_state=random_state, spectrum_shape=spectrum_shape),
    )


def _centroid_operators(atlas: Atlas, index: int) -> str:
    centers = atlas.clusters.centers[index]
    ident = identify_kernels(centers)
    return ";".join(f"{o}:{r:.2f}" for o, r in zip(ident.operator, ident.residual))


def layer_summary(atlas: Atlas, *, max_residual: float = 0.5) -> list[dict]:
    """One row per layer: scores, fraction mean-zero, fractions per operator / stencil / spectral label.

    A kernel counts as "near" an operator or stencil when its residual is at most
    ``max_residual`` (0.5 ⇔ cosine similarity ≥ 0.87 to a stencil); the rest is
    ``unidentified``.

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
    ops = [op.name for op in OPERATORS]
    stencil_names = list(STENCIL_CATALOGUE)
    spec_names = list(SPECTRUM_REFERENCES) + ["indeterminate"]
    ok_op = ident.residual <= max_residual
    ok_near = ident.nearest_residual <= max_residual
    rows = []
    for index, info in enumerate(ks.layers):
        sl = slice(info.start, info.stop)
        n = info.n_kernels
        row = dict(
            layer=index + 1, name=info.name, part=info.part, n_kernels=n,
            silhouette=atlas.clusters.silhouette[index], davies_bouldin=atlas.clusters.davies_bouldin[index],
            inertia=atlas.clusters.inertia[index], mean_zero=float(ident.mean_zero[sl].mean()),
        )
        op, okl = ident.operator[sl], ok_op[sl]
        for name in ops:
            row[f"op_{name}"] = float(((op == name) & okl).sum() / n)
        row["op_unidentified"] = float((~okl).sum() / n)
        near, okn = ident.nearest[sl], ok_near[sl]
        for name in stencil_names:
            row[f"near_{name}"] = float(((near == name) & okn).sum() / n)
        row["near_none"] = float((~okn).sum() / n)
        for name in spec_names:
            row[f"spectral_{name}"] = float((atlas.spectral[sl] == name).sum() / n)
        row["centroid_operators"] = _centroid_operators(atlas, index)
        cid = identify_kernels(atlas.clusters.centers[index])
        first = [ops.index("dx"), ops.index("dy")]
        row["centroid_first_order"] = float(np.nanmin(cid.residuals[:, first]))
        rows.append(row)
    return rows


def kernel_rows(atlas: Atlas, index: int | None = None) -> list[dict]:
    """Per-kernel rows (all layers, or layer ``index``, 0-based) for a CSV."""
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


def write_csv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write dict rows (same keys) to ``path`` atomically; floats with 10 significant digits."""
    from .._files import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        if rows:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for row in rows:
                w.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in row.items()})
    return path


def load_model_argument(model):
    """``"bundled-<name>"`` (e.g. ``"bundled-unet"``) -> that bundled model; anything else unchanged.

    Raises
    ------
    InputError
        A ``bundled-`` name that no bundled model has; the message lists them.
    """
    if isinstance(model, str) and model.startswith("bundled-"):
        from ..models import bundled_model, bundled_names

        name = model[len("bundled-") :]
        if name not in bundled_names():
            raise InputError(f"model={model!r}; expected one of {[f'bundled-{n}' for n in bundled_names()]} or a file")
        return bundled_model(name)
    return model


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "layer"


def grid_layers(n_layers: int) -> list[int]:
    """0-based layers for the summary grid: the paper's (2, 11, 12, 15, 17, 18) when there are 18."""
    if n_layers >= 18:
        return [k - 1 for k in PAPER_LAYERS]
    return sorted(set(np.linspace(0, n_layers - 1, min(6, n_layers)).round().astype(int).tolist()))


def atlas_figures(atlas: Atlas, *, max_residual: float = 0.5):
    """``{file stem: go.Figure}`` of the atlas: per-layer scatter and centres, summary bars, grid."""
    from ..viz.kernels import centroid_heatmaps_figure, kernel_scatter_figure, layer_summary_figure, scatter_grid_figure

    ks, ident = atlas.kernels, atlas.identification
    fd = list(FINITE_DIFFERENCE_STENCILS)
    ev = atlas.pca.explained_variance_ratio_
    axes = (f"PC 1 ({ev[0]:.0%})", f"PC 2 ({ev[1]:.0%})")
    figs = {}
    for index, info in enumerate(ks.layers):
        sl = slice(info.start, info.stop)
        hover = [
            f"in {i} → out {o}<br>{op} (residual {r:.2f}, order {od:g})<br>nearest {nn} ({nr:.2f})"
            for i, o, op, r, od, nn, nr in zip(ks.in_channel[sl], ks.out_channel[sl], ident.operator[sl], ident.residual[sl],
                                               ident.order[sl], ident.nearest[sl], ident.nearest_residual[sl])
        ]
        stem = f"layer_{index + 1:02d}_{_slug(info.name)}"
        title = f"layer {index + 1} ({info.name}, {info.part}): {info.n_kernels} kernels, silhouette {atlas.clusters.silhouette[index]:.2f}"
        figs[f"{stem}_scatter"] = kernel_scatter_figure(
            atlas.coords[sl], atlas.clusters.labels[sl], ref_coords=atlas.stencil_coords, ref_names=atlas.stencil_names,
            fd_names=fd, hover=hover, title=title, axis_titles=axes,
        )
        centers = atlas.clusters.centers[index]
        counts = np.bincount(atlas.clusters.labels[sl], minlength=len(centers))
        cid = identify_kernels(centers)
        figs[f"{stem}_centroids"] = centroid_heatmaps_figure(
            centers, titles=[f"cluster {c} (n={counts[c]})<br>{cid.operator[c]}, residual {cid.residual[c]:.2f}" for c in range(len(centers))]
        ).update_layout(title=f"layer {index + 1} cluster centres")
    rows = layer_summary(atlas, max_residual=max_residual)
    names = [f"{r['layer']}" for r in rows]
    fr = {op.name: [r[f"op_{op.name}"] for r in rows] for op in OPERATORS}
    fr = {k: v for k, v in fr.items() if max(v) > 0}
    fr["unidentified"] = [r["op_unidentified"] for r in rows]
    figs["summary_operators"] = layer_summary_figure(
        names, fr, lines={"mean-zero": [r["mean_zero"] for r in rows], "silhouette": [r["silhouette"] for r in rows]},
        colors={"unidentified": "#dddddd"}, title=f"nearest operator per layer (residual ≤ {max_residual})",
    ).update_layout(xaxis_title="layer")
    panels = [
        (f"layer {i + 1} ({ks.layers[i].part})", atlas.coords[ks.layers[i].start : ks.layers[i].stop],
         atlas.clusters.labels[ks.layers[i].start : ks.layers[i].stop])
        for i in grid_layers(ks.n_layers)
    ]
    figs["figure3_grid"] = scatter_grid_figure(panels, ref_coords=atlas.stencil_coords, ref_names=atlas.stencil_names, fd_names=fd)
    return figs, rows


def write_figures(figs: dict, out: Path, *, png: bool = True, html: bool = True) -> list[Path]:
    """Write ``{stem: figure}`` as ``stem.html`` and ``stem.png`` (one kaleido batch).

    The HTML files share one ``plotly.min.js`` written beside them, so they open offline.
    """
    import plotly.io as pio

    written = []
    if html:
        for stem, fig in figs.items():
            path = out / f"{stem}.html"
            fig.write_html(path, include_plotlyjs="directory")
            written.append(path)
    if png and figs:
        paths = [out / f"{stem}.png" for stem in figs]
        sizes = [(f.layout.width or 700, f.layout.height or 500) for f in figs.values()]
        try:
            pio.write_images(list(figs.values()), paths, width=[w for w, _ in sizes], height=[h for _, h in sizes])
        except (ImportError, RuntimeError, ValueError) as error:
            raise InputError(
                f"PNG export failed ({type(error).__name__}: {error}); it needs kaleido and a Chromium or Chrome "
                "browser (apt-get install chromium). Pass png=False (--no-png) for HTML figures only."
            ) from error
        written += paths
    return written


def kernels_command(
    model: str,
    *,
    out: str | Path,
    n_clusters: int = 3,
    canonicalize: bool = False,
    seed: int = 0,
    png: bool = True,
) -> Path:
    """``lsn-explorer kernels MODEL --out DIR``: write the atlas of a model to a folder.

    Parameters
    ----------
    model : str
        ``"bundled-unet"``, ``"bundled-lsn"``, a checkpoint / state_dict file or a Keras ``.h5`` file.
    out : str or Path
        Output folder (created).
    n_clusters : int, optional
        k of the per-layer k-means. Default 3.
    canonicalize : bool, optional
        Cluster canonical forms (sign, scale). Default False (the paper).
    seed : int, optional
        k-means seed. Default 0.
    png : bool, optional
        Also write PNGs (kaleido + Chromium). Default True.

    Returns
    -------
    Path
        ``out``, holding for every layer ``layer_NN_<name>.csv``, ``..._scatter.{html,png}``,
        ``..._centroids.{html,png}``; and ``summary.csv``, ``kernels.csv`` (all kernels),
        ``summary_operators.{html,png}``, ``figure3_grid.{html,png}``.

    Raises
    ------
    MissingDataError, CheckpointError, DataFileError
        For a missing or unreadable model file (the message names it).
    """
    out = Path(out)
    atlas = analyze_kernels(load_model_argument(model), n_clusters=n_clusters, canonicalize=canonicalize, random_state=seed)
    out.mkdir(parents=True, exist_ok=True)
    figs, summary = atlas_figures(atlas)
    for index, info in enumerate(atlas.kernels.layers):
        write_csv(out / f"layer_{index + 1:02d}_{_slug(info.name)}.csv", kernel_rows(atlas, index))
    write_csv(out / "kernels.csv", kernel_rows(atlas))
    write_csv(out / "summary.csv", summary)
    write_figures(figs, out, png=png)
    return out


def precompute_umap(model, *, random_state: int = 0, out_dir: str | os.PathLike | None = None) -> Path:
    """Compute (or read) the global UMAP of a model's kernels with :data:`PLOT_STENCILS`, and cache it.

    Parameters
    ----------
    model : str, nn.Module, KernelSet or Path
        As :func:`kernels_command` (``"bundled-unet"`` ...).
    random_state : int, optional
        Default 0.
    out_dir : str or Path, optional
        Also copy the file there (e.g. ``lsn_explorer/assets/umap`` to ship it).

    Returns
    -------
    Path
        The cached ``.npz`` (in ``out_dir`` when given).
    """
    import shutil

    from .._files import cache_dir
    from .project import BUNDLED_UMAP_DIR

    ks = collect_kernels(load_model_argument(model))
    _, R = reference_matrix(PLOT_STENCILS)
    umap_embedding(ks.kernels, references=R, random_state=random_state)
    name = umap_cache_name(ks.kernels, references=R, random_state=random_state)
    # the call above either wrote the user cache or read the bundled copy
    path = cache_dir() / "umap" / name
    if not path.is_file():
        path = BUNDLED_UMAP_DIR / name
    if out_dir is None:
        return path
    target = Path(out_dir) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.resolve() != target.resolve():
        shutil.copyfile(path, target)
    return target
