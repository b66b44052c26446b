"""The training loop of every registered model: device, progress, checkpoints, exact resume.

:func:`fit` trains any lsn_explorer model on slice tensors and writes a run folder::

    out/
      config.json   the arguments of the run (model spec, optimiser, data, seed)
      history.csv   one row per epoch: train/valid Dice-L2 loss, hard Dice, seconds
      last.pt       model + optimiser + RNG states after the latest epoch (for ``resume``)
      best.pt       model with the lowest validation loss (for :func:`lsn_explorer.models.load_model`)

Every file is written atomically and every checkpoint is read with
``torch.load(weights_only=True)``.  The data order of epoch ``e`` is a
permutation drawn from ``seed + e`` (as ``DistributedSampler.set_epoch``), and
the torch / numpy / python RNG states are stored in ``last.pt``, so on CPU a run
stopped after epoch k and resumed reproduces the uninterrupted history.

Reproducibility on a CPU: the same seed gives bit-identical weights in a new
process as long as PyTorch runs with the same number of intra-op threads on the
same instruction set (``config.json`` records both). A different thread count
splits the convolutions' reductions differently, the float sums round
differently, and after a few epochs the runs differ by up to a few hundredths
of Dice. Set ``OMP_NUM_THREADS`` (or ``torch.set_num_threads``) to repeat a run
exactly; compare methods over several seeds.

:func:`train_command` is the ``lsn-explorer train`` entry: it loads the data,
splits it by volume, builds the network from its recipe and calls :func:`fit`.
(:func:`predict` and :func:`evaluate`, from :mod:`lsn_explorer.inference`, are
importable from here too.) Modules: :mod:`.loop` (:func:`fit`), :mod:`.options`
(:class:`FitOptions`, the recipe; :class:`FitHooks`), :mod:`.distributed`
(ranks under ``torchrun``), :mod:`.rng_state` (seeds and generator states),
:mod:`.command` (``lsn-explorer train``).
Under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set) both use
DistributedDataParallel: gloo on CPU, nccl on CUDA, one shard of every epoch per
rank, and only rank 0 writes files.
"""

from __future__ import annotations

from .._lazy import stub_exports

__getattr__, __dir__ = stub_exports(__name__, __file__)
