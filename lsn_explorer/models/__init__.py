"""Networks, the registry that lists them by name, and their checkpoint files.

Every model follows the protocol of :mod:`lsn_explorer.models.registry`; the
trainer, Table 2, the command line, the atlas and the apps find models there.
"""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
