"""Cross-validation experiments over seeds: Table 2 of the paper (level set, UNet, LSN, LSN-G, speed-map LSN)
and the capacity study (speed-map LSN, its ablation and a UNet at several sizes)."""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
