"""lsn_explorer: level set equations as convolutional networks, for liver CT segmentation.

Reproduces and extends Actor, Fuentes and Rivière, "Identification of Kernels in a
Convolutional Neural Network: Connections Between Level Set Equation and Deep Learning for
Image Segmentation", Proc. SPIE 11313 (2020), doi:10.1117/12.2548871.

The public names below are loaded on first use, so ``import lsn_explorer`` stays quick;
``__init__.pyi`` lists them for type checkers and IDEs.

========================  ==========================================================
``segment``               a CT (array in HU, NIfTI file, DICOM folder) → liver mask, by
                          a network or the level set from seeds
``read_ct``               a NIfTI file or DICOM folder → ``(Z, H, W)`` HU slices
``predict``               a model's logits on ``(N, C, H, W)`` slices, at its own size
``load_volumes``          LiTS-style NIfTI (or the bundled phantom) → preprocessed volumes
``volume_folds``          the 5-fold split by volume, as the authors
``stack_slices``          volumes → contiguous ``(N, 1, H, W)`` tensors
``edge_function``         ITK-SNAP's edge map g (and the authors' Sobel⁴ variant)
``bubbles``               ITK-SNAP-style initial level sets
``evolve``                the upwind geodesic active contour solver, written as conv + ReLU
``UNet``                  the analysed UNet (18 conv layers, 14,608 3×3 kernels)
``LevelSetNetwork``       the solver unrolled, with learnable stencils
``fit``                   the training loop (resumable, DDP under torchrun)
``bundled_model``         the phantom-trained UNet and LSN that ship with the package
``collect_kernels``       every 3×3 kernel of a model, checkpoint or Keras .h5 file
``analyze_kernels``       the kernel atlas: clusters, projections, operator identification
``run_table2``            the Table 2 cross-validation
========================  ==========================================================
"""

from __future__ import annotations

from ._lazy import stub_exports

__version__ = "0.1.0"

__getattr__, __dir__ = stub_exports(__name__, __file__)
