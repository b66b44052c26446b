# The public names of lsn_explorer.kernels, each imported from the module that defines it.
# Type checkers and IDEs read them here; at run time lsn_explorer._lazy loads each on first use.

from .collect import (
    KernelSet as KernelSet,
    LayerInfo as LayerInfo,
    collect_kernels as collect_kernels,
    kernels_from_model as kernels_from_model,
    kernels_from_arrays as kernels_from_arrays,
    read_keras_h5 as read_keras_h5,
)
from .canonical import (
    canonicalize as canonicalize,
    dihedral_orbit as dihedral_orbit,
)
from .cluster import (
    KernelAtlas as KernelAtlas,
    LayerClusters as LayerClusters,
    cluster_kernels as cluster_kernels,
    cluster_layers as cluster_layers,
    k_scan as k_scan,
)
from .project import (
    PCA2 as PCA2,
    layer_pca as layer_pca,
    umap_embedding as umap_embedding,
    umap_cache_name as umap_cache_name,
    umap_cache_path as umap_cache_path,
)
from .atlas_umap import (
    cached_umap as cached_umap,
    precompute_umap as precompute_umap,
)
from .moments import (
    moment_matrix as moment_matrix,
    kernel_from_moments as kernel_from_moments,
)
from .identify import (
    Operator as Operator,
    OPERATORS as OPERATORS,
    STENCIL_CATALOGUE as STENCIL_CATALOGUE,
    Identification as Identification,
    identify_kernels as identify_kernels,
    nearest_stencil as nearest_stencil,
)
from .spectrum import (
    sorted_spectra as sorted_spectra,
    spectrum_labels as spectrum_labels,
)
from .atlas import (
    Atlas as Atlas,
    analyze_kernels as analyze_kernels,
)
from .tables import (
    layer_summary as layer_summary,
    layer_fractions as layer_fractions,
)
from .figures import kernel_hover as kernel_hover
from .report import kernels_command as kernels_command
