"""The kernel explorer's precomputed states: shipped, read back without torch, recomputed when stale."""

from __future__ import annotations

import subprocess
import sys

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


def _assert_same_state(a: es.ExplorerState, b: es.ExplorerState) -> None:
    np.testing.assert_array_equal(a.kernels.kernels, b.kernels.kernels)
    assert a.kernels.layers == b.kernels.layers
    for name in ("operator", "nearest", "residual", "order"):
        np.testing.assert_array_equal(getattr(a.atlas.identification, name), getattr(b.atlas.identification, name))
    assert set(a.views) == set(b.views)
    for name, view in a.views.items():
        np.testing.assert_allclose(view.coords, b.views[name].coords)
        assert list(view.axis_titles) == list(b.views[name].axis_titles)
    assert list(a.hover) == list(b.hover)
    assert set(a.clusters) == set(b.clusters)
    for key, (labels, centers, sil) in a.clusters.items():
        np.testing.assert_array_equal(labels, b.clusters[key][0])
        np.testing.assert_allclose(centers, b.clusters[key][1])
        assert sil == pytest.approx(b.clusters[key][2], nan_ok=True)  # nan: a layer with one kernel


def test_a_state_reads_back_as_it_was_computed(tmp_path):
    state = _small_state()
    state.layer_clusters(1, 2, True)
    path = state.save(tmp_path / "s.npz", checkpoint_sha256="x", n_clusters=3)
    back = es.ExplorerState.load(path, label="small")
    _assert_same_state(state, back)
    for row in (0, 30):
        a, b = xc.kernel_details(state.atlas, row), xc.kernel_details(back.atlas, row)
        assert a["title"] == b["title"] and a["operator"] == b["operator"] and a["nearest"] == b["nearest"]
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


def test_a_shipped_state_equals_a_fresh_computation():
    shipped = es.ExplorerState.load(es.BUNDLED_STATE_DIR / "lsn-g.npz", label="x")
    fresh = es.ExplorerState.compute(xc.load_kernel_set("bundled-lsn-g"), label="x", n_clusters=3)
    for index in (0, 3):
        fresh.layer_clusters(index, 5, True)
    shipped.clusters = {key: shipped.clusters[key] for key in fresh.clusters}
    _assert_same_state(fresh, shipped)


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
    np.testing.assert_array_equal(np.asarray(shipped), generated)


def test_the_explorer_starts_without_torch_or_scikit_learn():
    code = ("import sys, psutil; from lsn_explorer.apps import KernelExplorer; app = KernelExplorer(); "
            "app._layer.value = 5; app._k.value = 6; app._canonical.value = True; app._show_kernel(40); "
            "print(sorted(m for m in ('torch', 'sklearn', 'scipy.ndimage') if m in sys.modules), "
            "psutil.Process().memory_info().rss >> 20)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    modules, rss = out.rsplit(" ", 1)
    assert modules == "[]", out
    assert int(rss) < 300, f"the explorer's process holds {rss} MB"
