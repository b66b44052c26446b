# The public names of lsn_explorer.experiments, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .levelset_column import (
    LevelSetParams as LevelSetParams,
    segment_slices as segment_slices,
    tune_levelset as tune_levelset,
)
from ..levelset.initial import bubble_centers as bubble_centers
from .paper import (
    PAPER_TABLE2 as PAPER_TABLE2,
    TABLE2_COLUMNS as TABLE2_COLUMNS,
)
from .methods import (
    COLUMN_TITLES as COLUMN_TITLES,
    DEFAULT_METHODS as DEFAULT_METHODS,
    METHODS as METHODS,
    Method as Method,
    parameter_counts as parameter_counts,
)
from .table2 import (
    Table2Result as Table2Result,
    run_table2 as run_table2,
)
from .tables import format_table as format_table
from .over_seeds import (
    run_table2_seeds as run_table2_seeds,
    table2_command as table2_command,
)
from .capacity import (
    CAPACITY_SIZES as CAPACITY_SIZES,
    run_capacity as run_capacity,
    capacity_command as capacity_command,
    read_capacity as read_capacity,
    format_capacity as format_capacity,
)
