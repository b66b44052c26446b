"""The kernel explorer: one layer's 3x3 kernels in 2-D, next to the finite-difference stencils.

Pick a model (bundled phantom UNet, bundled LSN, a checkpoint / state_dict /
Keras ``.h5`` path or an upload), a layer, k and a 2-D view. Click a kernel to
see its weights beside its nearest stencil, the operator it approximates (with
its residual and order) and what it does to a CT slice. Box or lasso a group of
kernels to download them as CSV. All computation is in
:mod:`~lsn_explorer.apps.explorer_compute`; this class only wires widgets.
"""

from __future__ import annotations

import base64
import html
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from ..errors import CheckpointError, DataFileError, InputError, MissingDataError
from ..kernels.atlas import PLOT_STENCILS
from ..viz.slices import png_bytes, window_to_uint8
from . import explorer_compute as xc
from .explorer_figures import (
    MAX_LEGEND_CLUSTERS,
    centroids_html,
    cluster_colors,
    explorer_scatter_figure,
    fractions_html,
    kernel_pair_html,
)
from .explorer_state import ExplorerState, bundled_state
from .plotly_bundle import ScatterFigureWidget
from .sources import SourcePicker

__all__ = ["KernelExplorer"]

_USER_ERRORS = (InputError, DataFileError, MissingDataError, CheckpointError)


@contextmanager
def _unobserved(*pairs):
    """Detach each ``(widget, handler)`` pair's ``value`` observer for the block, then attach it again."""
    for widget, handler in pairs:
        widget.unobserve(handler, names="value")
    try:
        yield
    finally:
        for widget, handler in pairs:
            widget.observe(handler, names="value")


class KernelExplorer:
    """Explore a network's 3x3 kernels layer by layer against finite-difference stencils.

    Parameters
    ----------
    model : str, Path, nn.Module or KernelSet, optional
        ``"bundled-unet"`` (default: the UNet trained on the phantom), ``"bundled-lsn"``,
        a model file, or a model / kernel set.
    n_clusters : int, optional
        Starting k of the per-layer k-means (2..8). Default 3.
    random_state : int, optional
        k-means seed. Default 0.
    max_bytes : int, optional
        Largest model file read from a path. Default 50 MiB.
    max_upload_bytes : int, optional
        Largest upload. Default 9 MiB (the page's websocket carries at most 10 MiB
        per message; give larger files by path).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The whole app.
    selection : str
        CSV text of the last box/lasso selection ("" before any).

    Examples
    --------
    >>> KernelExplorer()  # doctest: +SKIP
    """

    def __init__(self, model="bundled-unet", *, n_clusters: int = 3, random_state: int = 0,
                 max_bytes: int = xc.MAX_MODEL_BYTES, max_upload_bytes: int = xc.MAX_UPLOAD_BYTES) -> None:
        if not 2 <= int(n_clusters) <= MAX_LEGEND_CLUSTERS:
            raise InputError(f"n_clusters={n_clusters!r}; expected 2..{MAX_LEGEND_CLUSTERS}")
        self._random_state, self._max_bytes, self._max_upload = int(random_state), int(max_bytes), int(max_upload_bytes)
        self._choices = xc.model_choices()
        label = self._choices.get(model, str(model)) if isinstance(model, str) else type(model).__name__
        self._n_clusters = int(n_clusters)
        bundled = isinstance(model, str) and model in self._choices
        self._m = self._state(model if bundled else lambda: xc.load_kernel_set(model, max_bytes=max_bytes), label)
        self._ct = xc.ct_slice("phantom")
        self._ct_source = SourcePicker(lambda source, progress: xc.ct_slice(source, progress=progress), self._set_ct)
        self._row = None
        self.selection = ""
        self._build_widgets(model, int(n_clusters))
        self._wire()
        self._model_changed(redraw=False)

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self, model, n_clusters: int) -> None:
        self._model = widgets.Dropdown(
            options=[(v, k) for k, v in self._choices.items()] + [("file (path or upload)", "file")],
            value=model if isinstance(model, str) and model in self._choices else "file",
            description="Model", layout=widgets.Layout(width="300px"),
        )
        self._path = widgets.Text(placeholder="checkpoint, state_dict or Keras .h5 path", layout=widgets.Layout(width="320px"))
        self._path.add_class("kx-path")
        self._load = widgets.Button(description="Load file", icon="folder-open", layout=widgets.Layout(width="110px"))
        self._upload = widgets.FileUpload(accept=".pt,.pth,.ckpt,.bin,.h5,.hdf5", multiple=False,
                                          description=f"Upload (≤ {self._max_upload / 2**20:.0f} MB)",
                                          layout=widgets.Layout(width="200px"))
        self._upload.add_class("kx-upload")
        self._message = widgets.HTML()
        self._message.add_class("kx-message")
        n_layers = self._m.kernels.n_layers
        self._layer = widgets.IntSlider(value=1, min=1, max=n_layers, description="Layer", continuous_update=False)
        self._layer.add_class("kx-layer")
        self._layer_label = widgets.HTML()
        self._layer_label.add_class("kx-layer-label")
        self._k = widgets.IntSlider(value=n_clusters, min=2, max=MAX_LEGEND_CLUSTERS, description="k", continuous_update=False)
        self._k.add_class("kx-k")
        self._projection = widgets.Dropdown(description="View", layout=widgets.Layout(width="260px"))
        self._projection_note = widgets.HTML()
        self._canonical = widgets.Checkbox(value=False, description="cluster canonical forms (sign, scale)", indent=False)
        self._stencils = {
            name: widgets.Checkbox(value=True, description=name, indent=False, layout=widgets.Layout(width="115px"))
            for name in PLOT_STENCILS
        }
        self._scatter = ScatterFigureWidget(self._scatter_figure())
        self._scatter.add_class("kx-scatter")
        self._detail = widgets.HTML()
        self._detail.add_class("kx-detail")
        self._identity = widgets.HTML()
        self._identity.add_class("kx-identity")
        self._ct_image = widgets.Image(value=self._slice_png(), format="png", width=200, height=200)
        self._ct_image.add_class("kx-ct")
        self._response = widgets.Image(format="png", width=200, height=200)
        self._response.add_class("kx-response")
        self._centroids = widgets.HTML(self._centroid_html(), layout=widgets.Layout(width="620px"))
        self._centroids.add_class("kx-centroids")
        self._fractions = widgets.HTML(self._fractions_html())
        self._fractions.add_class("kx-fractions")
        self._download = widgets.HTML("<i>Box- or lasso-select kernels in the scatter to export them as CSV.</i>")
        self._download.add_class("kx-download")

        checklist = widgets.GridBox(list(self._stencils.values()),
                                    layout=widgets.Layout(grid_template_columns="repeat(6, 118px)"))
        controls = widgets.VBox([
            widgets.HBox([self._model, self._path, self._load, self._upload]),
            self._message,
            widgets.HBox([self._layer, self._layer_label, self._k]),
            widgets.HBox([self._projection, self._canonical, self._projection_note]),
            widgets.HTML("<b>Stencils shown</b> (red squares: the 11 reference kernels; black diamonds: the LSN's finite differences)"),
            checklist,
        ])
        images = widgets.HBox([
            widgets.VBox([widgets.HTML("<b>CT slice</b>"), self._ct_image, self._ct_source.widget]),
            widgets.VBox([widgets.HTML("<b>kernel response</b>"), self._response]),
        ])
        right = widgets.VBox([self._detail, self._identity, images], layout=widgets.Layout(width="440px"))
        self.widget = widgets.VBox([
            widgets.HTML("<h3 style='margin:4px 0'>Kernel explorer: learned 3×3 kernels vs finite-difference stencils</h3>"),
            controls,
            widgets.HBox([self._scatter, right]),
            self._download,
            widgets.HBox([self._centroids, self._fractions]),
        ])
        self.widget.add_class("kx-app")

    def _wire(self) -> None:
        self._model.observe(self._on_model_choice, names="value")
        self._load.on_click(self._on_load_path)
        self._upload.observe(self._on_upload, names="value")
        self._layer.observe(self._on_layer, names="value")
        self._k.observe(self._on_clustering, names="value")
        self._canonical.observe(self._on_clustering, names="value")
        self._projection.observe(self._on_projection, names="value")
        for box in self._stencils.values():
            box.observe(self._on_stencils, names="value")
        self._scatter.data[0].on_click(self._on_click)
        self._scatter.data[0].on_selection(self._on_selection)

    # ------------------------------------------------------------------ state
    @property
    def layer(self) -> int:
        """The layer shown, 0-based."""
        return self._layer.value - 1

    def _clusters(self, index: int):
        return self._m.layer_clusters(index, self._k.value, self._canonical.value)

    def _view(self, index: int):
        """(coords (n, 2), ref_coords (R, 2), axis titles) of layer ``index`` in the chosen view."""
        view = self._m.views.get(self._projection.value) or self._m.views["global"]
        info = self._m.kernels.layers[index]
        return view.coords[info.start : info.stop], view.ref_coords[index], view.axis_titles[index]

    @property
    def result(self) -> dict:
        """What the app shows now, for further analysis in a notebook.

        Keys: ``atlas`` (:class:`~lsn_explorer.kernels.Atlas`), ``layer`` (1-based),
        ``labels`` (n,), ``centers`` (k, 9), ``silhouette``, ``coords`` (n, 2) in the
        current view, ``projection``, ``kernel`` (the shown kernel's
        :class:`~lsn_explorer.apps.explorer_compute.KernelDetails`, or None).
        """
        labels, centers, sil = self._clusters(self.layer)
        coords, _, _ = self._view(self.layer)
        return dict(atlas=self._m.atlas, layer=self.layer + 1, labels=labels, centers=centers, silhouette=sil,
                    coords=coords, projection=self._projection.value,
                    kernel=None if self._row is None else xc.kernel_details(self._m.atlas, self._row))

    # ------------------------------------------------------------------ views
    def _checked_refs(self, ref_coords):
        names = list(PLOT_STENCILS)
        keep = np.array([self._stencils[n].value for n in names], dtype=bool)
        return [n for n, k in zip(names, keep) if k], np.asarray(ref_coords)[keep]

    def _ranges(self, coords, ref_names, ref_coords):
        fd = set(xc.FD_NAMES)
        near = [i for i, n in enumerate(ref_names) if n not in fd]
        return xc.view_range(coords, np.asarray(ref_coords)[near] if near else None)

    def _scatter_title(self, index: int, silhouette: float) -> str:
        info = self._m.kernels.layers[index]
        return (f"layer {index + 1} ({info.name}, {info.part}): {info.n_kernels} kernels, "
                f"k = {self._k.value}, silhouette {silhouette:.2f}")

    def _scatter_figure(self) -> go.Figure:
        """The scatter of layer 1 (the widgets it reads exist already)."""
        labels, _, sil = self._clusters(0)
        coords, refs, axes = self._view(0)
        info = self._m.kernels.layers[0]
        names, R = self._checked_refs(refs)
        return explorer_scatter_figure(
            coords, labels, ref_coords=R, ref_names=names, fd_names=xc.FD_NAMES, hover=self._m.hover[info.start : info.stop],
            title=self._scatter_title(0, sil), axis_titles=axes, ranges=self._ranges(coords, names, R),
        )

    def _set_ct(self, image) -> None:
        """Show another CT slice (from the "Data" menu) and the current kernel's response on it."""
        self._ct = image
        self._ct_image.value = self._slice_png()
        if self._row is not None:
            self._show_response(xc.kernel_details(self._m.atlas, self._row).kernel)

    def _slice_png(self) -> bytes:
        return png_bytes(window_to_uint8(self._ct, (-1.0, 1.0)))

    def _redraw_scatter(self) -> None:
        index = self.layer
        info = self._m.kernels.layers[index]
        labels, _, sil = self._clusters(index)
        coords, refs, axes = self._view(index)
        names, R = self._checked_refs(refs)
        fd = set(xc.FD_NAMES)
        xr, yr = self._ranges(coords, names, R)
        k = int(labels.max()) + 1 if len(labels) else 0
        fig = self._scatter
        with fig.batch_update():
            fig.data[0].update(x=coords[:, 0], y=coords[:, 1], text=self._m.hover[info.start : info.stop],
                               marker_color=cluster_colors(labels), selectedpoints=None)
            for trace in fig.data[1:]:
                if "stencils" in trace.meta:
                    want = [i for i, n in enumerate(names) if (n in fd) == (trace.meta["stencils"] == "lsn")]
                    trace.update(x=R[want, 0] if want else [], y=R[want, 1] if want else [], text=[names[i] for i in want])
                elif "cluster" in trace.meta:
                    trace.visible = trace.meta["cluster"] < k
            fig.layout.title.text = self._scatter_title(index, sil)
            fig.layout.xaxis.title.text, fig.layout.yaxis.title.text = axes
            fig.layout.xaxis.range, fig.layout.yaxis.range = xr, yr

    def _centroid_html(self) -> str:
        """The current layer's cluster centres, each captioned with its size and operator."""
        index = self.layer
        labels, centers, _ = self._clusters(index)
        counts = np.bincount(labels, minlength=len(centers))
        ident = xc.centroid_labels(centers)
        canon = " (canonical forms)" if self._canonical.value else ""
        titles = [f"cluster {c} (n={counts[c]})<br>{ident[c]}" for c in range(len(centers))]
        return centroids_html(centers, titles=titles, title=f"layer {index + 1} cluster centres{canon}")

    def _fractions_html(self) -> str:
        ops, near = xc.layer_fractions(self._m.atlas, self.layer)
        title = f"layer {self.layer + 1}: kernels near each operator / stencil (residual ≤ 0.5)"
        return fractions_html(ops, near, title=title)

    def _redraw_centroids(self) -> None:
        self._centroids.value = self._centroid_html()

    def _redraw_fractions(self) -> None:
        self._fractions.value = self._fractions_html()

    def _show_kernel(self, row: int) -> None:
        d = xc.kernel_details(self._m.atlas, row)
        self._row = row
        self._detail.value = kernel_pair_html(d.kernel, d.nearest_kernel, title=d.title,
                                              stencil_title=f"nearest: {d.nearest} × scale")
        order = "∞" if np.isinf(d.order) else f"{d.order:g}"
        self._identity.value = (
            f"<div class='kx-kernel-name'><b>{html.escape(d.title)}</b></div>"
            f"operator <b>{html.escape(d.operator)}</b> (scale {d.scale:.3g}), residual {d.residual:.2f}, "
            f"order {order}{' · mean-zero' if d.mean_zero else ''}<br>"
            f"nearest stencil <b>{html.escape(d.nearest)}</b>, residual {d.nearest_residual:.2f}"
        )
        self._show_response(d.kernel)

    def _show_response(self, kernel) -> None:
        """The ``(3, 3)`` kernel's response on the CT slice shown."""
        self._response.value = xc.response_png(xc.kernel_response(kernel, self._ct))

    def _redraw_layer(self, *, redraw: bool = True) -> None:
        """Show the current layer; ``redraw=False`` leaves the scatter and summaries (built for it already) alone."""
        info = self._m.kernels.layers[self.layer]
        self._layer_label.value = f"<b>{html.escape(info.name)}</b> · {html.escape(info.part)} · {info.n_kernels} kernels"
        if redraw:
            self._redraw_scatter()
            self._redraw_centroids()
            self._redraw_fractions()
        self._show_kernel(info.start)
        self._clear_selection()

    def _clear_selection(self) -> None:
        self.selection = ""
        self._download.value = "<i>Box- or lasso-select kernels in the scatter to export them as CSV.</i>"

    # ------------------------------------------------------------------ callbacks
    def _model_changed(self, *, redraw: bool = True) -> None:
        n_layers = self._m.kernels.n_layers
        views = [(xc.PROJECTIONS[k], k) for k in ("global", "layer", "umap") if k in self._m.views]
        current = self._projection.value
        with _unobserved((self._projection, self._on_projection), (self._layer, self._on_layer)):
            # the redraw below covers these changes
            self._projection.options = views
            self._projection.value = current if current in self._m.views else "global"
            self._layer.max = n_layers
            self._layer.value = min(self._layer.value, n_layers)
        self._projection_note.value = "" if "umap" in self._m.views else (
            "<span class='kx-note' title='precompute it with lsn_explorer.kernels.precompute_umap(model)'>"
            "UMAP: no cached embedding for this model</span>"
        )
        ks = self._m.kernels
        self._message.value = (f"<span class='kx-ok'>{html.escape(self._m.label)}: {len(ks)} kernels in "
                               f"{ks.n_layers} layers</span>")
        self._redraw_layer(redraw=redraw)

    def _state(self, source, label: str) -> ExplorerState:
        """The state of ``source``: a bundled model's name (``"bundled-<name>"``, read from its file),
        or a callable that returns a kernel set (computed)."""
        if isinstance(source, str):
            return bundled_state(source[len("bundled-"):], label=label, n_clusters=self._n_clusters,
                                 random_state=self._random_state)
        return ExplorerState.compute(source(), label=label, n_clusters=self._n_clusters, random_state=self._random_state)

    def _set_model(self, source, label: str) -> bool:
        """Load ``source`` (see :meth:`_state`); on a user error show it and keep the current model."""
        self._message.value = f"<span class='kx-busy'>loading {html.escape(label)}…</span>"
        try:
            model = self._state(source, label)
        except _USER_ERRORS as exc:
            self._error(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - an app must survive any unreadable file
            self._error(f"could not read {label}: {type(exc).__name__}: {exc}")
            return False
        self._m = model
        self._model_changed()
        return True

    def _error(self, text: str) -> None:
        self._message.value = (
            f"<div class='kx-error' style='color:#b00020'><b>Could not load the model.</b> {html.escape(text)} "
            f"<br><i>Still showing {html.escape(self._m.label)}.</i></div>"
        )

    def _on_model_choice(self, change) -> None:
        if change["new"] in self._choices:
            self._set_model(change["new"], self._choices[change["new"]])

    def _on_load_path(self, _button=None) -> None:
        path = self._path.value.strip()
        self._set_model(lambda: xc.load_kernel_set(path, max_bytes=self._max_bytes), path or "an empty path")

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        name, content = item["name"], item["content"]
        ok = self._set_model(lambda: xc.kernels_from_upload(name, bytes(content), max_bytes=self._max_upload), name)
        if ok:
            with _unobserved((self._model, self._on_model_choice)):
                self._model.value = "file"
        self._upload.value = ()

    def _on_layer(self, change=None) -> None:
        self._redraw_layer()

    def _on_clustering(self, change=None) -> None:
        self._redraw_scatter()
        self._redraw_centroids()
        self._clear_selection()

    def _on_projection(self, change=None) -> None:
        if change is not None and change["new"] is None:
            return
        self._redraw_scatter()
        self._clear_selection()

    def _on_stencils(self, change=None) -> None:
        self._redraw_scatter()

    def _on_click(self, trace, points, state) -> None:
        if points.point_inds:
            self._show_kernel(self._m.kernels.layers[self.layer].start + int(points.point_inds[0]))

    def _on_selection(self, trace, points, selector) -> None:
        inds = list(points.point_inds)
        if not inds:
            self._clear_selection()
            return
        index = self.layer
        labels, _, _ = self._clusters(index)
        coords, _, _ = self._view(index)
        rows = xc.selection_rows(self._m.atlas, index, inds, labels=labels, coords=coords)
        self.selection = xc.selection_csv(rows)
        data = base64.b64encode(self.selection.encode()).decode("ascii")
        name = f"kernels_layer{index + 1:02d}_{len(rows)}.csv"
        self._download.value = (
            f"<a class='kx-csv' download='{name}' href='data:text/csv;base64,{data}'>"
            f"⬇ Download the {len(rows)} selected kernels of layer {index + 1} as CSV</a>"
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
