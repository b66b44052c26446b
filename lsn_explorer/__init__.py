"""lsn_explorer: level set equations as convolutional networks, for liver CT segmentation.

Reproduces and extends Actor, Fuentes and Rivière, "Identification of Kernels in a
Convolutional Neural Network: Connections Between Level Set Equation and Deep Learning for
Image Segmentation", Proc. SPIE 11313 (2020), doi:10.1117/12.2548871.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
