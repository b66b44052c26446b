"""The widget classes behind the Voila apps in ``apps/``.

Each class owns its widgets and exposes ``.widget``; computation lives in the library.
"""

from __future__ import annotations

from .kernel_explorer import KernelExplorer
from .levelset_playground import LevelSetPlayground
from .slice_browser import SliceBrowser

__all__ = ["KernelExplorer", "LevelSetPlayground", "SliceBrowser"]
