"""The kernel explorer's precomputed states: shipped, read back without torch, recomputed when stale.

A shipped state was computed on one CPU and is compared with a fresh computation on another: BLAS and
SIMD reductions round differently, so floats agree to a tolerance and integers (cluster labels,
operators, orders) exactly.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from lsn_explorer.apps import explorer_compute as xc
from lsn_explorer.apps import explorer_state as es
from lsn_explorer.errors import DataFileError
from lsn_explorer.kernels import kernels_from_arrays
from lsn_explorer.kernels.atlas_arrays import atlas_from_arrays, atlas_to_arrays
from lsn_explorer.models import bundled_names


def _small_state() -> es.ExplorerState:
    rng = np.random.default_rng(0)
    ks = kernels_from_arrays([("enc", "encoder", rng.normal(size=(6, 4, 3, 3))), ("dec", "decoder", rng.normal(size=(5, 3, 3, 3)))])
    return es.ExplorerState.compute(ks, label="small", n_clusters=3)


#: Floats computed on two CPUs differ in the last bits (3e-16 seen); a real change is far larger.
RTOL, ATOL = 1e-9, 1e-12


def _assert_same(a, b, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    if np.issubdtype(a.dtype, np.floating) or np.issubdtype(b.dtype, np.floating):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def _assert_same_state(a: es.ExplorerState, b: es.ExplorerState) -> None:
    _assert_same(a.kernels.kernels, b.kernels.kernels, "kernels")
    assert a.kernels.layers == b.kernels.layers
    for name in ("operator", "nearest", "residual", "order", "scale", "nearest_residual", "mean_zero"):
        _assert_same(getattr(a.atlas.identification, name), getattr(b.atlas.identification, name), name)
    assert set(a.views) == set(b.views)
    for name, view in a.views.items():
        _assert_same(view.coords, b.views[name].coords, f"{name} view")
        assert list(view.axis_titles) == list(b.views[name].axis_titles)
    assert set(a.clusters) == set(b.clusters)
    for key, (labels, centers, sil) in a.clusters.items():
        _assert_same(labels, b.clusters[key][0], f"labels of {key}")
        _assert_same(centers, b.clusters[key][1], f"centres of {key}")
        _assert_same(sil, b.clusters[key][2], f"silhouette of {key}")  # nan: a layer with one kernel
    assert list(a.hover) == list(b.hover)


def test_a_state_reads_back_as_it_was_computed(tmp_path):
    state = _small_state()
    state.layer_clusters(1, 2, True)
    path = state.save(tmp_path / "s.npz", checkpoint_sha256="x", n_clusters=3)
    back = es.ExplorerState.load(path, label="small")
    _assert_same_state(state, back)
    for row in (0, 30):
        a, b = xc.kernel_details(state.atlas, row), xc.kernel_details(back.atlas, row)
        assert a.title == b.title and a.operator == b.operator and a.nearest == b.nearest
    assert xc.layer_fractions(state.atlas, 1) == xc.layer_fractions(back.atlas, 1)
    assert es.ExplorerState.read_meta(path)["checkpoint_sha256"] == "x"


def test_a_file_that_is_not_a_state_is_named_in_the_error(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataFileError, match="other.npz"):
        es.ExplorerState.load(tmp_path / "other.npz", label="x")
    arrays = atlas_to_arrays(_small_state().atlas)
    del arrays["atlas.kernels"]
    with pytest.raises(DataFileError, match="atlas"):
        atlas_from_arrays(arrays)


def test_every_bundled_model_ships_a_state_of_its_current_checkpoint():
    for name in bundled_names():
        path = es.BUNDLED_STATE_DIR / f"{name}.npz"
        assert es.ExplorerState.read_meta(path)["checkpoint_sha256"] == es._sha256(es.bundled_path(name)), (
            f"{path} is stale: run precompute_explorer_states() (assets/README.md)")
        state = es.ExplorerState.load(path, label=name)
        # every layer at every k of the app's slider, plain and canonical
        assert set(state.clusters) == {(i, k, c) for i in range(state.kernels.n_layers) for k in range(2, 9) for c in (False, True)}


@pytest.fixture(scope="module")
def shipped_and_fresh() -> tuple[es.ExplorerState, es.ExplorerState]:
    """The shipped LSN-G state and the same state computed on this machine, on the same clusters."""
    shipped = es.ExplorerState.load(es.BUNDLED_STATE_DIR / "lsn-g.npz", label="x")
    fresh = es.ExplorerState.compute(xc.load_kernel_set("bundled-lsn-g"), label="x", n_clusters=3)
    for index in (0, 3):
        fresh.layer_clusters(index, 5, True)
    shipped.clusters = {key: shipped.clusters[key] for key in fresh.clusters}
    return shipped, fresh


def test_a_shipped_state_equals_a_fresh_computation(shipped_and_fresh):
    shipped, fresh = shipped_and_fresh
    _assert_same_state(fresh, shipped)


def _perturbed(state: es.ExplorerState, delta: float) -> es.ExplorerState:
    """``state`` with ``delta`` added to every float it holds, its labels and orders unchanged."""
    atlas, ident = state.atlas, state.atlas.identification
    moved = replace(atlas, kernels=replace(atlas.kernels, kernels=atlas.kernels.kernels + delta),
                    identification=replace(ident, residual=ident.residual + delta))
    views = {name: replace(view, coords=view.coords + delta) for name, view in state.views.items()}
    clusters = {key: (labels, centers + delta, sil + delta) for key, (labels, centers, sil) in state.clusters.items()}
    return replace(state, atlas=moved, views=views, clusters=clusters)


def test_a_last_bit_difference_passes_and_a_real_one_fails(shipped_and_fresh):
    shipped, fresh = shipped_and_fresh
    _assert_same_state(_perturbed(fresh, 1e-15), shipped)
    with pytest.raises(AssertionError, match="kernels"):
        _assert_same_state(_perturbed(fresh, 1e-3), shipped)


def test_the_app_reads_a_shipped_state_of_its_checkpoint_without_recomputing(monkeypatch, tmp_path):
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr(es.ExplorerState, "compute", classmethod(lambda *a, **k: pytest.fail("recomputed")))
    state = es.bundled_state("lsn-g", label="LSN-G")
    assert state.clusters and not list(tmp_path.rglob("*.npz"))


def test_a_stale_shipped_state_is_recomputed_once_and_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(es, "BUNDLED_STATE_DIR", tmp_path / "shipped")
    state = es.bundled_state("lsn", label="LSN")
    cached = list((tmp_path / "cache" / "explorer").glob("lsn-*.npz"))
    assert len(cached) == 1
    monkeypatch.setattr(es.ExplorerState, "compute", classmethod(lambda *a, **k: pytest.fail("recomputed")))
    _assert_same_state(state, es.bundled_state("lsn", label="LSN"))


def test_the_phantom_slice_ships_and_equals_the_generated_one(tmp_path):
    shipped = xc.phantom_ct_slice()
    assert isinstance(shipped, np.memmap) and not shipped.flags.writeable
    generated = np.load(xc.write_phantom_ct_slice(tmp_path))
    # windowed HU in [-1, 1]: one HU is 0.004; float32 and another CPU's last bits are far below
    np.testing.assert_allclose(np.asarray(shipped), generated, rtol=0, atol=1e-5)


def test_the_explorer_starts_without_torch_or_scikit_learn():
    code = ("import sys, psutil; from lsn_explorer.apps import KernelExplorer; app = KernelExplorer(); "
            "app._layer.value = 5; app._k.value = 6; app._canonical.value = True; app._show_kernel(40); "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules), "
            "psutil.Process().memory_info().rss >> 20)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    modules, rss = out.rsplit(" ", 1)
    assert modules == "[]", out
    assert int(rss) < 300, f"the explorer's process holds {rss} MB"
