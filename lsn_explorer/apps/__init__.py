"""The widget classes behind the Voila apps in ``apps/``.

Each class owns its widgets and exposes ``.widget``; computation lives in the library.
"""

from __future__ import annotations

import sys

from .._lazy import stub_exports

# plotly's FigureWidget imports nbformat, nbformat imports jsonschema, and jsonschema checks the
# "iri" string format with rfc3987-syntax when it is installed, which compiles a Lark grammar on
# import: 2.2 s of every app kernel's start, for a format no app ever checks. Without it, jsonschema
# leaves "iri" unchecked, as it does wherever rfc3987-syntax is not installed.
sys.modules.setdefault("rfc3987_syntax", None)

__getattr__, __dir__ = stub_exports(__name__, __file__)
