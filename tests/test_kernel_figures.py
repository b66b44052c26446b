"""Figure builders of the atlas and the ``kernels`` command's output folder."""

from __future__ import annotations

import base64
import csv
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from fixtures.kernels.keras_unet import PARTS, write_keras_unet

from lsn_explorer.cli import main
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
    for k, info in enumerate(ks.layers, start=1):
        stem = f"layer_{k:02d}_conv{k}"
        with open(out / f"{stem}.csv") as fh:
            clusters = {int(r["cluster"]) for r in csv.DictReader(fh)}
        data, layout = _written_figure(out / f"{stem}_scatter.html")
        assert layout["title"]["text"].startswith(f"layer {k} (conv{k}, {info.part}): {info.n_kernels} kernels")
        assert sum(_n_points(t) for t in data if t["name"].startswith("cluster")) == info.n_kernels
        assert {t["name"] for t in data} == {f"cluster {c}" for c in clusters} | {"reference stencils", "LSN stencils"}
        data, _ = _written_figure(out / f"{stem}_centroids.html")
        assert clusters <= set(range(sum(t["type"] == "heatmap" for t in data)))
    data, layout = _written_figure(out / "figure3_grid.html")
    assert [a["text"] for a in layout["annotations"]] == [f"layer {k} ({i.part})" for k, i in enumerate(ks.layers, start=1)]
    axes = sorted({t.get("xaxis", "x") for t in data}, key=lambda a: int(a[1:] or 1))
    points = [sum(_n_points(t) for t in data if t.get("xaxis", "x") == a and t["name"].startswith("cluster")) for a in axes]
    assert points == [i.n_kernels for i in ks.layers]
    data, _ = _written_figure(out / "summary_operators.html")
    bars = [t for t in data if t["type"] == "bar"]
    assert all(list(t["x"]) == [str(k) for k in range(1, ks.n_layers + 1)] for t in bars)
    np.testing.assert_allclose(np.sum([_values(t["y"]) for t in bars], axis=0), 1.0)
    assert [t["name"] for t in data if t["type"] == "scatter"] == ["mean-zero", "silhouette"]


def _written_figure(path) -> tuple[list, dict]:
    """``(data, layout)`` of the figure in a plotly HTML file, as the browser receives them."""
    text = path.read_text()
    decoder = json.JSONDecoder()
    start = text.index("Plotly.newPlot(") + len("Plotly.newPlot(")
    parts, pos = [], start
    for _ in range(3):  # the div id, the traces, the layout
        pos = re.compile(r"[\s,]*").match(text, pos).end()
        value, pos = decoder.raw_decode(text, pos)
        parts.append(value)
    return parts[1], parts[2]


def _values(array) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ``{"dtype", "bdata"}``."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array)


def _n_points(trace) -> int:
    return len(_values(trace.get("x", [])))


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


def test_the_command_line_reports_every_stage_and_skips_pngs(tmp_path, capsys):
    model = tmp_path / "unet.h5"
    write_keras_unet(model)
    out = tmp_path / "atlas"
    assert main(["kernels", str(model), "--out", str(out), "--no-png"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    lines = captured.err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["collect", "cluster", "project", "identify", "figures"]
    assert all(re.fullmatch(r"\w+: .+ \(\d+\.\d s\)", line) for line in lines), lines
    assert lines[0].startswith("collect: 26 kernels in 5 layers")  # 1*2 + 2*2 + 2*3 + (2+3)*2 + 2*2
    assert not list(out.glob("*.png"))
    assert len(list(out.glob("*.html"))) == 2 * 5 + 2
    with open(out / "summary.csv") as fh:
        assert {r["name"]: r["part"] for r in csv.DictReader(fh)} == PARTS
    data, _ = _written_figure(out / "layer_03_mid_scatter.html")
    hover = [text for t in data if t["name"].startswith("cluster") for text in t["text"]]
    assert len(hover) == 6 and all(re.match(r"layer 3 · out \d · in \d<br>", text) for text in hover)  # as the explorer's


def test_pngs_are_a_stage_of_their_own(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("lsn_explorer.kernels.report.write_figures",
                        lambda figs, out, *, png=True, html=True: calls.append((html, png)) or [])
    model = tmp_path / "unet.h5"
    write_keras_unet(model)
    lines = []
    kernels_command(str(model), out=tmp_path / "atlas", progress=lines.append)
    assert calls == [(True, False), (False, True)]
    assert [line.split(":")[0] for line in lines] == ["collect", "cluster", "project", "identify", "figures", "png"]
    assert lines[-1].startswith("png: 12 PNG files")
