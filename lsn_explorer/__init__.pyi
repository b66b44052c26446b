# The public names of lsn_explorer, each imported from the subpackage or module that exports it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

__version__: str

from .segmentation import (
    segment as segment,
    read_ct as read_ct,
)
from .inference import predict as predict
from .data import (
    load_volumes as load_volumes,
    volume_folds as volume_folds,
    stack_slices as stack_slices,
)
from .levelset import (
    edge_function as edge_function,
    bubbles as bubbles,
    evolve as evolve,
)
from .models import (
    UNet as UNet,
    LevelSetNetwork as LevelSetNetwork,
    bundled_model as bundled_model,
)
from .train import fit as fit
from .kernels import (
    collect_kernels as collect_kernels,
    analyze_kernels as analyze_kernels,
)
from .experiments import run_table2 as run_table2
