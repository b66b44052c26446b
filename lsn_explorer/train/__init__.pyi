# The public names of lsn_explorer.train, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .loop import (
    fit as fit,
    batch_loss as batch_loss,
    HISTORY_FIELDS as HISTORY_FIELDS,
)
from .options import (
    FitOptions as FitOptions,
    FitHooks as FitHooks,
)
from .command import (
    train_command as train_command,
    load_fold as load_fold,
)
from ..devices import resolve_device as resolve_device
from ..inference import (
    evaluate as evaluate,
    predict as predict,
)
from ..data.slices import SliceData as SliceData
