"""``lsn-explorer train``: one fold of a data set, a registered network built from its recipe, :func:`fit`."""

from __future__ import annotations

from pathlib import Path

from ..augment import Augmentation
from ..errors import InputError, MissingDataError
from ..models.registry import build_model, recipe_for
from .loop import fit
from .options import FitHooks, FitOptions
from .rng_state import seed_everything

__all__ = ["load_fold", "train_command"]


def load_fold(data: str = "phantom", *, fold: int = 0, preset: str = "quick", n_folds: int = 5):
    """``(train, valid, test, split)`` of fold ``fold``: three SliceStacks at the preset's image size and the Fold.

    Raises
    ------
    MissingDataError
        ``data`` is neither a named source nor an existing folder.
    InputError
        ``fold`` outside 0..n_folds-1.
    """
    from ..data import load_volumes, stack_slices, volume_folds
    from ..data.lits import NAMED_SOURCES
    from ..data.volume import PreprocessSettings
    from ..presets import get_preset

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
    from ..presets import get_preset

    p = get_preset(preset)
    recipe = recipe_for(model, p)
    train, valid, test, f = load_fold(data, fold=fold, preset=p.name)
    seed_everything(seed)
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
    options = FitOptions.from_recipe(recipe, epochs=epochs, batch_size=p.batch_size, seed=seed,
                                     augment=Augmentation() if augment else None)
    return fit(net, train, valid, out=out, options=options, hooks=FitHooks(resume_hint=hint), device=device,
               resume=resume, config=config)
