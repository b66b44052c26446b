"""The training loop: :func:`fit` trains any registered model and writes its run folder (see :mod:`lsn_explorer.train`)."""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._files import atomic_path, write_json
from ..augment import augment as augment_batch
from ..data.slices import SliceData, as_slice_data
from ..devices import resolve_device
from ..errors import CheckpointError, InputError
from ..losses import dice_l2_loss
from ..metrics import hard_dice, volume_dice
from ..models.loading import load_checkpoint, save_checkpoint
from ..models.registry import model_spec
from .distributed import Dist, all_sum, barrier, dist_from_env, epoch_order
from .rng_state import rng_state, seed_everything, set_rng_state

__all__ = ["fit", "batch_loss", "HISTORY_FIELDS"]

HISTORY_FIELDS = (
    "epoch", "train_loss", "train_dice", "valid_loss", "valid_dice", "valid_volume_dice", "lr", "seconds",
)


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
    from ..data.volume import PreprocessSettings

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
    _check_fit_arguments(epochs, batch_size, lr)
    train, valid = as_slice_data(train, "train"), as_slice_data(valid, "valid")
    if augment is not None and train.images.shape[1] != 1:
        raise InputError(f"augment needs one-channel images; train has {train.images.shape[1]} channels")
    out = Path(out)
    d, dev = dist_from_env(resolve_device(device))
    core = getattr(model, "module", model)
    precision = _Precision.choose(core, dev, amp=amp, channels_last=channels_last)
    spec = model_spec(core)
    core.preprocessing = _preprocessing_of(train, preprocessing)
    run_config = {
        "model": spec,
        "optimizer": {"name": "Adam", "lr": lr, "eps": eps, "clip_grad_norm": clip_grad_norm},
        "loss": (f"{type(core).__name__}.training_loss" if hasattr(core, "training_loss")
                 else "dice_l2 (per slice, sigmoid of logits)"),
        "epochs": int(epochs), "batch_size": int(batch_size), "seed": int(seed),
        "device": str(dev), "amp": precision.amp, "channels_last": precision.channels_last, "world_size": d.world_size,
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
    seed_everything(seed)
    core.to(dev, memory_format=precision.memory_format)
    opt = torch.optim.Adam(core.parameters(), lr=lr, eps=eps)
    if resume:
        done = _resume(out, core, opt, spec, dev)
    elif (out / "last.pt").exists():
        raise InputError(f"{out} already holds a run (last.pt); pass resume=True to continue it or choose another out")
    else:
        done = _Progress()
    net = model
    if d.active and not isinstance(model, nn.parallel.DistributedDataParallel):
        net = nn.parallel.DistributedDataParallel(core, device_ids=[dev.index] if dev.type == "cuda" else None)
    if d.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", run_config, sort_keys=True)
    # the data lives on the device once, as contiguous tensors
    train = SliceData(train.images.to(dev).contiguous(memory_format=precision.memory_format), train.masks.to(dev))
    if valid is not None:
        valid = SliceData(valid.images.to(dev).contiguous(memory_format=precision.memory_format), valid.masks.to(dev),
                          valid.dataids)
    epoch = _Epoch(core, net, opt, precision, d, train, batch_size=batch_size, epochs=epochs, seed=seed,
                   augment=augment, clip_grad_norm=clip_grad_norm, show=progress and d.is_main)
    number = done.epoch
    try:
        for number in range(done.epoch + 1, epochs + 1):
            t0 = time.perf_counter()
            row = epoch.train(number)
            if valid is not None:
                row.update(_validate(core, valid, batch_size=max(batch_size, 32), device=dev, amp_ctx=precision.autocast))
            row["seconds"] = round(time.perf_counter() - t0, 3)
            done.add(row)
            if d.is_main:
                _save_epoch(out, core, opt, done)
                epoch.report(row)
            barrier(d)
            if stop_after is not None and number >= stop_after:
                break
    except KeyboardInterrupt:
        if d.is_main:
            last = done.history[-1]["epoch"] if done.history else 0
            hint = resume_hint or f"lsn_explorer.train.fit(..., out={str(out)!r}, resume=True)"
            print(f"\nInterrupted during epoch {number}. {out / 'last.pt'} holds epoch {last} of {epochs}."
                  f"\nResume with: {hint}", file=sys.stderr)
        raise
    return out


def _check_fit_arguments(epochs, batch_size, lr) -> None:
    if int(epochs) != epochs or epochs < 1:
        raise InputError(f"epochs={epochs!r} must be an integer >= 1")
    if int(batch_size) != batch_size or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r} must be an integer >= 1")
    if not lr > 0:
        raise InputError(f"lr={lr!r} must be > 0")


@dataclass(frozen=True)
class _Precision:
    """Mixed precision and memory format of a run, and the loss scaler they need."""

    amp: bool
    channels_last: bool
    dtype: torch.dtype
    device_type: str

    @classmethod
    def choose(cls, core: nn.Module, dev: torch.device, *, amp: bool | None, channels_last: bool | None) -> "_Precision":
        """``amp`` and ``channels_last`` as asked, or on CUDA for models whose ``amp_ok`` allows it."""
        on_cuda = dev.type == "cuda"
        allowed = getattr(core, "amp_ok", True)
        return cls(
            amp=(on_cuda and allowed) if amp is None else bool(amp and on_cuda),
            channels_last=(on_cuda and allowed) if channels_last is None else bool(channels_last),
            dtype=torch.bfloat16 if (on_cuda and torch.cuda.is_bf16_supported()) else torch.float16,
            device_type=dev.type,
        )

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self):
        """The context a forward pass runs in."""
        return torch.autocast(device_type=self.device_type, dtype=self.dtype) if self.amp else nullcontext()

    def scaler(self) -> torch.amp.GradScaler:
        """float16 (GPUs without bfloat16) needs loss scaling; otherwise a pass-through."""
        return torch.amp.GradScaler("cuda", enabled=self.amp and self.dtype == torch.float16)


@dataclass
class _Progress:
    """The epochs done: the last one, every history row and the best score so far."""

    epoch: int = 0
    history: list = field(default_factory=list)
    best: float = math.inf
    improved: bool = False

    def add(self, row: dict) -> None:
        """Record a finished epoch; its score is the validation loss, else the training loss."""
        score = row.get("valid_loss", row["train_loss"])
        self.improved, self.best, self.epoch = score < self.best, min(self.best, score), row["epoch"]
        self.history.append(row)


def _resume(out: Path, core: nn.Module, opt, spec: dict, dev: torch.device) -> _Progress:
    """Load ``out/last.pt`` into the model, optimiser and generators; the epochs it holds."""
    last_path = out / "last.pt"
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
    set_rng_state(ckpt["rng"])
    return _Progress(int(ckpt["epoch"]), [dict(r) for r in ckpt["history"]], float(ckpt.get("best", math.inf)))


def _save_epoch(out: Path, core: nn.Module, opt, done: _Progress) -> None:
    """``last.pt`` (with what resuming needs), ``best.pt`` when the score improved, ``history.csv``."""
    save_checkpoint(out / "last.pt", core, epoch=done.epoch, optimizer=opt.state_dict(), rng=rng_state(),
                    history=done.history, best=done.best)
    if done.improved:
        save_checkpoint(out / "best.pt", core, epoch=done.epoch, history=done.history, best=done.best)
    _write_history(out / "history.csv", done.history)


class _Epoch:
    """One training epoch of a run: this rank's shuffled batches, augmentation, the optimiser step."""

    def __init__(self, core, net, opt, precision: _Precision, d: Dist, train: SliceData, *, batch_size: int, epochs: int,
                 seed: int, augment, clip_grad_norm: float | None, show: bool):
        self.core, self.net, self.opt, self.precision, self.d, self.data = core, net, opt, precision, d, train
        self.batch_size, self.epochs, self.seed, self.augment, self.clip = batch_size, epochs, seed, augment, clip_grad_norm
        self.show = show
        self.scaler = precision.scaler()

    def train(self, number: int) -> dict:
        """Run epoch ``number``; its row of the history (without validation and time)."""
        self.net.train()
        dev = self.data.images.device
        order = epoch_order(len(self.data), seed=self.seed, epoch=number, d=self.d).to(dev)
        draws = torch.Generator().manual_seed(self.seed * 100_003 + number * 101 + self.d.rank)
        n_steps = math.ceil(len(order) / self.batch_size)
        sums = torch.zeros(3, device=dev, dtype=torch.float64)  # loss, dice, slices
        bar = _progress(n_steps, f"epoch {number}/{self.epochs}", self.show)
        for step in range(n_steps):
            idx = order[step * self.batch_size : (step + 1) * self.batch_size]
            x, y = self.data.images.index_select(0, idx), self.data.masks.index_select(0, idx)
            if self.augment is not None:
                x, y = augment_batch(x, y, settings=self.augment, generator=draws)
            per_slice, logits = self._step(x, y, progress=(number - 1 + step / n_steps) / self.epochs)
            with torch.no_grad():
                sums[0] += per_slice.detach().sum()
                sums[1] += hard_dice(logits.detach(), y, reduction="none").sum()
                sums[2] += idx.numel()
            if self.show:
                bar.update(1)
                if step % 10 == 9 or step == n_steps - 1:
                    bar.set_postfix(loss=f"{float(sums[0] / sums[2]):.4f}", dice=f"{float(sums[1] / sums[2]):.3f}")
        bar.close()
        sums = all_sum(sums, self.d)
        return {"epoch": number, "train_loss": float(sums[0] / sums[2]), "train_dice": float(sums[1] / sums[2]),
                "lr": self.opt.param_groups[0]["lr"]}

    def report(self, row: dict) -> None:
        """One line per finished epoch under the progress bar (when shown)."""
        if self.show:
            from tqdm.auto import tqdm

            msg = " ".join(f"{k}={v:.4f}" for k, v in row.items() if k not in ("epoch", "lr", "seconds"))
            tqdm.write(f"epoch {row['epoch']}/{self.epochs} {msg} ({row['seconds']:.1f} s)", file=sys.stderr)

    def _step(self, x, y, *, progress: float):
        """One optimiser step on a batch; ``(per-slice loss, logits)``."""
        with self.precision.autocast():
            per_slice, logits = batch_loss(self.core, self.net, x, y, progress=progress)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(per_slice.mean()).backward()
        if self.clip is not None:
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.core.parameters(), self.clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        return per_slice, logits
