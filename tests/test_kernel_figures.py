"""Figure builders of the atlas and the ``kernels`` command's output folder."""

from __future__ import annotations

import csv

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from lsn_explorer.errors import CheckpointError, InputError
from lsn_explorer.kernels import analyze_kernels, collect_kernels, kernels_command, layer_summary
from lsn_explorer.kernels.report import write_figures
from lsn_explorer.models import UNet, save_checkpoint
from lsn_explorer.viz.kernels import (
    centroid_heatmaps_figure,
    kernel_scatter_figure,
    layer_summary_figure,
    scatter_grid_figure,
)


def test_scatter_has_one_trace_per_cluster_and_labelled_stencils():
    rng = np.random.default_rng(0)
    coords, labels = rng.normal(size=(40, 2)), np.repeat([0, 1, 2, 1], 10)
    fig = kernel_scatter_figure(coords, labels, ref_coords=rng.normal(size=(3, 2)), ref_names=["mean", "identity", "D+x"],
                                fd_names=["D+x"], title="layer 2")
    assert isinstance(fig, go.Figure)
    clusters = [t for t in fig.data if t.name.startswith("cluster")]
    assert [t.name for t in clusters] == ["cluster 0", "cluster 1", "cluster 2"]
    assert sum(len(t.x) for t in clusters) == 40 and len(clusters[1].x) == 20
    refs = {t.name: list(t.text) for t in fig.data if not t.name.startswith("cluster")}
    assert refs == {"reference stencils": ["mean", "identity"], "LSN stencils": ["D+x"]}


def test_grid_has_a_panel_per_layer_with_shared_stencils():
    rng = np.random.default_rng(1)
    panels = [(f"layer {k}", rng.normal(size=(10, 2)), np.arange(10) % 3) for k in (2, 11, 12, 15)]
    fig = scatter_grid_figure(panels, ref_coords=np.zeros((2, 2)), ref_names=["mean", "identity"], cols=2)
    assert [a.text for a in fig.layout.annotations] == ["layer 2", "layer 11", "layer 12", "layer 15"]
    assert len({t.xaxis for t in fig.data}) == 4
    assert sum(t.name == "reference stencils" for t in fig.data) == 4


def test_centroid_heatmaps_show_rows_top_down_on_a_symmetric_scale():
    centers = np.arange(18, dtype=float).reshape(2, 9) - 4
    fig = centroid_heatmaps_figure(centers)
    heat = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heat) == 2
    np.testing.assert_array_equal(np.asarray(heat[1].z), centers[1].reshape(3, 3))
    assert heat[0].zmin == -heat[0].zmax == -13.0
    assert fig.layout.yaxis.autorange == "reversed"


def test_summary_bars_stack_categories_per_layer():
    fig = layer_summary_figure(["1", "2"], {"dx": [0.2, 0.5], "unidentified": [0.8, 0.5]}, lines={"mean-zero": [0.1, 0.3]})
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == ["dx", "unidentified", "mean-zero"]
    assert list(fig.data[0].y) == [0.2, 0.5]


def test_kernels_command_writes_figures_and_csvs_for_every_layer(tmp_path):
    torch.manual_seed(0)
    net = UNet(depth=1, features=2)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", net)
    out = kernels_command(str(ckpt), out=tmp_path / "atlas", png=False)
    ks = collect_kernels(net)
    with open(out / "kernels.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(ks) == sum(i.shape[0] * i.shape[1] for i in ks.layers)
    row = rows[7]
    weights = [float(row[f"w{r}{c}"]) for r in range(3) for c in range(3)]
    np.testing.assert_allclose(weights, ks.kernels[7], rtol=1e-9)
    for key in ("cluster", "pc1", "pc2", "nearest_stencil", "operator", "residual", "mean_zero"):
        assert row[key] != ""
    with open(out / "summary.csv") as fh:
        summary = list(csv.DictReader(fh))
    assert [s["part"] for s in summary] == [i.part for i in ks.layers]
    assert [int(s["n_kernels"]) for s in summary] == [i.n_kernels for i in ks.layers]
    for k in range(1, ks.n_layers + 1):
        stem = f"layer_{k:02d}_conv{k}"
        assert (out / f"{stem}.csv").is_file()
        assert (out / f"{stem}_scatter.html").stat().st_size > 1000
        assert (out / f"{stem}_centroids.html").is_file()
    assert (out / "figure3_grid.html").is_file() and (out / "summary_operators.html").is_file()


def test_kernels_command_errors_name_the_model(tmp_path):
    bad = tmp_path / "weights.bin"
    bad.write_bytes(b"nothing useful")
    with pytest.raises(CheckpointError, match="weights.bin"):
        kernels_command(str(bad), out=tmp_path / "o", png=False)
    with pytest.raises(InputError, match="bundled-foo"):
        kernels_command("bundled-foo", out=tmp_path / "o", png=False)


def test_summary_fractions_add_up_and_png_export_works(tmp_path):
    torch.manual_seed(0)
    atlas = analyze_kernels(UNet(depth=1, features=2), spectrum_shape=(8, 8))
    rows = layer_summary(atlas)
    for row in rows:
        ops = sum(v for k, v in row.items() if k.startswith("op_"))
        near = sum(v for k, v in row.items() if k.startswith("near_"))
        spec = sum(v for k, v in row.items() if k.startswith("spectral_"))
        assert ops == pytest.approx(1.0) and near == pytest.approx(1.0) and spec == pytest.approx(1.0)
    fig = kernel_scatter_figure(atlas.coords, atlas.clusters.labels)
    (png,) = write_figures({"one": fig}, tmp_path, html=False)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
