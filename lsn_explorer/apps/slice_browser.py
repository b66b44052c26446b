"""A small app to page through the slices of a data set with the label contour on top."""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go

from ..data import PreprocessSettings
from ..viz.slices import slice_figure
from .sources import SourcePicker, fill_volume_menu, load_source, volume_menu

__all__ = ["SliceBrowser"]


class SliceBrowser:
    """Pick a volume and a slice; see the CT slice with its liver contour.

    Parameters
    ----------
    source : str or path
        ``"phantom"`` (default: the bundled phantom CT), ``"sample"`` (the real CT,
        fetched once), a LiTS folder or a CSV. The "Data" menu switches between the
        phantom and the real CT.
    size : int
        In-plane size the slices are shown at (default 256).

    Examples
    --------
    >>> SliceBrowser()  # doctest: +SKIP
    """

    def __init__(self, source: str = "phantom", *, size: int = 256) -> None:
        self._settings = PreprocessSettings(size=size, slices="all")
        self._volumes = load_source(source, self._settings)
        self._source = SourcePicker(lambda name, progress: load_source(name, self._settings, progress), self._set_volumes,
                                    source=source)
        self._volume = volume_menu(self._volumes)
        self._slice = widgets.IntSlider(description="Slice", min=0, continuous_update=True)
        self._status = widgets.HTML()
        self._status.add_class("slice-status")
        self._figure = go.FigureWidget(self._current_figure())
        self._volume.observe(self._on_volume, names="value")
        self._slice.observe(self._on_slice, names="value")
        self._on_volume()
        self.widget = widgets.VBox(
            [self._source.widget, widgets.HBox([self._volume, self._slice]), self._status, self._figure],
            layout=widgets.Layout(width="720px"),
        )

    @property
    def volume(self):
        """The :class:`~lsn_explorer.data.Volume` shown now."""
        return self._volumes[self._volume.value]

    @property
    def slice(self) -> int:
        """Index of the slice shown now, within the volume."""
        return self._slice.value

    def _set_volumes(self, volumes) -> None:
        """Show another data set (from the "Data" menu)."""
        self._volumes = volumes
        fill_volume_menu(self._volume, volumes)
        self._on_volume()

    def _current_figure(self) -> go.Figure:
        volume, z = self.volume, min(self._slice.value, self.volume.num_slices - 1)
        title = f"volume {volume.dataid} · z = {int(volume.slice_index[z])}"
        return slice_figure(volume.image[z], volume.slice_mask(z), title=title)

    def _on_volume(self, change=None) -> None:
        last = self.volume.num_slices - 1
        middle = self.volume.liver_slice()
        with self._slice.hold_trait_notifications():
            self._slice.max = last
            self._slice.value = middle
        self._redraw()

    def _on_slice(self, change=None) -> None:
        self._redraw()

    def _redraw(self) -> None:
        new = self._current_figure()
        with self._figure.batch_update():
            if len(new.data) == len(self._figure.data):
                for trace, fresh in zip(self._figure.data, new.data):
                    trace.update(fresh.to_plotly_json(), overwrite=True)
            else:
                self._figure.data = ()
                self._figure.add_traces(list(new.data))
            self._figure.layout.title = new.layout.title
        volume, z = self.volume, self._slice.value
        label = volume.slice_mask(z)
        liver = "no label" if label is None else f"liver pixels: {int(label.sum())}"
        self._status.value = f"<b>volume {volume.dataid}</b> · slice {z + 1} of {volume.num_slices} · {liver}"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
