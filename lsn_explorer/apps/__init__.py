"""The widget classes behind the Voila apps in ``apps/``.

Each class owns its widgets and exposes ``.widget``; computation lives in the library.
"""

from __future__ import annotations

from .slice_browser import SliceBrowser

__all__ = ["SliceBrowser"]
