"""Per-layer k-means, canonical forms, scores, k-scan and determinism across processes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lsn_explorer.errors import InputError
from lsn_explorer.kernels import (
    KernelAtlas,
    canonicalize,
    cluster_kernels,
    cluster_layers,
    dihedral_orbit,
    k_scan,
    kernels_from_arrays,
)
from lsn_explorer.kernels.cluster import davies_bouldin, silhouette
from lsn_explorer.levelset.stencils import REFERENCE_KERNELS, SOBEL_X


def _three_groups(seed=0, n=30, noise=0.01):
    rng = np.random.default_rng(seed)
    g = REFERENCE_KERNELS["gaussian"].ravel()
    lap = REFERENCE_KERNELS["laplacian1"].ravel()
    ident = REFERENCE_KERNELS["identity"].ravel()
    X = np.concatenate([base + noise * rng.normal(size=(n, 9)) for base in (g, lap, ident)])
    return X, np.repeat([0, 1, 2], n)


def _same_partition(a, b):
    return all(len(set(b[a == v])) == 1 for v in np.unique(a)) and len(np.unique(a)) == len(np.unique(b))


def test_separated_groups_are_found_with_good_scores():
    X, truth = _three_groups()
    atlas = KernelAtlas(3).fit(X)
    assert _same_partition(atlas.labels_, truth)
    assert atlas.centers_.shape == (3, 9)
    assert atlas.silhouette_ > 0.8
    assert 0.0 <= atlas.davies_bouldin_ < 0.5
    labels, centers = cluster_kernels(X, 3)
    np.testing.assert_array_equal(labels, atlas.labels_)
    np.testing.assert_array_equal(centers, atlas.centers_)


def test_canonicalisation_puts_the_eight_sobel_orientations_in_one_cluster():
    rng = np.random.default_rng(5)
    sobels = dihedral_orbit(SOBEL_X).reshape(8, 9) * rng.uniform(0.1, 5.0, size=(8, 1))
    X, _ = _three_groups(n=12)
    data = np.concatenate([sobels, X[:24]])  # 8 Sobels + gaussians + laplacians
    forms = canonicalize(sobels, symmetry=True)
    np.testing.assert_allclose(forms, np.broadcast_to(forms[0], forms.shape), atol=1e-12)
    atlas = KernelAtlas(3, canonicalize=True, symmetry=True).fit(data)
    labels = atlas.labels_
    assert len(set(labels[:8])) == 1
    # the Sobel cluster's centre is still recognised as an edge detector
    assert atlas.nearest_stencil_[labels[0]] in {"edge-right", "edge-up", "edge-left", "edge-down"}
    assert labels[0] not in set(labels[8:])
    # the raw Sobel orientations point in four different directions of R^9
    raw = canonicalize(sobels, sign=False, scale=True)
    assert len(np.unique(np.round(raw, 9), axis=0)) == 4


def test_canonical_sign_and_scale():
    q = np.array([[1.0, 2, 3, 4, -5, 6, 7, 8, 9], [0.0] * 9])
    out = canonicalize(q)
    assert out[0, 4] > 0 and np.linalg.norm(out[0]) == pytest.approx(1.0)
    np.testing.assert_array_equal(out[1], 0.0)


def test_cluster_layers_runs_each_layer_on_its_own():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=(1, 2, 3, 3))
    ks = kernels_from_arrays([("a", "encoder", a), ("b", "decoder", b)])
    res = cluster_layers(ks, 3, random_state=1)
    alone = KernelAtlas(3, random_state=1).fit(ks.layer_kernels(0))
    np.testing.assert_array_equal(res.labels[:6], alone.labels_)
    # layer b has only 2 kernels: as many clusters as kernels
    assert res.centers[1].shape == (2, 9)
    assert np.isnan(res.silhouette[1])
    assert res.silhouette.shape == (2,)


def test_k_scan_covers_2_to_10():
    X, _ = _three_groups(n=20)
    scan = k_scan(X)
    assert scan["k"].tolist() == list(range(2, 11))
    assert scan["inertia"][-1] < scan["inertia"][0]
    assert int(scan["k"][np.nanargmax(scan["silhouette"])]) == 3


def test_too_few_kernels_is_an_input_error():
    with pytest.raises(InputError, match="n_clusters=3"):
        KernelAtlas(3).fit(np.zeros((2, 9)))


_SCRIPT = """
import json, sys, numpy as np
from lsn_explorer.kernels import cluster_layers, PCA2
from lsn_explorer.kernels import kernels_from_arrays
rng = np.random.default_rng(11)
ks = kernels_from_arrays([("a", "encoder", rng.normal(size=(8, 8, 3, 3))), ("b", "decoder", rng.normal(size=(4, 8, 3, 3)))])
res = cluster_layers(ks, 3, random_state=int(sys.argv[1]))
coords = PCA2().fit(ks.kernels).transform(ks.kernels)
print(json.dumps({"labels": res.labels.tolist(), "coords": coords.tolist()}))
"""


def test_same_seed_gives_identical_clusters_and_coordinates_in_a_new_process():
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", _SCRIPT, "0"], capture_output=True, text=True, check=True).stdout)
        for _ in range(2)
    ]
    from lsn_explorer.kernels import PCA2

    rng = np.random.default_rng(11)
    ks = kernels_from_arrays([("a", "encoder", rng.normal(size=(8, 8, 3, 3))), ("b", "decoder", rng.normal(size=(4, 8, 3, 3)))])
    here = cluster_layers(ks, 3, random_state=0)
    assert runs[0] == runs[1]
    assert runs[0]["labels"] == here.labels.tolist()
    assert np.array_equal(np.array(runs[0]["coords"]), PCA2().fit(ks.kernels).transform(ks.kernels))


def _two_tight_clusters(seed=8, n=20):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(size=(n, 9)) * 0.01, 1.0 + rng.normal(size=(n, 9)) * 0.01]
    return X, np.repeat([0, 1], n)


def test_well_separated_clusters_score_near_one_and_a_low_davies_bouldin():
    X, labels = _two_tight_clusters()
    assert silhouette(X, labels) > 0.95
    assert 0.0 <= davies_bouldin(X, labels) < 0.05


def test_a_planted_mislabel_lowers_the_silhouette_and_raises_davies_bouldin():
    X, labels = _two_tight_clusters()
    wrong = labels.copy()
    wrong[0] = 1  # a point of the first cluster filed under the second
    assert silhouette(X, wrong) < silhouette(X, labels) - 0.05
    assert davies_bouldin(X, wrong) > davies_bouldin(X, labels) + 0.05


def test_a_kernel_alone_in_its_cluster_scores_zero():
    X, labels = _two_tight_clusters()
    X, labels = np.r_[X, np.full((1, 9), 5.0)], np.r_[labels, 2]
    with_lone = silhouette(X, labels)
    assert with_lone == pytest.approx(silhouette(X[:-1], labels[:-1]) * 40 / 41, abs=0.01)


def test_scores_need_two_clusters_and_fewer_clusters_than_kernels():
    X = np.random.default_rng(3).normal(size=(5, 9))
    assert np.isnan(silhouette(X, np.zeros(5))) and np.isnan(davies_bouldin(X, np.zeros(5)))
    assert np.isnan(silhouette(X, np.arange(5)))
    assert davies_bouldin(X, np.arange(5)) == 0.0  # every kernel alone: no spread
    assert np.isfinite(silhouette(X, [0, 0, 1, 1, 2]))


def test_the_silhouette_subsample_is_fixed_by_the_seed():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 9)) + np.repeat(np.eye(9)[:3] * 3, 100, axis=0)
    scores = [KernelAtlas(3, random_state=seed, silhouette_sample=60).fit(X).silhouette_ for seed in (0, 0, 1)]
    assert scores[0] == scores[1]
    assert scores[0] != scores[2]
    full = KernelAtlas(3, random_state=0, silhouette_sample=300).fit(X)
    assert full.silhouette_ == pytest.approx(silhouette(X, full.labels_))
    assert abs(scores[0] - full.silhouette_) < 0.1  # a subsample estimates the full score


def test_importing_the_kernel_modules_does_not_load_scikit_learn():
    code = "import sys, lsn_explorer.kernels.cluster, lsn_explorer.kernels.project; print('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
