"""Global and per-layer PCA, and the cached UMAP."""

from __future__ import annotations

import numpy as np
import pytest

from lsn_explorer.errors import InputError
from lsn_explorer.kernels import PCA2, layer_pca, umap_embedding
from lsn_explorer.kernels import kernels_from_arrays
from lsn_explorer.levelset.stencils import REFERENCE_KERNELS


def _kernels(seed=0, n=200):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 9)) * np.linspace(2.0, 0.2, 9) + 0.3


def test_pca_finds_the_planted_axes_largest_variance_first():
    rng = np.random.default_rng(2)
    u, v = np.eye(9)[4], (np.eye(9)[4] - 1.0) / np.sqrt(8.0)  # the centre tap; minus the mean of the ring
    X = 5.0 * rng.normal(size=(300, 1)) * u + 2.0 * rng.normal(size=(300, 1)) * v + 0.01 * rng.normal(size=(300, 9))
    pca = PCA2().fit(X)
    np.testing.assert_allclose(pca.components_, [u, -v], atol=1e-2)  # each axis's largest entry positive
    ev = pca.explained_variance_ratio_
    assert ev[0] > ev[1] > 0 and ev.sum() == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(2), atol=1e-12)


def test_pca_signs_do_not_depend_on_row_order_or_the_sign_of_the_data():
    X = _kernels()
    pca = PCA2(4).fit(X)
    for other in (X[::-1], -X, 3.0 * X + 1.0):
        np.testing.assert_allclose(PCA2(4).fit(other).components_, pca.components_, atol=1e-12)
    rows = np.arange(4)
    assert (pca.components_[rows, np.abs(pca.components_).argmax(axis=1)] > 0).all()


def test_pca_of_equal_kernels_explains_no_variance():
    pca = PCA2().fit(np.ones((6, 3, 3)))
    np.testing.assert_array_equal(pca.explained_variance_ratio_, [0.0, 0.0])
    np.testing.assert_array_equal(pca.transform(np.ones(9)), [[0.0, 0.0]])


@pytest.mark.parametrize(
    "n_components, n_kernels, message",
    [(0, 10, "n_components=0"), (10, 20, "n_components=10"), (2, 1, "at least 2 kernels; got 1"), (4, 3, "at least 4 kernels")],
)
def test_pca_input_errors(n_components, n_kernels, message):
    with pytest.raises(InputError, match=message):
        PCA2(n_components).fit(np.zeros((n_kernels, 9)))


def test_references_and_data_share_one_centring():
    # the authors plotted data at k·V + μ·V and references at r·V; here a kernel equal to a
    # reference lands exactly on it
    X = _kernels()
    X[17] = REFERENCE_KERNELS["gaussian"].ravel()
    pca = PCA2().fit(X)
    ref_xy = pca.transform(REFERENCE_KERNELS["gaussian"])[0]
    np.testing.assert_allclose(pca.transform(X)[17], ref_xy, atol=1e-14)
    assert np.abs(pca.transform(X).mean(axis=0)).max() < 1e-12


def test_global_basis_is_shared_by_all_layers():
    rng = np.random.default_rng(1)
    ks = kernels_from_arrays([("a", "encoder", rng.normal(size=(5, 4, 3, 3))), ("b", "decoder", 3 + rng.normal(size=(2, 5, 3, 3)))])
    pca = PCA2().fit(ks.kernels)
    full = pca.transform(ks.kernels)
    np.testing.assert_allclose(pca.transform(ks.layer_kernels(1)), full[20:])
    coords, pcas, refs = layer_pca(ks, references=np.stack(list(REFERENCE_KERNELS.values())))
    # per-layer: each layer centred on its own mean
    for i, info in enumerate(ks.layers):
        assert np.abs(coords[info.start : info.stop].mean(axis=0)).max() < 1e-12
    assert refs.shape == (2, 11, 2)
    np.testing.assert_allclose(refs[1], pcas[1].transform(np.stack(list(REFERENCE_KERNELS.values()))))


def test_umap_is_seeded_and_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path))
    X = _kernels(n=60)
    R = np.stack([REFERENCE_KERNELS[k] for k in ("gaussian", "identity")]).reshape(2, 9)
    coords, ref_coords = umap_embedding(X, references=R, n_neighbors=8, random_state=0)
    assert coords.shape == (60, 2) and ref_coords.shape == (2, 2)
    files = list((tmp_path / "umap").glob("*.npz"))
    assert len(files) == 1
    # a second call reads the file: prove it by changing what the file holds
    marker = np.arange(124, dtype=np.float64).reshape(62, 2)
    np.savez(files[0], coords=marker)
    again, again_ref = umap_embedding(X, references=R, n_neighbors=8, random_state=0)
    np.testing.assert_array_equal(again, marker[:60])
    np.testing.assert_array_equal(again_ref, marker[60:])
    # other parameters are another cache entry
    umap_embedding(X, references=R, n_neighbors=8, random_state=1)
    assert len(list((tmp_path / "umap").glob("*.npz"))) == 2
    # without the cache, the same seed recomputes the same coordinates
    fresh, fresh_ref = umap_embedding(X, references=R, n_neighbors=8, random_state=0, cache=False)
    np.testing.assert_allclose(fresh, coords, atol=1e-6)


def test_umap_needs_a_few_points():
    with pytest.raises(InputError, match="at least 4"):
        umap_embedding(np.zeros((2, 9)), cache=False)


def test_precompute_umap_writes_the_file_that_umap_embedding_reads(tmp_path, monkeypatch):
    from torch import nn

    from lsn_explorer.kernels import collect_kernels
    from lsn_explorer.kernels.project import umap_cache_name
    from lsn_explorer.kernels.report import PLOT_STENCILS, precompute_umap

    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path / "cache"))
    net = nn.Sequential(nn.Conv2d(2, 3, 3))
    path = precompute_umap(net, out_dir=tmp_path / "ship")
    R = np.stack([np.asarray(v).ravel() for v in PLOT_STENCILS.values()])
    kernels = collect_kernels(net).kernels
    assert path == tmp_path / "ship" / umap_cache_name(kernels, references=R)
    with np.load(path) as f:
        assert f["coords"].shape == (6 + len(R), 2)
    coords, _ = umap_embedding(kernels, references=R)
    with np.load(path) as f:
        np.testing.assert_array_equal(coords, f["coords"][:6])


def test_bundled_unet_ships_its_umap_embedding():
    """The app never fits UMAP: the bundled UNet's embedding must ship, matching the bundled weights."""
    from lsn_explorer.kernels import collect_kernels
    from lsn_explorer.kernels.project import BUNDLED_UMAP_DIR, reference_matrix, umap_cache_name
    from lsn_explorer.kernels.report import PLOT_STENCILS
    from lsn_explorer.models import bundled_model

    kernels = collect_kernels(bundled_model("unet")).kernels
    _, references = reference_matrix(PLOT_STENCILS)
    shipped = BUNDLED_UMAP_DIR / umap_cache_name(kernels, references=references, random_state=0)
    assert shipped.is_file(), "re-run precompute_umap('bundled-unet', out_dir='lsn_explorer/assets/umap')"
    with np.load(shipped) as data:
        assert data["coords"].shape == (len(kernels) + len(references), 2)
