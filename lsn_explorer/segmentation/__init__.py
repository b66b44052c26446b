"""Segmenting a user's CT: one call from a scan to a liver mask on the scan's grid.

:func:`segment` takes a slice or a volume in Hounsfield units, a NIfTI file or a DICOM
folder, and a method: a trained network (the bundled UNet by default, any registered
model or checkpoint) or ``"levelset"``, the classical geodesic active contour grown from
a few seeds with the tuned settings (:mod:`.settings`), which can be watched step by
step. It owns orientation (:mod:`.orientation`), windowing by each network's own
preprocessing (:mod:`.networks`), reading scans (:mod:`.scan`) and writing the mask in
the input's space (:mod:`.output`). ``lsn-explorer segment`` is the same on the
command line.

Modules: :mod:`.core` (``segment``), :mod:`.scan`, :mod:`.orientation`,
:mod:`.networks`, :mod:`.levelset` (seeds and slice-to-slice propagation),
:mod:`.settings`, :mod:`.output`, :mod:`.progress`.
"""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
