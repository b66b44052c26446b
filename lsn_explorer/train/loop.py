"""The training loop: :func:`fit` trains any registered model and writes its run folder (see :mod:`lsn_explorer.train`).

What a run is told comes in two objects of :mod:`.options`: the recipe
(:class:`~lsn_explorer.train.options.FitOptions`) and the hooks around the loop
(:class:`~lsn_explorer.train.options.FitHooks`).
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
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
from .options import FitHooks, FitOptions, fit_options
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


def _preprocessing_of(core: nn.Module, train: SliceData, given):
    """The run's preprocessing: as given, else the one the model carries, else the slices' size and default window."""
    from ..data.volume import PreprocessSettings

    shape = tuple(train.images.shape[-2:])
    if given is not None:
        if given.size != shape[-1]:
            raise InputError(f"preprocessing.size={given.size} but the training slices are {shape}")
        return given
    carried = getattr(core, "preprocessing", None)
    if carried is None:
        return PreprocessSettings(size=shape[-1])
    if carried.size != shape[-1]:
        raise InputError(f"model.preprocessing.size={carried.size} (what the model was trained on) but the training "
                         f"slices are {shape}; pass preprocessing=PreprocessSettings(...) to train it at their size")
    return carried


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True, file=sys.stderr)


def fit(
    model: nn.Module,
    train,
    valid=None,
    *,
    out: str | os.PathLike,
    options: FitOptions | None = None,
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
    hooks: FitHooks | None = None,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: bool = True,
    preprocessing=None,
    config: dict | None = None,
    **recipe,
) -> Path:
    """Train ``model`` in place on the Dice-L2 loss (Adam by default); write a run folder.

    The recipe is a :class:`~lsn_explorer.train.options.FitOptions`, given whole as
    ``options``, as keywords (``epochs=3, lr=1e-2``), or both (the keywords replace
    its fields)::

        fit(UNet(), train, valid, out="runs/unet", epochs=3, lr=1e-2, seed=0)
        fit(UNet(), train, valid, out="runs/unet", options=FitOptions(epochs=3, lr=1e-2))

    Parameters
    ----------
    model : nn.Module
        A registered model (see :mod:`lsn_explorer.models.registry`): it
        returns logits, and its ``training_loss`` (if any) replaces the Dice-L2 loss.
        It is trained in place, on ``device`` (see Notes for what else changes).
    train, valid : SliceData, SliceStack or (images, masks[, dataids])
        Training and validation slices, ``(N, 1, H, W)``; ``valid`` may be None.
    out : str or Path
        Run folder (created).
    options : FitOptions, optional
        The recipe: epochs, batch_size, lr, eps, clip_grad_norm, seed, amp,
        channels_last, augment. Default None (made from the keywords).
    optimizer : callable, optional
        ``optimizer(parameters) -> torch.optim.Optimizer``, e.g.
        ``functools.partial(torch.optim.SGD, lr=0.1, momentum=0.9)``; it then
        sets its own learning rate, and the recipe's ``lr`` and ``eps`` are unused.
        Default None: ``torch.optim.Adam(parameters, lr=options.lr, eps=options.eps)``.
    hooks : FitHooks, optional
        A function called after every epoch, a stop after some epoch, the command
        printed after Ctrl-C. Default None (none of them).
    device : str or torch.device, optional
        ``"auto"`` (cuda, then mps, then cpu) or a device. Default "auto".
    resume : bool, optional
        Continue from ``out/last.pt``. Default False (an existing run folder
        with a ``last.pt`` is then refused).
    progress : bool, optional
        Show a tqdm progress bar (a widget in notebooks, text in a terminal). Default True.
    preprocessing : PreprocessSettings, optional
        How the training slices were made (in-plane size, HU window). Default: the
        one ``model`` already carries (a loaded model being trained further), else
        the data's own size with the default HU window.
    config : dict, optional
        Extra entries for ``config.json`` (data, fold, preset...).
    **recipe
        Fields of :class:`~lsn_explorer.train.options.FitOptions`, replacing
        those of ``options``; ``epochs`` is needed when ``options`` is None.

    Returns
    -------
    Path
        The run folder.

    Raises
    ------
    InputError
        Bad arguments (named) or data shapes; ``preprocessing.size``, or the
        preprocessing ``model`` carries, at another size than the slices'; ``resume``
        with a different model or without a ``last.pt``; an existing run without
        ``resume``.
    CheckpointError
        ``resume`` from a ``last.pt`` that cannot be read.
    KeyboardInterrupt
        Re-raised after Ctrl-C, once the message on how to resume is printed;
        ``last.pt`` holds the last finished epoch.

    Notes
    -----
    Like an estimator's ``fit``, this changes ``model``: it moves to ``device`` (and
    memory format), is trained, and ``model.preprocessing`` is set to the run's
    preprocessing, the one its checkpoints store. A model carries its preprocessing
    so that :func:`~lsn_explorer.inference.predict` resamples inputs of any size to
    the size it was trained at: the model in memory and one loaded from ``best.pt``
    answer the same. When an argument, the data or a resume is refused, the model's
    weights and preprocessing are left as they were (a refused resume may have
    moved it to ``device`` and seeded the random generators). After the run the
    model is in train mode, or in eval mode when ``valid`` was given.
    """
    options = fit_options(options, **recipe)
    hooks = FitHooks() if hooks is None else hooks
    if not isinstance(hooks, FitHooks):
        raise InputError(f"hooks={hooks!r} must be a FitHooks or None")
    if optimizer is not None and not callable(optimizer):
        raise InputError(f"optimizer={optimizer!r} must be a callable: parameters -> torch.optim.Optimizer")
    train, valid = as_slice_data(train, "train"), as_slice_data(valid, "valid")
    if options.augment is not None and train.images.shape[1] != 1:
        raise InputError(f"augment needs one-channel images; train has {train.images.shape[1]} channels")
    out = Path(out)
    if not resume and (out / "last.pt").exists():
        raise InputError(f"{out} already holds a run (last.pt); pass resume=True to continue it or choose another out")
    d, dev = dist_from_env(resolve_device(device))
    core = getattr(model, "module", model)
    precision = _Precision.choose(core, dev, amp=options.amp, channels_last=options.channels_last)
    spec = model_spec(core)
    settings = _preprocessing_of(core, train, preprocessing)
    seed_everything(options.seed)
    core.to(dev, memory_format=precision.memory_format)
    opt = _optimizer(optimizer, core, options)
    done = _resume(out, core, opt, spec, dev) if resume else _Progress()
    core.preprocessing = settings
    net = model
    if d.active and not isinstance(model, nn.parallel.DistributedDataParallel):
        net = nn.parallel.DistributedDataParallel(core, device_ids=[dev.index] if dev.type == "cuda" else None)
    if d.is_main:
        out.mkdir(parents=True, exist_ok=True)
        run_config = _run_config(core, opt, options, default_optimizer=optimizer is None, precision=precision, d=d,
                                 dev=dev, train=train, valid=valid, extra=config)
        write_json(out / "config.json", run_config, sort_keys=True)
    epoch = _Epoch(core, net, opt, precision, d, _on_device(train, dev, precision), options=options,
                   show=progress and d.is_main)
    _train_epochs(out, epoch, _on_device(valid, dev, precision), done, hooks)
    return out


def _optimizer(factory, core: nn.Module, options: FitOptions) -> torch.optim.Optimizer:
    """``factory(parameters)``, or Adam with the recipe's ``lr`` and ``eps``."""
    if factory is None:
        return torch.optim.Adam(core.parameters(), lr=options.lr, eps=options.eps)
    opt = factory(core.parameters())
    if not isinstance(opt, torch.optim.Optimizer):
        raise InputError(f"optimizer(parameters) returned {type(opt).__name__}; expected a torch.optim.Optimizer")
    return opt


def _optimizer_entry(opt: torch.optim.Optimizer, options: FitOptions, default: bool) -> dict:
    """The ``optimizer`` entry of ``config.json``: its name, settings and the gradient clipping."""
    if default:
        return {"name": "Adam", "lr": options.lr, "eps": options.eps, "clip_grad_norm": options.clip_grad_norm}
    plain = (bool, int, float, str, type(None))
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in opt.defaults.items()
                if isinstance(v, plain) or (isinstance(v, tuple) and all(isinstance(x, plain) for x in v))}
    return {**settings, "name": type(opt).__name__, "clip_grad_norm": options.clip_grad_norm}


def _run_config(core: nn.Module, opt: torch.optim.Optimizer, options: FitOptions, *, default_optimizer: bool,
                precision: _Precision, d: Dist, dev: torch.device, train: SliceData, valid: SliceData | None,
                extra: dict | None) -> dict:
    """What ``config.json`` records: model, optimiser, recipe, device, data, preprocessing, versions."""
    return {
        "model": model_spec(core),
        "optimizer": _optimizer_entry(opt, options, default_optimizer),
        "loss": (f"{type(core).__name__}.training_loss" if hasattr(core, "training_loss")
                 else "dice_l2 (per slice, sigmoid of logits)"),
        "epochs": int(options.epochs), "batch_size": int(options.batch_size), "seed": int(options.seed),
        "device": str(dev), "amp": precision.amp, "channels_last": precision.channels_last, "world_size": d.world_size,
        "train_slices": len(train), "valid_slices": len(valid) if valid is not None else 0,
        "image_size": list(train.images.shape[-2:]),
        "preprocessing": core.preprocessing.to_dict(),
        "augmentation": options.augment.to_dict() if options.augment is not None else None,
        "torch": torch.__version__,
        # what the float summation order of CPU kernels depends on: the same seed gives the same
        # weights only with the same thread count and instruction set
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        **(extra or {}),
    }


def _on_device(data: SliceData | None, dev: torch.device, precision: _Precision) -> SliceData | None:
    """The slices on the device once, as contiguous tensors in the run's memory format."""
    if data is None:
        return None
    images = data.images.to(dev).contiguous(memory_format=precision.memory_format)
    return SliceData(images, data.masks.to(dev), data.dataids)


def _train_epochs(out: Path, epoch: _Epoch, valid: SliceData | None, done: _Progress, hooks: FitHooks) -> None:
    """Epochs ``done.epoch + 1`` to the last: train, validate, save, report; on Ctrl-C say how to resume."""
    total, d = epoch.options.epochs, epoch.d
    number = done.epoch
    try:
        for number in range(done.epoch + 1, total + 1):
            t0 = time.perf_counter()
            row = epoch.train(number)
            if valid is not None:
                row.update(_validate(epoch.core, valid, batch_size=max(epoch.options.batch_size, 32),
                                     device=valid.images.device, amp_ctx=epoch.precision.autocast))
            row["seconds"] = round(time.perf_counter() - t0, 3)
            done.add(row)
            if d.is_main:
                _save_epoch(out, epoch.core, epoch.opt, done)
                epoch.report(row)
                if hooks.on_epoch_end is not None:
                    hooks.on_epoch_end(dict(row))
            barrier(d)
            if hooks.stop_after is not None and number >= hooks.stop_after:
                break
    except KeyboardInterrupt:
        if d.is_main:
            last = done.history[-1]["epoch"] if done.history else 0
            hint = hooks.resume_hint or f"lsn_explorer.train.fit(..., out={str(out)!r}, resume=True)"
            print(f"\nInterrupted during epoch {number}. {out / 'last.pt'} holds epoch {last} of {total}."
                  f"\nResume with: {hint}", file=sys.stderr)
        raise


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
    opt.load_state_dict(ckpt["optimizer"])
    core.load_state_dict(ckpt["state_dict"])
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

    def __init__(self, core, net, opt, precision: _Precision, d: Dist, train: SliceData, *, options: FitOptions,
                 show: bool):
        self.core, self.net, self.opt, self.precision, self.d, self.data = core, net, opt, precision, d, train
        self.options = options
        self.show = show
        self.scaler = precision.scaler()

    def train(self, number: int) -> dict:
        """Run epoch ``number``; its row of the history (without validation and time)."""
        o = self.options
        self.net.train()
        dev = self.data.images.device
        order = epoch_order(len(self.data), seed=o.seed, epoch=number, d=self.d).to(dev)
        draws = torch.Generator().manual_seed(o.seed * 100_003 + number * 101 + self.d.rank)
        n_steps = math.ceil(len(order) / o.batch_size)
        sums = torch.zeros(3, device=dev, dtype=torch.float64)  # loss, dice, slices
        bar = _progress(n_steps, f"epoch {number}/{o.epochs}", self.show)
        for step in range(n_steps):
            idx = order[step * o.batch_size : (step + 1) * o.batch_size]
            x, y = self.data.images.index_select(0, idx), self.data.masks.index_select(0, idx)
            if o.augment is not None:
                x, y = augment_batch(x, y, settings=o.augment, generator=draws)
            per_slice, logits = self._step(x, y, progress=(number - 1 + step / n_steps) / o.epochs)
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
            tqdm.write(f"epoch {row['epoch']}/{self.options.epochs} {msg} ({row['seconds']:.1f} s)", file=sys.stderr)

    def _step(self, x, y, *, progress: float):
        """One optimiser step on a batch; ``(per-slice loss, logits)``."""
        with self.precision.autocast():
            per_slice, logits = batch_loss(self.core, self.net, x, y, progress=progress)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(per_slice.mean()).backward()
        if self.options.clip_grad_norm is not None:
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.core.parameters(), self.options.clip_grad_norm)
        self.scaler.step(self.opt)
        self.scaler.update()
        return per_slice, logits
