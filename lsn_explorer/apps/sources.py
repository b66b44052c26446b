"""Choosing the data an app shows: the phantom, or the real CT sample fetched on demand.

:class:`SourcePicker` is a dropdown and a status line shared by the apps. Choosing the
real CT fetches it once (about 38 MB from the package registry, see
:mod:`lsn_explorer.data.sample`) while the status line says what is happening; if it
cannot be had, the status line says why and the app keeps showing the phantom.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from ..errors import LsnExplorerError

__all__ = ["SOURCES", "SourcePicker", "SAMPLE_NOTE", "load_source", "volume_menu", "fill_volume_menu"]

#: The data sources an app offers: name -> label.
SOURCES = {"phantom": "phantom CT (synthetic)", "sample": "real CT (TotalSegmentator example)"}

#: Shown beside the real CT wherever its label is drawn.
SAMPLE_NOTE = "real CT: TotalSegmentator's example case; its liver label is a model's output, not a manual tracing"


def load_source(source: str, settings, progress: Callable[[str], None] | None = None) -> list:
    """The volumes of ``source``, reporting the stages of a first fetch of the sample.

    Parameters
    ----------
    source : str
        "phantom", "sample", a LiTS folder or a CSV (see :func:`lsn_explorer.data.load_volumes`).
    settings : PreprocessSettings
        Size and window the slices are loaded at.
    progress : callable, optional
        ``progress(message)`` while the sample is fetched.

    Returns
    -------
    list of Volume
    """
    from ..data import load_volumes

    if source == "sample":
        from ..data.sample import fetch_sample

        fetch_sample(progress=progress)
    return load_volumes(source, settings=settings)


def volume_menu(volumes: list) -> widgets.Dropdown:
    """An app's "Volume" dropdown listing ``volumes`` (``"volume <dataid>"`` → index), the first selected."""
    return widgets.Dropdown(options=_volume_options(volumes), value=0, description="Volume")


def fill_volume_menu(menu: widgets.Dropdown, volumes: list) -> None:
    """List other ``volumes`` in a :func:`volume_menu` and select the first, notifying once."""
    with menu.hold_trait_notifications():
        menu.options = _volume_options(volumes)
        menu.value = 0


def _volume_options(volumes: list) -> list[tuple[str, int]]:
    return [(f"volume {v.dataid}", index) for index, v in enumerate(volumes)]


class SourcePicker:
    """A "Data" dropdown whose choice is loaded by ``load(source)`` and handed to ``show(loaded)``.

    Parameters
    ----------
    load : callable
        ``load(source_name, progress)`` → whatever the app shows (volumes, a slice...);
        ``progress(message)`` reports stages of a first fetch.
    show : callable
        Called with what ``load`` returned, once it succeeded.
    source : str
        The source shown first. Default "phantom"; a LiTS folder leaves the dropdown unselected.

    Attributes
    ----------
    dropdown : ipywidgets.Dropdown
    status : ipywidgets.HTML
        What is being fetched, the note on the real CT's label, or why it failed.
    widget : ipywidgets.VBox
    """

    def __init__(self, load: Callable, show: Callable, *, source: str = "phantom") -> None:
        self._load, self._show = load, show
        self.dropdown = widgets.Dropdown(options=[(label, name) for name, label in SOURCES.items()], value=source if source in SOURCES else None,
                                         description="Data", layout=widgets.Layout(width="360px"))
        self.dropdown.add_class("source-picker")
        self.status = widgets.HTML()
        self.status.add_class("source-status")
        self.current = source
        self.dropdown.observe(self._on_choice, names="value")
        self.widget = widgets.VBox([self.dropdown, self.status])

    def _say(self, message: str, *, error: bool = False) -> None:
        style = "color:#b00020" if error else "color:#555"
        self.status.value = f"<span style='{style}'>{html.escape(message)}</span>"

    def _on_choice(self, change) -> None:
        source = change["new"]
        if source is None or source == self.current:
            return
        try:
            loaded = self._load(source, lambda message: self._say(message + " …"))
        except (LsnExplorerError, OSError) as error:
            self._say(f"The real CT is unavailable: {error}. Still showing the {SOURCES.get(self.current, self.current)}.",
                      error=True)
            with self.dropdown.hold_trait_notifications():
                self.dropdown.value = self.current if self.current in SOURCES else None
            return
        self.current = source
        self._show(loaded)
        self._say(SAMPLE_NOTE if source == "sample" else "")
