"""What the kernel explorer computes, as plain functions on arrays (no widgets).

The app (:class:`~lsn_explorer.apps.KernelExplorer`) calls these once per model
(:func:`load_kernel_set`, :func:`explorer_atlas`, :func:`model_projections`,
:func:`kernel_hover`) and then only slices their results: :func:`layer_clusters`
per (layer, k, canonical), :func:`kernel_details` and :func:`kernel_response`
per click, :func:`selection_csv` per box/lasso selection. Everything here runs
without a browser, so it is tested directly.

UMAP is read from the cache only (:func:`cached_umap`); umap-learn is never
imported, so a model without a precomputed embedding simply has no UMAP view.

Some of these names belong to the library and are only gathered here for the app:
:func:`kernel_hover` (:mod:`lsn_explorer.kernels.figures`), :func:`layer_fractions`
and :func:`selection_csv` (``csv_text`` of :mod:`lsn_explorer.kernels.tables`),
:func:`cached_umap` (:mod:`lsn_explorer.kernels.atlas_umap`) and :func:`view_range`
(:mod:`lsn_explorer.viz.kernels`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import atomic_path
from ..errors import InputError, MissingDataError
from ..kernels.atlas import PLOT_STENCILS, Atlas, analyze_kernels
from ..kernels.atlas_umap import cached_umap
from ..kernels.collect import KernelSet, collect_kernels
from ..kernels.figures import kernel_hover
from ..kernels.identify import STENCIL_CATALOGUE
from ..kernels.model_argument import load_model_argument
from ..kernels.tables import csv_text as selection_csv
from ..kernels.tables import kernel_rows, layer_fractions
from ..levelset.stencils import FINITE_DIFFERENCE_STENCILS
from ..models.bundled import ASSETS
from ..viz.kernels import view_range

__all__ = [
    "EXPLORER_ASSETS",
    "MAX_MODEL_BYTES",
    "MAX_UPLOAD_BYTES",
    "model_choices",
    "PROJECTIONS",
    "FD_NAMES",
    "Projection",
    "load_kernel_set",
    "kernels_from_upload",
    "explorer_atlas",
    "cached_umap",
    "model_projections",
    "umap_view",
    "kernel_hover",
    "layer_clusters",
    "centroid_labels",
    "view_range",
    "KernelDetails",
    "kernel_details",
    "phantom_ct_slice",
    "write_phantom_ct_slice",
    "ct_slice",
    "kernel_response",
    "response_png",
    "selection_rows",
    "selection_csv",
    "layer_fractions",
]

EXPLORER_ASSETS = ASSETS / "explorer"
"""What the app ships precomputed: each bundled model's state and the phantom CT slice."""

MAX_MODEL_BYTES = 50 * 1024 * 1024
"""Largest model file (path or upload) the app reads: 50 MiB."""

MAX_UPLOAD_BYTES = 9 * 1024 * 1024
"""Largest upload the app reads: 9 MiB. An upload travels over the page's websocket, and the
server (tornado) closes a websocket on a message over 10 MiB, so a larger model file
should be given by its path."""

def model_choices() -> dict[str, str]:
    """The bundled models of the registry: ``"bundled-<name>"`` -> label (e.g. "bundled phantom UNet")."""
    from ..models import bundled_names
    from ..models.registry import title

    return {f"bundled-{name}": f"bundled phantom {title(name)}" for name in bundled_names()}

FD_NAMES = tuple(FINITE_DIFFERENCE_STENCILS)
"""Stencils of the LSN (drawn as black diamonds; often far outside the kernels' range)."""

PROJECTIONS = {"global": "global PCA", "layer": "per-layer PCA", "umap": "UMAP (cached)"}
"""2-D views: key -> label."""


@dataclass(frozen=True)
class Projection:
    """All kernels of a model in one 2-D view.

    Attributes
    ----------
    coords : (K, 2) array
        Every kernel.
    ref_coords : (L, R, 2) array
        The :data:`~lsn_explorer.kernels.atlas.PLOT_STENCILS` in each layer's plane
        (the same for every layer in a global view).
    axis_titles : list of (str, str)
        One pair per layer.
    """

    coords: np.ndarray
    ref_coords: np.ndarray
    axis_titles: list


def load_kernel_set(model, *, max_bytes: int = MAX_MODEL_BYTES) -> KernelSet:
    """The kernels of a bundled model or of a model file, refusing files over ``max_bytes``.

    Parameters
    ----------
    model : str, Path, nn.Module or KernelSet
        ``"bundled-<name>"`` for a bundled model (:func:`model_choices`), a
        checkpoint / state_dict / Keras ``.h5`` path (read without unpickling), or anything
        :func:`~lsn_explorer.kernels.collect_kernels` accepts.
    max_bytes : int, optional
        Size limit of a file. Default :data:`MAX_MODEL_BYTES`.

    Returns
    -------
    KernelSet

    Raises
    ------
    InputError
        An unknown ``bundled-`` name, an empty path, or a file over the limit.
    MissingDataError
        A path that does not exist.
    CheckpointError, DataFileError
        A file that is not a readable model or holds no 3x3 kernels.
    """
    if isinstance(model, str) and model.startswith("bundled-"):
        return collect_kernels(load_model_argument(model))
    if isinstance(model, (str, os.PathLike)):
        if not str(model).strip():
            raise InputError("model path is empty; expected a checkpoint, state_dict or Keras .h5 file")
        path = Path(model).expanduser()
        if not path.is_file():
            raise MissingDataError(f"model file {path} does not exist")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"model file {path} has {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
        return collect_kernels(path)
    return collect_kernels(model)


def kernels_from_upload(name: str, content: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> KernelSet:
    """The kernels of an uploaded model file (bytes), parsed like a path, never unpickled.

    The bytes go to a temporary file named with the upload's suffix, are read with
    :func:`load_kernel_set`, and the file is removed.

    Parameters
    ----------
    name : str
        The uploaded file's name (its suffix picks the reader; shown in messages).
    content : bytes
    max_bytes : int, optional
        Default :data:`MAX_UPLOAD_BYTES`.

    Returns
    -------
    KernelSet
        With ``source`` set to ``name``.

    Raises
    ------
    InputError
        Empty or too large.
    CheckpointError, DataFileError
        Not a readable model; the message names the upload, not the temporary file.
    """
    content = bytes(content)
    if not content:
        raise InputError(f"uploaded file {name!r} is empty; expected a checkpoint, state_dict or Keras .h5 file")
    if len(content) > max_bytes:
        raise InputError(f"uploaded file {name!r} has {len(content) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    suffix = Path(name).suffix.lower()[:10]
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="lsn_upload_")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        try:
            ks = load_kernel_set(tmp, max_bytes=max_bytes)
        except (ValueError, FileNotFoundError) as exc:
            raise type(exc)(str(exc).replace(tmp, repr(name))) from None
    finally:
        os.unlink(tmp)
    return dataclasses.replace(ks, source=name)


def explorer_atlas(kernel_set: KernelSet, *, n_clusters: int = 3, random_state: int = 0) -> Atlas:
    """The atlas the app starts from: per-layer k-means at ``n_clusters``, global PCA, identification.

    The authors' spectral labels are skipped (the app does not show them), which
    keeps the cold start short.
    """
    return analyze_kernels(kernel_set, n_clusters=n_clusters, random_state=random_state, spectrum_shape=None)


def model_projections(atlas: Atlas, *, umap: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Projection]:
    """Every 2-D view of a model, computed once: ``{"global": ..., "layer": ..., ["umap": ...]}``.

    Parameters
    ----------
    atlas : Atlas
    umap : (coords (K, 2), ref_coords (R, 2)), optional
        From :func:`cached_umap`; without it there is no ``"umap"`` entry.

    Returns
    -------
    dict of str -> Projection
    """
    from ..kernels.project import layer_pca, reference_matrix

    ks = atlas.kernels
    L = ks.n_layers
    ev = atlas.pca.explained_variance_ratio_
    views = {
        "global": Projection(
            atlas.coords, np.broadcast_to(atlas.stencil_coords, (L, *atlas.stencil_coords.shape)),
            [(f"global PC 1 ({ev[0]:.0%})", f"global PC 2 ({ev[1]:.0%})")] * L,
        )
    }
    _, R = reference_matrix(PLOT_STENCILS)
    coords, pcas, refs = layer_pca(ks, R)
    views["layer"] = Projection(
        coords, refs,
        [(f"layer PC 1 ({p.explained_variance_ratio_[0]:.0%})", f"layer PC 2 ({p.explained_variance_ratio_[1]:.0%})") for p in pcas],
    )
    if umap is not None:
        views["umap"] = umap_view(umap, L)
    return views


def umap_view(umap: tuple[np.ndarray, np.ndarray], n_layers: int) -> Projection:
    """The ``"umap"`` view of :func:`model_projections` from :func:`cached_umap`'s ``(coords, ref_coords)``."""
    u, ur = umap
    return Projection(np.asarray(u), np.broadcast_to(ur, (n_layers, *np.shape(ur))), [("UMAP 1", "UMAP 2")] * n_layers)


def layer_clusters(kernels, n_clusters: int, *, canonicalize: bool = False, random_state: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """k-means of one layer's kernels: ``(labels (n,), centers (k, 9), silhouette)``.

    ``n_clusters`` is capped at the number of kernels; ``canonicalize`` clusters
    canonical forms (sign, scale), whose centres are then canonical too.
    """
    from ..kernels.cluster import KernelAtlas

    X = np.asarray(kernels, dtype=np.float64).reshape(-1, 9)
    if not 1 <= n_clusters:
        raise InputError(f"n_clusters={n_clusters!r}; expected at least 1")
    fit = KernelAtlas(min(int(n_clusters), len(X)), canonicalize=canonicalize, random_state=random_state).fit(X)
    return fit.labels_, fit.centers_, float(fit.silhouette_)


def centroid_labels(centers) -> list[str]:
    """``"operator, residual r"`` of each cluster centre ((k, 9) array)."""
    from ..kernels.identify import identify_kernels

    ident = identify_kernels(np.asarray(centers, dtype=np.float64).reshape(-1, 9))
    return [f"{op}, residual {r:.2f}" for op, r in zip(ident.operator, ident.residual)]


@dataclass(frozen=True, eq=False)
class KernelDetails:
    """What the app shows for one kernel (:func:`kernel_details`).

    Attributes
    ----------
    title : str
        ``"layer L · out o · in i"`` (layer 1-based).
    kernel, nearest_kernel : (3, 3) float64 ndarray
        The weights (row 0 on top), and the nearest stencil times its best non-negative
        scale, so that it is drawn on the kernel's scale.
    nearest, operator : str
        The nearest stencil of :data:`~lsn_explorer.kernels.identify.STENCIL_CATALOGUE`, and
        the nearest differential operator (``"zero"`` for an all-zero kernel).
    nearest_residual, residual : float
        Residuals in [0, 1] against that stencil and against the operator.
    scale, order : float
        The coefficient of the operator's leading term, and the order of accuracy
        (0 = inconsistent, ``inf`` = exact to order 8).
    mean_zero : bool
        Whether the weights sum to zero.
    """

    title: str
    kernel: np.ndarray
    nearest: str
    nearest_kernel: np.ndarray
    nearest_residual: float
    operator: str
    scale: float
    residual: float
    order: float
    mean_zero: bool


def kernel_details(atlas: Atlas, row: int) -> KernelDetails:
    """What the app shows for one kernel.

    Parameters
    ----------
    atlas : Atlas
    row : int
        Row of ``atlas.kernels`` (0-based, over all layers).

    Returns
    -------
    KernelDetails

    Raises
    ------
    InputError
        If ``row`` is not a row of the atlas.
    """
    ks, ident = atlas.kernels, atlas.identification
    if not 0 <= row < len(ks):
        raise InputError(f"row={row!r}; expected 0..{len(ks) - 1}")
    q = ks.kernels[row]
    name = str(ident.nearest[row])
    s = np.asarray(STENCIL_CATALOGUE[name], dtype=np.float64).ravel()
    fit = max(float(q @ s) / float(s @ s), 0.0) if s @ s > 0 else 0.0
    return KernelDetails(
        title=f"layer {int(ks.layer[row]) + 1} · out {int(ks.out_channel[row])} · in {int(ks.in_channel[row])}",
        kernel=q.reshape(3, 3).copy(), nearest=name, nearest_kernel=(fit * s).reshape(3, 3),
        nearest_residual=float(ident.nearest_residual[row]), operator=str(ident.operator[row]),
        scale=float(ident.scale[row]), residual=float(ident.residual[row]), order=float(ident.order[row]),
        mean_zero=bool(ident.mean_zero[row]),
    )


def _phantom_slice_path(size: int, seed: int) -> Path:
    from ..data.phantom import FORMAT

    return EXPLORER_ASSETS / f"phantom-v{FORMAT}-slice-{size}-seed{seed}.npy"


def phantom_ct_slice(*, size: int = 256, seed: int = 0) -> np.ndarray:
    """A phantom CT slice through the liver, windowed to [-1, 1] as the networks see it; ``(size, size)`` float32.

    The app's slice (256², seed 0) ships with the package (:func:`write_phantom_ct_slice`) and is
    memory-mapped read-only; any other is generated (about 0.1 s plus the imports).
    """
    shipped = _phantom_slice_path(size, seed)
    if shipped.is_file():
        return np.load(shipped, mmap_mode="r", allow_pickle=False)
    return _generate_phantom_slice(size, seed)


def _generate_phantom_slice(size: int, seed: int) -> np.ndarray:
    from ..data.phantom import widest_liver_slice

    return widest_liver_slice(0, seed=seed, size=size, num_slices=16)[0]


def write_phantom_ct_slice(out_dir=EXPLORER_ASSETS, *, size: int = 256, seed: int = 0) -> Path:
    """Generate the app's phantom slice into ``out_dir`` (default: where it ships; run after a phantom change)."""
    path = Path(out_dir) / _phantom_slice_path(size, seed).name
    with atomic_path(path) as tmp:
        np.save(tmp, _generate_phantom_slice(size, seed))
    return path


def ct_slice(source: str = "phantom", *, size: int = 256, progress=None) -> np.ndarray:
    """A CT slice through the liver, windowed to [-1, 1]; ``(size, size)`` float32.

    Parameters
    ----------
    source : str
        ``"phantom"`` (default): :func:`phantom_ct_slice` (seed 0). ``"sample"``: the
        real CT sample, fetched on first use (see :mod:`lsn_explorer.data.sample`); a
        LiTS folder or a CSV also works (see :func:`~lsn_explorer.apps.sources.load_source`).
        Either way, the slice with the most liver (of the first volume of a data source; its middle
        slice when the volume has no label).
    size : int
        In-plane size in pixels. Default 256.
    progress : callable, optional
        ``progress(message)`` at each stage of a first fetch of the sample; unused
        for the phantom.

    Returns
    -------
    (size, size) float32 ndarray
        C-contiguous, HU window (-100, 400) mapped to [-1, 1].

    Raises
    ------
    SampleError
        ``"sample"`` cannot be fetched or read (see
        :func:`~lsn_explorer.data.sample.fetch_sample`).
    InputError, MissingDataError, DataFileError
        Another source that cannot be loaded (see :func:`~lsn_explorer.data.load_volumes`).
    """
    if source == "phantom":
        return phantom_ct_slice(size=size)
    from ..data import PreprocessSettings
    from .sources import load_source

    volume = load_source(source, PreprocessSettings(size=size, slices="liver"), progress)[0]
    return np.ascontiguousarray(volume.image[volume.liver_slice()], dtype=np.float32)


def kernel_response(kernel, image) -> np.ndarray:
    """The kernel applied to an image as a convolution layer does (cross-correlation, edge padding).

    Parameters
    ----------
    kernel : (3, 3) or (9,) array
        Row-major weights; ``kernel[1, 1]`` weighs the pixel itself.
    image : (H, W) array

    Returns
    -------
    (H, W) float32 ndarray
        ``out[i, j] = sum(kernel[r, c] * image[i + r - 1, j + c - 1])``, a pixel beyond the
        border taking the value of the nearest border pixel: :func:`scipy.ndimage.correlate`
        with ``mode="nearest"``.

    Raises
    ------
    InputError
        If ``image`` is not 2-D.
    """
    from scipy import ndimage

    k = np.asarray(kernel, dtype=np.float32).reshape(3, 3)
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise InputError(f"image has shape {img.shape}; expected (H, W)")
    return ndimage.correlate(img, k, mode="nearest")


def response_png(response) -> bytes:
    """PNG bytes of a response, grey with 0 at mid-grey and ±(99th percentile of |r|) at black / white.

    Parameters
    ----------
    response : (H, W) array

    Returns
    -------
    bytes
        A one-channel (mode ``"L"``) PNG.
    """
    from ..viz.slices import png_bytes, window_to_uint8

    r = np.asarray(response, dtype=np.float64)
    m = float(np.percentile(np.abs(r), 99)) or float(np.abs(r).max()) or 1.0
    return png_bytes(window_to_uint8(r, (-m, m)))


def selection_rows(atlas: Atlas, index: int, positions, *, labels, coords) -> list[dict]:
    """CSV rows of selected kernels of layer ``index`` (0-based).

    Parameters
    ----------
    atlas : Atlas
    index : int
        Layer, 0-based.
    positions : sequence of int
        Kernels by position within the layer (plotly's point indices).
    labels : (n,) int array
        The layer's current cluster labels (they replace the atlas's ``cluster``).
    coords : (n, 2) array
        The layer's kernels in the current view (columns ``x``, ``y``).

    Returns
    -------
    list of dict
        :func:`~lsn_explorer.kernels.tables.kernel_rows` rows (layer, channels, nine
        weights, nearest stencil, operator, residual, order, ...) with ``cluster``, ``x``, ``y``.
    """
    rows = kernel_rows(atlas, index)
    out = []
    for p in sorted({int(p) for p in positions}):
        if not 0 <= p < len(rows):
            raise InputError(f"point {p} is not in layer {index + 1} (0..{len(rows) - 1})")
        row = dict(rows[p])
        row["cluster"] = int(labels[p])
        for drop in ("pc1", "pc2", "spectral"):
            row.pop(drop, None)
        row["x"], row["y"] = float(coords[p][0]), float(coords[p][1])
        out.append(row)
    return out
