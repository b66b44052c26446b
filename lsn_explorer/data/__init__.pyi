# The public names of lsn_explorer.data, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .lits import (
    Case as Case,
    find_cases as find_cases,
)
from .volume import (
    PreprocessSettings as PreprocessSettings,
    Volume as Volume,
)
from .loading import (
    check_settings as check_settings,
    load_volume as load_volume,
    load_volumes as load_volumes,
)
from .folds import (
    Fold as Fold,
    volume_folds as volume_folds,
    LeakySliceSplit as LeakySliceSplit,
    leaky_slice_split as leaky_slice_split,
    fold_table as fold_table,
    print_fold_table as print_fold_table,
)
from .slices import (
    SliceStack as SliceStack,
    stack_slices as stack_slices,
)
from .phantom import (
    default_phantom_dir as default_phantom_dir,
    write_phantom_dataset as write_phantom_dataset,
)
