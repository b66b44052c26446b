"""The kernel explorer's computations (no browser), then its widget logic on the small bundled LSN."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch

from lsn_explorer.apps import explorer_compute as xc
from lsn_explorer.errors import CheckpointError, DataFileError, InputError, MissingDataError
from lsn_explorer.kernels import kernels_from_arrays
from lsn_explorer.levelset.stencils import REFERENCE_KERNELS


def _kernel_set(seed=0, sizes=((4, 2), (3, 4))):
    rng = np.random.default_rng(seed)
    return kernels_from_arrays(
        [(f"conv{n + 1}", "encoder" if n == 0 else "decoder", rng.normal(size=(o, i, 3, 3))) for n, (o, i) in enumerate(sizes)]
    )


@pytest.fixture(scope="module")
def atlas():
    return xc.explorer_atlas(_kernel_set(), n_clusters=3)


def test_bundled_and_missing_models(tmp_path):
    ks = xc.load_kernel_set("bundled-lsn")
    assert ks.n_layers == 3 and len(ks) == 6
    with pytest.raises(MissingDataError, match="nope.pt"):
        xc.load_kernel_set(str(tmp_path / "nope.pt"))
    with pytest.raises(InputError, match="bundled-vgg"):
        xc.load_kernel_set("bundled-vgg")
    with pytest.raises(InputError, match="empty"):
        xc.load_kernel_set("  ")


def test_model_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"conv.weight": torch.zeros(2, 1, 3, 3)}, path)
    with pytest.raises(InputError, match="limit"):
        xc.load_kernel_set(str(path), max_bytes=100)
    assert len(xc.load_kernel_set(str(path))) == 2


def test_upload_of_a_state_dict_is_read_and_named_after_the_upload():
    buf = io.BytesIO()
    torch.save({"enc.weight": torch.randn(4, 2, 3, 3), "head.weight": torch.randn(1, 4, 1, 1)}, buf)
    ks = xc.kernels_from_upload("my_net.pt", buf.getvalue())
    assert len(ks) == 8 and ks.source == "my_net.pt" and ks.layers[0].name == "enc"


class _Payload:
    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Payload.ran = True
    return {}


def test_bad_uploads_raise_errors_that_name_the_upload():
    with pytest.raises(CheckpointError, match="'garbage.pt'"):
        xc.kernels_from_upload("garbage.pt", b"not a checkpoint at all")
    buf = io.BytesIO()
    torch.save({"weights": _Payload()}, buf)
    with pytest.raises(CheckpointError, match="pickled"):
        xc.kernels_from_upload("evil.pt", buf.getvalue())
    assert not _Payload.ran, "an uploaded pickle was executed"
    with pytest.raises(DataFileError, match="'fake.h5'"):
        xc.kernels_from_upload("fake.h5", b"\x89HDF\r\n\x1a\n broken")
    with pytest.raises(InputError, match="limit"):
        xc.kernels_from_upload("big.pt", b"x" * 101, max_bytes=100)
    with pytest.raises(InputError, match="empty"):
        xc.kernels_from_upload("empty.pt", b"")


def test_upload_of_a_keras_h5_file(tmp_path):
    import h5py

    path = tmp_path / "k.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("model_weights/conv2d/conv2d/kernel:0", data=np.ones((3, 3, 2, 5)))
    ks = xc.kernels_from_upload("keras.h5", path.read_bytes())
    assert len(ks) == 10 and ks.source == "keras.h5"


def test_umap_cache_is_found_without_fitting(monkeypatch, tmp_path):
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path))
    from lsn_explorer.kernels import umap_cache_name
    from lsn_explorer.kernels.project import reference_matrix
    from lsn_explorer.kernels.report import PLOT_STENCILS

    ks = _kernel_set()
    assert xc.cached_umap(ks.kernels) is None
    _, R = reference_matrix(PLOT_STENCILS)
    coords = np.arange((len(ks) + len(R)) * 2, dtype=float).reshape(-1, 2)
    (tmp_path / "umap").mkdir()
    np.savez(tmp_path / "umap" / umap_cache_name(ks.kernels, references=R), coords=coords)
    u, ur = xc.cached_umap(ks.kernels)
    assert np.array_equal(u, coords[: len(ks)]) and np.array_equal(ur, coords[len(ks):])


def test_projections_place_a_kernel_equal_to_a_stencil_on_it():
    lap = np.asarray(REFERENCE_KERNELS["laplacian1"])
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 2, 3, 3)) * 0.1
    w[1, 0] = lap
    ks = kernels_from_arrays([("a", "encoder", w), ("b", "decoder", rng.normal(size=(2, 3, 3, 3)))])
    atlas = xc.explorer_atlas(ks, n_clusters=2)
    views = xc.model_projections(atlas)
    assert set(views) == {"global", "layer"}
    names = atlas.stencil_names
    row = 1 * 2 + 0  # out 1, in 0 of layer a
    for view in views.values():
        assert view.coords.shape == (len(ks), 2) and view.ref_coords.shape == (2, len(names), 2)
        np.testing.assert_allclose(view.coords[row], view.ref_coords[0, names.index("laplacian1")], atol=1e-12)
    fake = (np.zeros((len(ks), 2)), np.ones((len(names), 2)))
    assert "umap" in xc.model_projections(atlas, umap=fake)


def test_layer_clusters_cap_k_and_group_canonical_forms():
    k = np.asarray(REFERENCE_KERNELS["laplacian1"]).ravel()
    g = np.asarray(REFERENCE_KERNELS["gaussian"]).ravel()
    X = np.stack([k, -2 * k, 3 * k, g, -g, 0.5 * g])
    labels, centers, _ = xc.layer_clusters(X, 2, canonicalize=True)
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1 and labels[0] != labels[3]
    labels, centers, _ = xc.layer_clusters(X[:2], 5)
    assert centers.shape == (2, 9)


def test_view_range_covers_kernels_and_given_stencils():
    pts = np.random.default_rng(0).normal(size=(200, 2))
    (x0, x1), (y0, y1) = xc.view_range(pts, np.array([[5.0, -7.0]]))
    assert x0 < np.percentile(pts[:, 0], 1) and x1 > 5 and y0 < -7 and y1 > np.percentile(pts[:, 1], 99)


def test_kernel_details_name_the_kernel_and_its_stencil():
    w = np.zeros((2, 3, 3, 3))
    w[1, 2] = 2 * np.asarray(REFERENCE_KERNELS["laplacian1"])
    w[0, 0] = np.random.default_rng(0).normal(size=(3, 3))
    atlas = xc.explorer_atlas(kernels_from_arrays([("a", "encoder", np.ones((1, 1, 3, 3))), ("b", "decoder", w)]), n_clusters=2)
    d = xc.kernel_details(atlas, 1 + 1 * 3 + 2)
    assert d.title == "layer 2 · out 1 · in 2"
    assert d.operator == "laplacian" and d.residual < 1e-9 and d.order >= 2 and d.mean_zero
    assert d.nearest == "laplacian1" and d.nearest_residual < 1e-9 and d.scale != 0
    assert d.kernel.shape == d.nearest_kernel.shape == (3, 3)
    np.testing.assert_allclose(d.nearest_kernel, d.kernel, atol=1e-12)
    np.testing.assert_array_equal(d.kernel, atlas.kernels.kernels[1 + 1 * 3 + 2].reshape(3, 3))
    with pytest.raises(InputError):
        xc.kernel_details(atlas, 99)


def test_kernel_details_are_a_frozen_dataclass_of_typed_fields(atlas):
    import dataclasses

    d = xc.kernel_details(atlas, 0)
    assert isinstance(d, xc.KernelDetails)
    fields = {f.name: f.type for f in dataclasses.fields(d)}
    assert fields == {"title": "str", "kernel": "np.ndarray", "nearest": "str", "nearest_kernel": "np.ndarray",
                      "nearest_residual": "float", "operator": "str", "scale": "float", "residual": "float",
                      "order": "float", "mean_zero": "bool"}
    assert all(isinstance(getattr(d, name), float) for name in ("nearest_residual", "scale", "residual", "order"))
    assert isinstance(d.mean_zero, bool)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.title = "x"


def test_kernel_response_is_the_convolution_layers_cross_correlation():
    img = np.random.default_rng(0).normal(size=(20, 24)).astype(np.float32)
    k = np.arange(9, dtype=np.float32).reshape(3, 3) - 4
    r = xc.kernel_response(k, img)
    ref = torch.nn.functional.conv2d(torch.from_numpy(img)[None, None], torch.from_numpy(k)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(r[1:-1, 1:-1], ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xc.kernel_response(np.asarray(REFERENCE_KERNELS["identity"]), img), img)


def _edge_padded_correlation(kernel, image):
    """``sum(kernel[r, c] * image[i + r - 1, j + c - 1])`` in float64, the image extended by its border pixels."""
    k, img = np.asarray(kernel, np.float64), np.asarray(image, np.float64)
    p = np.pad(img, 1, mode="edge")
    h, w = img.shape
    return sum(k[r, c] * p[r : r + h, c : c + w] for r in range(3) for c in range(3))


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1), (2, 3), (17, 23)])
def test_kernel_response_extends_the_image_by_its_border_pixels(shape):
    rng = np.random.default_rng(sum(shape))
    img = rng.uniform(-1, 1, size=shape).astype(np.float32)
    k = rng.normal(size=(3, 3)).astype(np.float32)  # no symmetry: a convolution would differ
    r = xc.kernel_response(k.ravel(), img)
    assert r.shape == shape and r.dtype == np.float32
    np.testing.assert_allclose(r, _edge_padded_correlation(k, img), rtol=0, atol=1e-6)
    ramp = np.add.outer(np.arange(shape[0]), 10 * np.arange(shape[1])).astype(np.float32)
    dx = xc.kernel_response([[0, 0, 0], [0, -1, 1], [0, 0, 0]], ramp)  # forward difference: 10, 0 at the right edge
    np.testing.assert_array_equal(dx[:, :-1], 10)
    np.testing.assert_array_equal(dx[:, -1], 0)
    with pytest.raises(InputError, match="expected"):
        xc.kernel_response(k, img[None])


def test_response_png_is_grey_around_zero():
    from PIL import Image

    png = Image.open(io.BytesIO(xc.response_png(np.zeros((30, 40)))))
    assert png.mode == "L"
    im = np.asarray(png)
    assert im.shape == (30, 40) and np.all(np.abs(im.astype(int) - 128) <= 1)
    r = np.linspace(-1, 1, 64).reshape(8, 8)
    im = np.asarray(Image.open(io.BytesIO(xc.response_png(r))).convert("L"))
    assert im[0, 0] == 0 and im[-1, -1] == 255


def test_phantom_slice_shows_a_body():
    s = xc.phantom_ct_slice(size=64)
    assert s.shape == (64, 64) and s.dtype == np.float32
    assert s.min() >= -1 and s.max() <= 1 and (s > -1).mean() > 0.2


def test_selection_csv_round_trips(atlas):
    labels = np.array([2, 1, 0, 1, 0, 2, 1, 0])
    coords = np.arange(16, dtype=float).reshape(8, 2)
    rows = xc.selection_rows(atlas, 0, [5, 1, 5], labels=labels, coords=coords)
    text = xc.selection_csv(rows)
    back = list(csv.DictReader(io.StringIO(text)))
    assert [(r["out_channel"], r["in_channel"]) for r in back] == [("0", "1"), ("2", "1")]
    assert [r["cluster"] for r in back] == ["1", "2"] and [float(r["x"]) for r in back] == [2.0, 10.0]
    np.testing.assert_allclose([float(back[1][f"w{j // 3}{j % 3}"]) for j in range(9)], atlas.kernels.kernels[5], rtol=1e-9)
    assert {"nearest_stencil", "operator", "residual", "order", "layer"} <= set(back[0])
    with pytest.raises(InputError):
        xc.selection_rows(atlas, 0, [8], labels=labels, coords=coords)
    assert xc.selection_csv([]) == ""


def test_layer_fractions_sum_to_one(atlas):
    for index in range(2):
        ops, near = xc.layer_fractions(atlas, index)
        assert abs(sum(ops.values()) - 1) < 1e-9 and abs(sum(near.values()) - 1) < 1e-9
        assert list(ops)[-1] == "none"


def test_heatmap_html_colours_the_sign_and_writes_the_values():
    from lsn_explorer.apps.explorer_figures import centroids_html, fractions_html, heatmap_html

    k = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, 0.25]])
    html = heatmap_html(k, vmax=1.0, title="t")
    assert html.count("<td") == 9 and "1.00" in html and "-1.00" in html and "0.25" in html
    assert "rgb(178,24,43)" in html and "rgb(33,102,172)" in html and "rgb(247,247,247)" in html
    assert centroids_html(np.stack([k.ravel(), -k.ravel()]), titles=["a", "b"], title="layer 3").count("<table") == 2
    bars = fractions_html({"dx": 0.25, "none": 0.75}, {"mean": 1.0, "none": 0.0}, title="x")
    assert "width:40px" in bars and "width:120px" in bars and "width:160px" in bars and "75%" in bars


# ---------------------------------------------------------------- widget logic


@pytest.fixture
def app():
    from lsn_explorer.apps import KernelExplorer

    return KernelExplorer("bundled-lsn")


class _Points:
    def __init__(self, inds):
        self.point_inds = inds


def test_explorer_shows_the_layer_and_its_label(app):
    assert app._layer.max == 3 and len(app._scatter.data[0].x) == 2
    app._layer.value = 3
    assert "curvature_divergence" in app._layer_label.value
    assert app._scatter.layout.title.text.startswith("layer 3 (curvature_divergence")
    assert app.result["layer"] == 3 and app.result["kernel"].title == "layer 3 · out 0 · in 0"


def test_click_and_selection_update_details_and_csv(app):
    app._on_click(app._scatter.data[0], _Points([1]), None)
    info = app._m.kernels.layers[0]
    expected = xc.kernel_details(app._m.atlas, info.start + 1).title
    assert "kx-detail-title" in app._detail.value and expected in app._detail.value and expected in app._identity.value
    app._on_selection(app._scatter.data[0], _Points([0, 1]), None)
    assert len(list(csv.DictReader(io.StringIO(app.selection)))) == 2
    assert "kx-csv" in app._download.value and "base64," in app._download.value


def test_bad_model_file_keeps_the_current_model(app, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nonsense")
    app._path.value = str(bad)
    app._on_load_path()
    assert "kx-error" in app._message.value and "bad.pt" in app._message.value
    assert app._m.label == "bundled phantom LSN" and len(app._scatter.data[0].x) == 2
    app._layer.value = 2
    assert app._scatter.layout.title.text.startswith("layer 2")


def test_k_and_canonical_forms_recluster_the_layer(app):
    app._model.value = "bundled-unet"
    assert app._layer.max == 18 and "14608 kernels" in app._message.value
    n_maps = app._centroids.value.count("<table")
    app._k.value = 5
    assert app._centroids.value.count("<table") == 5 != n_maps
    assert app.result["centers"].shape == (5, 9)
    app._canonical.value = True
    assert "canonical" in app._centroids.value
    assert sum(t.visible is True for t in app._scatter.data if t.name.startswith("cluster ")) == 5


def test_scatter_traces_carry_what_they_draw_in_meta():
    from lsn_explorer.apps import KernelExplorer
    from lsn_explorer.apps.explorer_figures import MAX_LEGEND_CLUSTERS

    app = KernelExplorer(_kernel_set(sizes=((6, 3),)))
    data = app._scatter.data
    assert data[0].meta == {"kernels": True}
    assert [t.meta for t in data[-MAX_LEGEND_CLUSTERS:]] == [{"cluster": c} for c in range(MAX_LEGEND_CLUSTERS)]
    assert [t.name for t in data[-MAX_LEGEND_CLUSTERS:]] == [f"cluster {c}" for c in range(MAX_LEGEND_CLUSTERS)]
    stencils = {t.meta["stencils"]: t for t in data if "stencils" in t.meta}
    assert set(stencils) == {"lsn", "reference"}
    assert set(stencils["lsn"].text) == set(xc.FD_NAMES) and not set(stencils["reference"].text) & set(xc.FD_NAMES)
    for k in (5, 2):
        app._k.value = k
        assert [t.visible for t in data[-MAX_LEGEND_CLUSTERS:]] == [c < k for c in range(MAX_LEGEND_CLUSTERS)]
    n_ref = len(stencils["reference"].text)
    next(iter(app._stencils.values())).value = False  # hide one reference kernel
    assert len(stencils["reference"].x) == len(stencils["reference"].text) == n_ref - 1
    assert set(stencils["lsn"].text) == set(xc.FD_NAMES)


def test_a_new_model_redraws_the_scatter_once_and_its_controls_still_work(app, monkeypatch):
    calls = []
    redraw = app._redraw_scatter
    monkeypatch.setattr(app, "_redraw_scatter", lambda: calls.append(app.layer) or redraw())
    app._layer.value = 3
    assert calls == [2]
    ks = kernels_from_arrays([("only", "encoder", np.random.default_rng(0).normal(size=(3, 2, 3, 3)))])
    assert app._set_model(lambda: ks, "one layer")
    assert calls == [2, 0] and app._layer.value == 1 and app._layer.max == 1  # the clamped layer: no second redraw
    assert app._projection.value == "global"
    app._projection.value = "layer"
    app._k.value = 2
    assert calls == [2, 0, 0, 0]


def test_cached_umap_becomes_a_view(monkeypatch, tmp_path):
    monkeypatch.setenv("LSN_EXPLORER_DATA", str(tmp_path))
    from lsn_explorer.apps import KernelExplorer
    from lsn_explorer.kernels import umap_cache_name
    from lsn_explorer.kernels.project import reference_matrix
    from lsn_explorer.kernels.report import PLOT_STENCILS

    assert "umap" not in [v for _, v in KernelExplorer("bundled-lsn")._projection.options]
    ks = xc.load_kernel_set("bundled-lsn")
    _, R = reference_matrix(PLOT_STENCILS)
    coords = np.random.default_rng(0).normal(size=(len(ks) + len(R), 2))
    (tmp_path / "umap").mkdir()
    np.savez(tmp_path / "umap" / umap_cache_name(ks.kernels, references=R), coords=coords)
    app = KernelExplorer("bundled-lsn")
    app._projection.value = "umap"
    assert app._scatter.layout.xaxis.title.text == "UMAP 1"
    np.testing.assert_allclose(app._scatter.data[0].x, coords[:2, 0])
    assert app._projection_note.value == ""


def test_the_app_starts_without_importing_umap():
    import subprocess
    import sys

    code = ("import sys; from lsn_explorer.apps import KernelExplorer; app = KernelExplorer(); "
            "print('umap' in sys.modules, [v for _, v in app._projection.options])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.startswith("False"), out


def test_uploads_load_a_model_or_show_why_not():
    from lsn_explorer.apps import KernelExplorer

    app = KernelExplorer("bundled-lsn", max_upload_bytes=4096)
    app._on_upload({"new": ({"name": "big.pt", "content": memoryview(b"x" * 5000)},)})
    assert "kx-error" in app._message.value and "limit" in app._message.value and app._m.label == "bundled phantom LSN"
    buf = io.BytesIO()
    torch.save({"enc.weight": torch.randn(3, 2, 3, 3)}, buf)
    app._on_upload({"new": ({"name": "mine.pt", "content": memoryview(buf.getvalue())},)})
    assert "kx-ok" in app._message.value and "mine.pt: 6 kernels in 1 layers" in app._message.value
    assert app._model.value == "file" and app._layer.max == 1 and len(app._scatter.data[0].x) == 6
