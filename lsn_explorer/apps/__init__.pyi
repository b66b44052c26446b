# The public names of lsn_explorer.apps, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .kernel_explorer import KernelExplorer as KernelExplorer
from .levelset_playground import LevelSetPlayground as LevelSetPlayground
from .slice_browser import SliceBrowser as SliceBrowser
