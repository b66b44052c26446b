# The public names of lsn_explorer.segmentation, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .core import (
    segment as segment,
    segment_scan as segment_scan,
)
from .scan import (
    Scan as Scan,
    read_scan as read_scan,
    read_ct as read_ct,
    check_hu as check_hu,
)
from .output import (
    write_mask as write_mask,
    mask_image as mask_image,
)
from .settings import (
    LevelSetParams as LevelSetParams,
    TUNED_LEVELSET as TUNED_LEVELSET,
)
from .levelset import levelset_volume as levelset_volume
from .networks import (
    network_volume as network_volume,
    resolve_model as resolve_model,
)
from .orientation import (
    to_display as to_display,
    from_display as from_display,
    display_index as display_index,
)
