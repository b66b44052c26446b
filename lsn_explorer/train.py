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
importable from here too.)
Under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set) both use
DistributedDataParallel: gloo on CPU, nccl on CUDA, one shard of every epoch per
rank, and only rank 0 writes files.
"""

from __future__ import annotations

import csv
import math
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._files import atomic_path, write_json
from .augment import Augmentation
from .augment import augment as augment_batch
from .data.slices import SliceData, as_slice_data
from .devices import resolve_device
from .errors import CheckpointError, InputError, MissingDataError
from .inference import evaluate, predict
from .losses import dice_l2_loss
from .metrics import hard_dice, volume_dice
from .models.loading import load_checkpoint, save_checkpoint
from .models.registry import build_model, model_spec, recipe_for

__all__ = ["fit", "train_command", "resolve_device", "evaluate", "predict", "batch_loss", "SliceData", "HISTORY_FIELDS"]

HISTORY_FIELDS = (
    "epoch", "train_loss", "train_dice", "valid_loss", "valid_dice", "valid_volume_dice", "lr", "seconds",
)




# --------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _dist_from_env(device: torch.device) -> tuple[_Dist, torch.device]:
    """Join the process group when launched by torchrun; pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), device
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return _Dist(rank, world, local), device


def _barrier(d: _Dist) -> None:
    if d.active:
        import torch.distributed as dist

        dist.barrier()


def _all_sum(t: torch.Tensor, d: _Dist) -> torch.Tensor:
    if d.active:
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def _epoch_order(n: int, *, seed: int, epoch: int, d: _Dist) -> torch.Tensor:
    """Indices of this rank's slices for ``epoch`` (DistributedSampler's rule)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return torch.tensor(list(iter(sampler)), dtype=torch.int64)


# --------------------------------------------------------------------------- RNG state


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": list(_py_state_to_list(random.getstate())),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _py_state_to_list(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------- history files


def _write_history(path: Path, history: list[dict]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
            writer.writeheader()
            for row in history:
                writer.writerow({k: row.get(k, "") for k in HISTORY_FIELDS})


# --------------------------------------------------------------------------- evaluation


def _validate(model, data: SliceData, *, batch_size: int, device, amp_ctx) -> dict:
    """Sums over the validation slices (every rank evaluates all of them)."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    dice_sum = torch.zeros((), device=device)
    preds = []
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            x = data.images[i : i + batch_size].to(device, non_blocking=True)
            y = data.masks[i : i + batch_size].to(device, non_blocking=True)
            with amp_ctx():
                logits = model(x)
            loss_sum += dice_l2_loss(logits, y, reduction="sum")
            dice_sum += hard_dice(logits, y, reduction="none").sum()
            if data.dataids is not None:
                preds.append((logits > 0).cpu())
    n = len(data)
    row = {"valid_loss": float(loss_sum) / n, "valid_dice": float(dice_sum) / n}
    if preds:
        per = volume_dice(torch.cat(preds), data.masks, data.dataids)
        row["valid_volume_dice"] = float(np.mean(list(per.values())))
    return row


# --------------------------------------------------------------------------- fit


def batch_loss(core: nn.Module, net, x: torch.Tensor, y: torch.Tensor, *, progress: float):
    """``(per-slice loss (N,), logits)`` of one batch: the model's own ``training_loss``, else Dice-L2 of ``net(x)``.

    Parameters
    ----------
    core : nn.Module
        The model; its ``training_loss(net, x, y, progress=...)``, when it has one,
        replaces the Dice-L2 loss.
    net : callable
        What runs the model: ``core`` itself, or its DistributedDataParallel wrapper.
    x : (N, C, H, W) Tensor
        The network input (C = 1, or e.g. the LSN's (image, u0)).
    y : (N, 1, H, W) Tensor
        Target masks in {0, 1}.
    progress : float
        How far training is, in [0, 1] (epochs done, with fractions, over all
        epochs); only ``training_loss`` uses it.

    Returns
    -------
    loss : (N,) Tensor
        The loss of each slice, with gradients (Dice-L2 in float32, averaged over
        channels, unless the model has its own loss).
    logits : (N, 1, H, W) Tensor
        The model's output for the batch (scored with the hard Dice).

    Raises
    ------
    InputError
        Logits and ``y`` of different shapes (see :func:`~lsn_explorer.losses.dice_l2_loss`).
    """
    own = getattr(core, "training_loss", None)
    if own is not None:
        return own(net, x, y, progress=progress)
    logits = net(x)
    return dice_l2_loss(logits, y, reduction="none").mean(dim=1), logits


def _preprocessing_of(train: SliceData, given):
    """The model's preprocessing: as given, or the training slices' size with the default window."""
    from .data.volume import PreprocessSettings

    if given is not None:
        if given.size != train.images.shape[-1]:
            raise InputError(f"preprocessing.size={given.size} but the training slices are {tuple(train.images.shape[-2:])}")
        return given
    return PreprocessSettings(size=int(train.images.shape[-1]))


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True, file=sys.stderr)


def fit(
    model: nn.Module,
    train,
    valid=None,
    *,
    out: str | os.PathLike,
    epochs: int,
    batch_size: int = 16,
    lr: float = 1e-3,
    eps: float = 1e-7,
    clip_grad_norm: float | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    amp: bool | None = None,
    channels_last: bool | None = None,
    resume: bool = False,
    progress: bool = True,
    config: dict | None = None,
    preprocessing=None,
    augment=None,
    stop_after: int | None = None,
    resume_hint: str | None = None,
) -> Path:
    """Train ``model`` with Adam on the Dice-L2 loss; write a run folder.

    Parameters
    ----------
    model : nn.Module
        A registered model (see :mod:`lsn_explorer.models.registry`): it
        returns logits, and its ``training_loss`` (if any) replaces the Dice-L2 loss.
    train, valid : SliceData, SliceStack or (images, masks[, dataids])
        Training and validation slices, ``(N, 1, H, W)``; ``valid`` may be None.
    out : str or Path
        Run folder (created).
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    batch_size : int, optional
        Slices per step (per rank under DDP). Default 16.
    lr : float, optional
        Adam learning rate. Default 1e-3.
    eps : float, optional
        Adam epsilon. Default 1e-7 (the Keras default the authors trained with).
    clip_grad_norm : float, optional
        Rescale the gradients so that their global norm is at most this before
        each step. Default None (no clipping).
    seed : int, optional
        Seeds python, numpy and torch, and the data order. Default 0.
    device : str or torch.device, optional
        ``"auto"`` (cuda, then mps, then cpu) or a device. Default "auto".
    amp : bool or None, optional
        Mixed precision (bfloat16 autocast); None means on CUDA for models
        that allow it (``model.amp_ok``; the LSN does not). Default None.
    channels_last : bool or None, optional
        ``channels_last`` memory format; None means on CUDA. Default None.
    resume : bool, optional
        Continue from ``out/last.pt``. Default False (an existing run folder
        with a ``last.pt`` is then refused).
    progress : bool, optional
        Show a tqdm progress bar (a widget in notebooks, text in a terminal). Default True.
    config : dict, optional
        Extra entries for ``config.json`` (data, fold, preset...).
    preprocessing : PreprocessSettings, optional
        How the training slices were made (in-plane size, HU window); stored on
        the model and in its checkpoints. Default: the data's own size with
        the default HU window.
    augment : Augmentation, optional
        Transform every training batch with :func:`lsn_explorer.augment.augment`
        (one-channel inputs only), drawn from a generator seeded by ``seed`` and the
        epoch, so a resumed run repeats. Default None (no augmentation).
    stop_after : int, optional
        Stop after this epoch as if interrupted (tests; the checkpoint is kept).
    resume_hint : str, optional
        The command printed after Ctrl-C to continue the run.

    Returns
    -------
    Path
        The run folder.

    Raises
    ------
    InputError
        Bad arguments or data shapes; ``resume`` with a different model or
        without a ``last.pt``; an existing run without ``resume``.
    KeyboardInterrupt
        Re-raised after Ctrl-C, once the message on how to resume is printed;
        ``last.pt`` holds the last finished epoch.
    """
    if int(epochs) != epochs or epochs < 1:
        raise InputError(f"epochs={epochs!r} must be an integer >= 1")
    if int(batch_size) != batch_size or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r} must be an integer >= 1")
    if not lr > 0:
        raise InputError(f"lr={lr!r} must be > 0")
    train = as_slice_data(train, "train")
    if augment is not None and train.images.shape[1] != 1:
        raise InputError(f"augment needs one-channel images; train has {train.images.shape[1]} channels")
    valid = as_slice_data(valid, "valid")
    out = Path(out)
    dev = resolve_device(device)
    d, dev = _dist_from_env(dev)
    on_cuda = dev.type == "cuda"
    core = getattr(model, "module", model)
    amp = (on_cuda and getattr(core, "amp_ok", True)) if amp is None else bool(amp and on_cuda)
    channels_last = (on_cuda and getattr(core, "amp_ok", True)) if channels_last is None else bool(channels_last)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    amp_dtype = torch.bfloat16 if (on_cuda and torch.cuda.is_bf16_supported()) else torch.float16

    # float16 (GPUs without bfloat16) needs loss scaling; disabled, the scaler is a pass-through
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)

    def amp_ctx():
        return torch.autocast(device_type=dev.type, dtype=amp_dtype) if amp else nullcontext()

    last_path, best_path = out / "last.pt", out / "best.pt"
    spec = model_spec(core)
    core.preprocessing = _preprocessing_of(train, preprocessing)
    run_config = {
        "model": spec,
        "optimizer": {"name": "Adam", "lr": lr, "eps": eps, "clip_grad_norm": clip_grad_norm},
        "loss": (f"{type(core).__name__}.training_loss" if hasattr(core, "training_loss")
                 else "dice_l2 (per slice, sigmoid of logits)"),
        "epochs": int(epochs), "batch_size": int(batch_size), "seed": int(seed),
        "device": str(dev), "amp": amp, "channels_last": channels_last, "world_size": d.world_size,
        "train_slices": len(train), "valid_slices": len(valid) if valid is not None else 0,
        "image_size": list(train.images.shape[-2:]),
        "preprocessing": core.preprocessing.to_dict(),
        "augmentation": augment.to_dict() if augment is not None else None,
        "torch": torch.__version__,
        # what the float summation order of CPU kernels depends on: the same seed gives the same
        # weights only with the same thread count and instruction set
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        **(config or {}),
    }

    _seed_everything(seed)
    core.to(dev, memory_format=fmt)
    opt = torch.optim.Adam(core.parameters(), lr=lr, eps=eps)
    history: list[dict] = []
    best = math.inf
    start = 1
    if resume:
        if not last_path.is_file():
            raise InputError(f"resume=True but {last_path} does not exist; start the run without resume")
        ckpt = load_checkpoint(last_path, map_location=dev)
        if ckpt["model"] != spec:
            raise InputError(f"resume: {last_path} holds model {ckpt['model']}; this run builds {spec}")
        for key in ("optimizer", "rng", "epoch", "history"):
            if key not in ckpt:
                raise CheckpointError(f"{last_path} has no {key!r} entry; it is not a training checkpoint")
        core.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        _set_rng_state(ckpt["rng"])
        history = [dict(r) for r in ckpt["history"]]
        best = float(ckpt.get("best", math.inf))
        start = int(ckpt["epoch"]) + 1
    elif last_path.exists():
        raise InputError(f"{out} already holds a run ({last_path.name}); pass resume=True to continue it or choose another out")

    net = model
    if d.active and not isinstance(model, nn.parallel.DistributedDataParallel):
        net = nn.parallel.DistributedDataParallel(core, device_ids=[dev.index] if on_cuda else None)
    if d.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", run_config, sort_keys=True)

    # the data lives on the device once, as contiguous tensors
    x_all = train.images.to(dev).contiguous(memory_format=fmt)
    y_all = train.masks.to(dev)
    if valid is not None:
        valid = SliceData(valid.images.to(dev).contiguous(memory_format=fmt), valid.masks.to(dev), valid.dataids)

    show = progress and d.is_main
    epoch = start - 1
    try:
        for epoch in range(start, epochs + 1):
            t0 = time.perf_counter()
            net.train()
            order = _epoch_order(len(train), seed=seed, epoch=epoch, d=d).to(dev)
            draws = torch.Generator().manual_seed(seed * 100_003 + epoch * 101 + d.rank)
            n_steps = math.ceil(len(order) / batch_size)
            sums = torch.zeros(3, device=dev, dtype=torch.float64)  # loss, dice, slices
            bar = _progress(n_steps, f"epoch {epoch}/{epochs}", show)
            for step in range(n_steps):
                idx = order[step * batch_size : (step + 1) * batch_size]
                x, y = x_all.index_select(0, idx), y_all.index_select(0, idx)
                if augment is not None:
                    x, y = augment_batch(x, y, settings=augment, generator=draws)
                with amp_ctx():
                    per_slice, logits = batch_loss(core, net, x, y, progress=(epoch - 1 + step / n_steps) / epochs)
                loss = per_slice.mean()
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if clip_grad_norm is not None:
                    scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(core.parameters(), clip_grad_norm)
                scaler.step(opt)
                scaler.update()
                with torch.no_grad():
                    sums[0] += per_slice.detach().sum()
                    sums[1] += hard_dice(logits.detach(), y, reduction="none").sum()
                    sums[2] += idx.numel()
                if show:
                    bar.update(1)
                    if step % 10 == 9 or step == n_steps - 1:
                        bar.set_postfix(loss=f"{float(sums[0] / sums[2]):.4f}", dice=f"{float(sums[1] / sums[2]):.3f}")
            bar.close()
            sums = _all_sum(sums, d)
            row = {
                "epoch": epoch,
                "train_loss": float(sums[0] / sums[2]),
                "train_dice": float(sums[1] / sums[2]),
                "lr": opt.param_groups[0]["lr"],
            }
            if valid is not None:
                row.update(_validate(core, valid, batch_size=max(batch_size, 32), device=dev, amp_ctx=amp_ctx))
            row["seconds"] = round(time.perf_counter() - t0, 3)
            history.append(row)
            score = row.get("valid_loss", row["train_loss"])
            improved = score < best
            best = min(best, score)
            if d.is_main:
                state = dict(epoch=epoch, optimizer=opt.state_dict(), rng=_rng_state(), history=history, best=best)
                save_checkpoint(last_path, core, **state)
                if improved:
                    save_checkpoint(best_path, core, epoch=epoch, history=history, best=best)
                _write_history(out / "history.csv", history)
                if show:
                    msg = " ".join(f"{k}={v:.4f}" for k, v in row.items() if k not in ("epoch", "lr", "seconds"))
                    bar.write(f"epoch {epoch}/{epochs} {msg} ({row['seconds']:.1f} s)", file=sys.stderr)
            _barrier(d)
            if stop_after is not None and epoch >= stop_after:
                break
    except KeyboardInterrupt:
        if d.is_main:
            done = history[-1]["epoch"] if history else 0
            hint = resume_hint or f"lsn_explorer.train.fit(..., out={str(out)!r}, resume=True)"
            print(
                f"\nInterrupted during epoch {epoch}. {last_path} holds epoch {done} of {epochs}."
                f"\nResume with: {hint}",
                file=sys.stderr,
            )
        raise
    return out


# --------------------------------------------------------------------------- command


def load_fold(data: str = "phantom", *, fold: int = 0, preset: str = "quick", n_folds: int = 5):
    """``(train, valid, test)`` SliceStacks of fold ``fold``, preprocessed at the preset's image size."""
    from .data import load_volumes, stack_slices, volume_folds
    from .data.lits import NAMED_SOURCES
    from .data.volume import PreprocessSettings
    from .presets import get_preset

    p = get_preset(preset)
    if data not in NAMED_SOURCES and not Path(data).exists():
        raise MissingDataError(f"data={data!r} is neither one of {list(NAMED_SOURCES)} nor an existing folder")
    volumes = load_volumes(data, settings=PreprocessSettings(size=p.image_size))
    ids = [v.dataid for v in volumes]
    folds = volume_folds(ids, n_folds=n_folds)
    if not 0 <= fold < len(folds):
        raise InputError(f"fold={fold!r} must be in 0..{len(folds) - 1}")
    f = folds[fold]
    stack = stack_slices(volumes)
    return stack.subset(f.train), stack.subset(f.valid), stack.subset(f.test), f


def train_command(
    model: str,
    *,
    data: str = "phantom",
    fold: int = 0,
    preset: str = "quick",
    out: str | Path,
    resume: bool = False,
    seed: int = 0,
    epochs: int | None = None,
    device: str = "auto",
    augment: bool = False,
) -> Path:
    """``lsn-explorer train MODEL``: train a registered network on one fold; return the run folder.

    Parameters
    ----------
    model : str
        A registered model name (:func:`lsn_explorer.models.model_names`); its
        epochs, learning rate and configuration come from its recipe for the preset.
    data : str, optional
        ``"phantom"`` or a LiTS-layout folder. Default "phantom".
    fold : int, optional
        Fold of the 5-fold split by volume. Default 0.
    preset : {"quick", "paper"}, optional
        Image size and batch size, and which recipe of the model applies. Default "quick".
    out : str or Path
        Run folder.
    resume : bool, optional
        Continue ``out/last.pt``. Default False.
    seed : int, optional
        Default 0.
    epochs : int, optional
        Override the preset's number of epochs.
    device : str, optional
        Default "auto".
    augment : bool, optional
        Augment the training slices (:class:`~lsn_explorer.augment.Augmentation`). Default False.

    Returns
    -------
    Path
        The run folder (``config.json``, ``history.csv``, ``best.pt``, ``last.pt``).
    """
    from .presets import get_preset

    p = get_preset(preset)
    recipe = recipe_for(model, p)
    n_epochs = recipe.epochs if epochs is None else epochs
    train, valid, test, f = load_fold(data, fold=fold, preset=p.name)
    _seed_everything(seed)
    net = build_model(model, recipe.config)
    hint = f"lsn-explorer train {model} --data {data} --fold {fold} --preset {p.name} --out {out} --seed {seed} --resume"
    if epochs is not None:
        hint += f" --epochs {epochs}"
    if augment:
        hint += " --augment"
    config = {
        "command": {"model": model, "data": data, "fold": fold, "preset": p.name, "seed": seed, "epochs": epochs,
                    "device": device, "augment": augment},
        "preset": p.to_dict(),
        "fold": {"train": list(f.train), "valid": list(f.valid), "test": list(f.test)},
    }
    return fit(
        net, train, valid, out=out, epochs=n_epochs, batch_size=p.batch_size, lr=recipe.lr,
        clip_grad_norm=recipe.clip_grad_norm, seed=seed, device=device, resume=resume, config=config,
        resume_hint=hint, augment=Augmentation() if augment else None,
    )
