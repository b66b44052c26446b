# The public names of lsn_explorer.models, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .unet import UNet as UNet
from .lsn import LevelSetNetwork as LevelSetNetwork
from .lsn_g import LearnedEdgeLSN as LearnedEdgeLSN
from .speed_map_lsn import SpeedMapLSN as SpeedMapLSN
from .registry import (
    Recipe as Recipe,
    register_model as register_model,
    model_names as model_names,
    model_class as model_class,
    build_model as build_model,
    model_spec as model_spec,
    recipe_for as recipe_for,
)
from .loading import (
    load_model as load_model,
    load_checkpoint as load_checkpoint,
    save_checkpoint as save_checkpoint,
    export_checkpoint as export_checkpoint,
)
from .bundled import (
    bundled_model as bundled_model,
    bundled_names as bundled_names,
    bundled_path as bundled_path,
)
