"""What the kernel explorer computes once per model, and the files that spare a visitor computing it.

An :class:`ExplorerState` holds a model's atlas, its 2-D views, the hover text and the per-layer
clusters. For the bundled models it is computed once (:func:`precompute_explorer_states`, shipped
under ``lsn_explorer/assets/explorer/``) and read back by every visitor with ``numpy.load``: no torch,
no scikit-learn, no k-means. The file records the SHA-256 of the checkpoint it was computed from;
when the checkpoint changes, the first visitor recomputes the state and leaves it in the cache
(``cache_dir()/explorer/``) for the next.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import atomic_path, cache_dir
from ..errors import DataFileError
from ..kernels.atlas_arrays import atlas_from_arrays, atlas_to_arrays
from ..kernels.atlas import Atlas
from ..models.bundled import bundled_names, bundled_path
from . import explorer_compute as xc

__all__ = ["STATE_FORMAT", "BUNDLED_STATE_DIR", "ExplorerState", "bundled_state", "precompute_explorer_states"]

STATE_FORMAT = 1
"""Version of the state file; a file of another version is recomputed."""

BUNDLED_STATE_DIR = xc.EXPLORER_ASSETS
"""Read-only folder of the states shipped with the package, one ``<name>.npz`` per bundled model."""


@dataclass
class ExplorerState:
    """Everything the kernel explorer computes once per model (plain arrays); the app slices it.

    Attributes
    ----------
    label : str
        How the app names the model.
    atlas : Atlas
        Per-layer k-means at the starting k, global PCA, identification.
    views : dict of str -> Projection
        ``"global"``, ``"layer"`` and, when an embedding is cached, ``"umap"`` (not kept in the
        file: looked up when the state is read, so an embedding computed later is found).
    hover : (K,) str array
        Hover text of every kernel.
    clusters : dict of (layer, k, canonical) -> (labels (n,), centers (k, 9), silhouette)
        Filled on demand by :meth:`layer_clusters`; a precomputed state holds every k of the app.
    random_state : int
        Seed of every k-means.
    """

    label: str
    atlas: Atlas
    views: dict
    hover: np.ndarray
    random_state: int
    clusters: dict = field(default_factory=dict)

    @classmethod
    def compute(cls, kernel_set, *, label: str, n_clusters: int = 3, random_state: int = 0) -> ExplorerState:
        """The state of ``kernel_set``: its atlas at ``n_clusters``, views and hover text."""
        atlas = xc.explorer_atlas(kernel_set, n_clusters=n_clusters, random_state=random_state)
        views = xc.model_projections(atlas, umap=xc.cached_umap(kernel_set.kernels, random_state=random_state))
        state = cls(label, atlas, views, xc.kernel_hover(atlas), int(random_state))
        cl = atlas.clusters
        for index, info in enumerate(atlas.kernels.layers):
            state.clusters[(index, int(n_clusters), False)] = (
                cl.labels[info.start : info.stop], cl.centers[index], float(cl.silhouette[index]),
            )
        return state

    @property
    def kernels(self):
        return self.atlas.kernels

    def layer_clusters(self, index: int, k: int, canonical: bool):
        """``(labels (n,), centers (k, 9), silhouette)`` of layer ``index`` (0-based), computed once."""
        key = (int(index), int(k), bool(canonical))
        if key not in self.clusters:
            self.clusters[key] = xc.layer_clusters(
                self.kernels.layer_kernels(index), k, canonicalize=canonical, random_state=self.random_state,
            )
        return self.clusters[key]

    # ------------------------------------------------------------------ files
    def save(self, path, **meta) -> Path:
        """Write the state to ``path`` (``.npz``, atomically); ``meta`` is kept in the file's JSON."""
        arrays = atlas_to_arrays(self.atlas)
        stored = {name: view for name, view in self.views.items() if name != "umap"}  # looked up at load
        for name, view in stored.items():
            arrays[f"view.{name}.coords"] = np.asarray(view.coords)
            arrays[f"view.{name}.ref_coords"] = np.ascontiguousarray(view.ref_coords)
        keys = []
        for n, ((index, k, canonical), (labels, centers, sil)) in enumerate(self.clusters.items()):
            arrays[f"clusters.{n}.labels"] = np.asarray(labels).astype(np.int16)  # k <= 8
            arrays[f"clusters.{n}.centers"] = np.asarray(centers)
            keys.append([index, k, canonical, sil])
        info = dict(meta, format=STATE_FORMAT, random_state=self.random_state, clusters=keys,
                    axis_titles={name: view.axis_titles for name, view in stored.items()})
        arrays["state"] = np.array(json.dumps(info))
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, **arrays)
        return Path(path)

    @staticmethod
    def read_meta(path) -> dict:
        """The JSON a state file was saved with (format, random_state, the ``meta`` of :meth:`save`)."""
        with np.load(path, allow_pickle=False) as f:
            return json.loads(str(f["state"]))

    @classmethod
    def load(cls, path, *, label: str) -> ExplorerState:
        """Read a state written by :meth:`save`, without pickle, torch or scikit-learn.

        Raises
        ------
        DataFileError
            Not a state file of this format.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {key: f[key] for key in f.files}
            info = json.loads(str(arrays["state"]))
            if info.get("format") != STATE_FORMAT:
                raise ValueError(f"format {info.get('format')!r}, expected {STATE_FORMAT}")
            atlas = atlas_from_arrays(arrays, source=str(path))
            views = {
                name: xc.Projection(arrays[f"view.{name}.coords"], arrays[f"view.{name}.ref_coords"],
                                    [tuple(t) for t in titles])
                for name, titles in info["axis_titles"].items()
            }
            clusters = {
                (index, k, canonical): (arrays[f"clusters.{n}.labels"], arrays[f"clusters.{n}.centers"], sil)
                for n, (index, k, canonical, sil) in enumerate(info["clusters"])
            }
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise DataFileError(f"{path} is not a kernel explorer state ({exc}); delete it to recompute") from None
        umap = xc.cached_umap(atlas.kernels.kernels, random_state=int(info["random_state"]))
        if umap is not None:
            views["umap"] = xc.umap_view(umap, atlas.kernels.n_layers)
        return cls(label, atlas, views, xc.kernel_hover(atlas), int(info["random_state"]), clusters)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fits(path: Path, checkpoint_sha: str, n_clusters: int, random_state: int) -> bool:
    if not path.is_file():
        return False
    try:
        meta = ExplorerState.read_meta(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False
    return (meta.get("format") == STATE_FORMAT and meta.get("checkpoint_sha256") == checkpoint_sha
            and meta.get("n_clusters") == n_clusters and meta.get("random_state") == random_state)


def bundled_state(name: str, *, label: str, n_clusters: int = 3, random_state: int = 0) -> ExplorerState:
    """The state of bundled model ``name``: shipped, else cached, else computed and cached.

    Parameters
    ----------
    name : str
        A bundled model (``"unet"``, ...; see :func:`~lsn_explorer.models.bundled_names`).
    label : str
        How the app names it.
    n_clusters, random_state : int, optional
        The app's starting k and seed. The shipped files hold k = 3, seed 0.

    Returns
    -------
    ExplorerState
    """
    checkpoint = bundled_path(name)
    sha = _sha256(checkpoint)
    cached = cache_dir() / "explorer" / f"{name}-{sha[:16]}-k{n_clusters}-s{random_state}.npz"
    for path in (BUNDLED_STATE_DIR / f"{name}.npz", cached):
        if _fits(path, sha, n_clusters, random_state):
            return ExplorerState.load(path, label=label)
    state = ExplorerState.compute(xc.load_kernel_set(f"bundled-{name}"), label=label, n_clusters=n_clusters,
                                  random_state=random_state)
    state.save(cached, checkpoint_sha256=sha, n_clusters=n_clusters)
    return state


def precompute_explorer_states(out_dir=BUNDLED_STATE_DIR, *, names=None, k_values=range(2, 9), n_clusters: int = 3,
                               random_state: int = 0) -> list[Path]:
    """Compute and write the state of every bundled model, with its clusters at every k of the app, and the CT slice.

    Run after a bundled checkpoint or its UMAP embedding changes (``assets/README.md``).

    Parameters
    ----------
    out_dir : path, optional
        Default :data:`BUNDLED_STATE_DIR`.
    names : sequence of str, optional
        Only these bundled models (``["unet"]``), after one was retrained. Default all.
    k_values : iterable of int, optional
        The k of the app's slider (2..8), each plain and canonical.
    n_clusters, random_state : int, optional
        The app's defaults.

    Returns
    -------
    list of Path
    """
    written = []
    for name in bundled_names() if names is None else names:
        state = ExplorerState.compute(xc.load_kernel_set(f"bundled-{name}"), label=name, n_clusters=n_clusters,
                                      random_state=random_state)
        for index in range(state.kernels.n_layers):
            for k in k_values:
                for canonical in (False, True):
                    state.layer_clusters(index, k, canonical)
        written.append(state.save(Path(out_dir) / f"{name}.npz", checkpoint_sha256=_sha256(bundled_path(name)),
                                  n_clusters=n_clusters))
    written.append(xc.write_phantom_ct_slice(out_dir))
    return written
