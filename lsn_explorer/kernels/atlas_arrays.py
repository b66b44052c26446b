"""An :class:`~lsn_explorer.kernels.atlas.Atlas` as a flat dict of numpy arrays, and back.

Made for ``np.savez`` / ``np.load(allow_pickle=False)``: strings become fixed-width unicode
arrays and everything that is not an array (layer names and shapes, options, stencil names)
travels in one JSON string under ``"<prefix>meta"``. The fitted k-means estimators
(``LayerClusters.atlases``) are not kept; every array the atlas holds is, so a loaded atlas
gives the same figures, tables and app views as the computed one, without scikit-learn or torch.
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import DataFileError
from .cluster import LayerClusters
from .collect import KernelSet, LayerInfo
from .identify import Identification
from .project import PCA2
from .atlas import Atlas

__all__ = ["atlas_to_arrays", "atlas_from_arrays"]

_IDENTIFICATION = ("moments", "operator", "scale", "residual", "order", "mean_zero", "nearest", "nearest_residual", "residuals")


def _plain(array) -> np.ndarray:
    """``array`` with object strings as fixed-width unicode, so it saves without pickle."""
    a = np.asarray(array)
    return a.astype(str) if a.dtype == object else a


def atlas_to_arrays(atlas: Atlas, prefix: str = "atlas.") -> dict[str, np.ndarray]:
    """Every array of ``atlas`` under ``prefix + name``, plus ``prefix + "meta"`` (JSON).

    Parameters
    ----------
    atlas : Atlas
    prefix : str, optional
        Key prefix, so that an atlas can share a file with other arrays. Default ``"atlas."``.

    Returns
    -------
    dict of str -> ndarray
        No object arrays: ``np.savez(path, **arrays)`` then loads with ``allow_pickle=False``.
    """
    ks, cl, pca, ident = atlas.kernels, atlas.clusters, atlas.pca, atlas.identification
    meta = {
        "source": ks.source,
        "layers": [[i.name, i.part, list(i.shape), i.depthwise, i.start, i.stop] for i in ks.layers],
        "skipped": [[name, list(shape)] for name, shape in ks.skipped],
        "stencil_names": list(atlas.stencil_names),
        "operators": list(ident.operators),
        "options": atlas.options,
        "n_components": pca.n_components,
    }
    arrays = {
        "kernels": ks.kernels, "layer": ks.layer, "in_channel": ks.in_channel, "out_channel": ks.out_channel,
        "labels": cl.labels, "inertia": cl.inertia, "silhouette": cl.silhouette, "davies_bouldin": cl.davies_bouldin,
        "pca_mean": pca.mean_, "pca_components": pca.components_, "pca_explained": pca.explained_variance_ratio_,
        "coords": atlas.coords, "stencil_coords": atlas.stencil_coords, "spectral": atlas.spectral,
        **{f"ident_{name}": getattr(ident, name) for name in _IDENTIFICATION},
        **{f"center_{index}": c for index, c in enumerate(cl.centers)},
    }
    out = {prefix + key: _plain(value) for key, value in arrays.items()}
    out[prefix + "meta"] = np.array(json.dumps(meta))
    return out


def atlas_from_arrays(arrays, prefix: str = "atlas.", *, source: str = "arrays") -> Atlas:
    """The :class:`Atlas` that :func:`atlas_to_arrays` wrote (``clusters.atlases`` empty).

    Parameters
    ----------
    arrays : mapping of str -> ndarray
        For example an open ``np.load(path, allow_pickle=False)``.
    prefix : str, optional
        As given to :func:`atlas_to_arrays`.
    source : str, optional
        Named in the error when a key is missing (e.g. the file's path).

    Raises
    ------
    DataFileError
        A key is missing or the metadata is not the JSON written here.
    """
    try:
        a = {key[len(prefix):]: arrays[key] for key in arrays if key.startswith(prefix)}
        meta = json.loads(str(a["meta"]))
        layers = tuple(LayerInfo(n, p, tuple(s), bool(d), int(b), int(e)) for n, p, s, d, b, e in meta["layers"])
        ks = KernelSet(
            kernels=a["kernels"], layer=a["layer"], in_channel=a["in_channel"], out_channel=a["out_channel"],
            layers=layers, skipped=tuple((n, tuple(s)) for n, s in meta["skipped"]), source=meta["source"],
        )
        clusters = LayerClusters(
            labels=a["labels"], centers=[a[f"center_{i}"] for i in range(len(layers))], inertia=a["inertia"],
            silhouette=a["silhouette"], davies_bouldin=a["davies_bouldin"], atlases=[],
        )
        pca = PCA2(meta["n_components"])
        pca.mean_, pca.components_, pca.explained_variance_ratio_ = a["pca_mean"], a["pca_components"], a["pca_explained"]
        ident = Identification(**{name: a[f"ident_{name}"] for name in _IDENTIFICATION}, operators=tuple(meta["operators"]))
        return Atlas(
            kernels=ks, clusters=clusters, pca=pca, coords=a["coords"], stencil_names=list(meta["stencil_names"]),
            stencil_coords=a["stencil_coords"], identification=ident, spectral=a["spectral"], options=meta["options"],
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise DataFileError(f"{source} does not hold a kernel atlas ({type(exc).__name__}: {exc}); expected the arrays of atlas_to_arrays") from None
