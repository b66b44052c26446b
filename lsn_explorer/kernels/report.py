"""``lsn-explorer kernels MODEL --out DIR``: write the atlas of a model to a folder.

:func:`kernels_command` chains the atlas's parts and reports each stage as it
ends: :func:`~lsn_explorer.kernels.atlas.analyze_kernels` (collect, cluster,
project, identify), then the tables (:mod:`~lsn_explorer.kernels.tables`) and
figures (:mod:`~lsn_explorer.kernels.figures`) as CSV and HTML, then the PNGs,
which take most of the time and can be skipped.

The atlas's other public names are importable from here too:
``PLOT_STENCILS``, ``FIRST_ORDER_STENCILS``, ``Atlas``, ``analyze_kernels``
(:mod:`~lsn_explorer.kernels.atlas`); ``layer_summary``, ``kernel_rows``,
``write_csv`` (:mod:`~lsn_explorer.kernels.tables`); ``PAPER_LAYERS``,
``grid_layers``, ``atlas_figures`` (:mod:`~lsn_explorer.kernels.figures`);
``write_figures`` (:mod:`lsn_explorer.viz.export`); ``load_model_argument``
(:mod:`~lsn_explorer.kernels.model_argument`); ``precompute_umap``
(:mod:`~lsn_explorer.kernels.atlas_umap`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..levelset.stencils import FINITE_DIFFERENCE_STENCILS
from ..viz.export import write_figures
from .atlas import FIRST_ORDER_STENCILS, PLOT_STENCILS, Atlas, analyze_kernels
from .atlas_umap import precompute_umap
from .figures import PAPER_LAYERS, atlas_figures, grid_layers, layer_stem
from .model_argument import load_model_argument
from .stage_clock import StageClock
from .tables import kernel_rows, layer_summary, write_csv

__all__ = [
    "PLOT_STENCILS",
    "FIRST_ORDER_STENCILS",
    "FINITE_DIFFERENCE_STENCILS",
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


def _write_tables(atlas: Atlas, summary: list[dict], out: Path) -> int:
    """Per-layer, all-kernel and summary CSV files; returns how many were written."""
    written = [write_csv(out / f"{layer_stem(index, info.name)}.csv", kernel_rows(atlas, index))
               for index, info in enumerate(atlas.kernels.layers)]
    written += [write_csv(out / "kernels.csv", kernel_rows(atlas)), write_csv(out / "summary.csv", summary)]
    return len(written)


def kernels_command(
    model: str,
    *,
    out: str | Path,
    n_clusters: int = 3,
    canonicalize: bool = False,
    seed: int = 0,
    png: bool = True,
    progress: Callable[[str], None] | None = None,
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
        Also write PNGs (kaleido + Chromium; most of the run time). Default True.
    progress : callable, optional
        ``progress(line)`` once per stage: collect, cluster, project, identify,
        figures (CSV and HTML written), png; each line ends with the stage's seconds.
        Default: silent.

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
    InputError
        For an unknown ``bundled-`` name, or when PNG export fails.
    """
    out = Path(out)
    atlas = analyze_kernels(load_model_argument(model), n_clusters=n_clusters, canonicalize=canonicalize,
                            random_state=seed, progress=progress)
    clock = StageClock(progress)
    out.mkdir(parents=True, exist_ok=True)
    figs, summary = atlas_figures(atlas)
    n_csv = _write_tables(atlas, summary, out)
    write_figures(figs, out, png=False)
    clock.done("figures", f"{len(figs)} HTML figures and {n_csv} CSV files in {out}")
    if png:
        write_figures(figs, out, html=False)
        clock.done("png", f"{len(figs)} PNG files")
    return out
