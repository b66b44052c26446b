"""Edge functions ``g(I)``: close to 1 in flat regions, close to 0 on edges.

Symbols
-------
``I``          image ``(N, 1, H, W)``
``G_σ``        Gaussian of standard deviation σ pixels (truncated at 4σ,
               replicate borders, as ``scipy.ndimage`` with ``mode="nearest"``)
``κ, λ``       ITK-SNAP's remapping steepness and exponent

Every normalisation by a maximum is **per image**: the maximum is taken over
the two spatial axes only, never across the batch, so a batch gives the same
``g`` as one call per image. (The authors' Keras code divided by the maximum of
the whole batch, coupling the images.)
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from ..errors import InputError
from .operators import apply_stencils
from .stencils import SOBEL_X, SOBEL_Y, XC, YC, as_weight

__all__ = [
    "edge_function",
    "gradient_magnitude",
    "relative_edge_strength",
    "SOBEL4_KAPPA",
    "itksnap_remap",
    "gaussian_blur",
    "gaussian_gradient",
    "METHODS",
]

#: Edge-function methods of :func:`edge_function`.
METHODS = ("itksnap", "sobel4", "inverse_gaussian")

#: The authors' ``g = 1/(1 + 20 s)`` is ITK-SNAP's remap with λ = 4 and κ = 20^(-1/4).
SOBEL4_KAPPA = 20.0**-0.25


def _gaussian_1d(sigma: float, order: int, like: torch.Tensor) -> torch.Tensor:
    # scipy.ndimage._gaussian_kernel1d with truncate=4.0, reversed for correlation
    radius = int(4.0 * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    phi = torch.exp(-0.5 * x**2 / sigma**2)
    phi = phi / phi.sum()
    k = phi if order == 0 else -x / sigma**2 * phi
    return k.flip(0).to(dtype=like.dtype, device=like.device)


def _separable(image: torch.Tensor, kx: torch.Tensor, ky: torch.Tensor) -> torch.Tensor:
    r = (kx.numel() - 1) // 2
    out = F.conv2d(F.pad(image, (r, r, 0, 0), mode="replicate"), kx.view(1, 1, 1, -1))
    return F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), ky.view(1, 1, -1, 1))


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """``G_σ * I`` for (N, 1, H, W) ``image`` (sampled Gaussian, truncated at 4σ, replicate borders)."""
    if sigma <= 0:
        return image
    k = _gaussian_1d(sigma, 0, image)
    return _separable(image, k, k)


def gaussian_gradient(image: torch.Tensor, sigma: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(∂/∂x, ∂/∂y)(G_σ * I)`` by derivative-of-Gaussian filters, each (N, 1, H, W).

    As ``scipy.ndimage.gaussian_filter(..., order=..., mode="nearest")``; ITK's
    GAC filter builds its advection field this way with σ = 1 (its
    ``DerivativeSigma``, recursive rather than sampled Gaussian).
    """
    d1, d0 = _gaussian_1d(sigma, 1, image), _gaussian_1d(sigma, 0, image)
    return _separable(image, d1, d0), _separable(image, d0, d1)


def gradient_magnitude(image: torch.Tensor, kernels: torch.Tensor, *, eps: float = 0.0) -> torch.Tensor:
    """``sqrt(Σ_k (K_k ⋆ I)² + eps)``: the norm of K filter responses.

    Parameters
    ----------
    image : (N, 1, H, W) Tensor
    kernels : (K, 1, 3, 3) Tensor
        For example ``as_weight([XC, YC], image)`` (centred gradient) or
        learnable edge kernels of a network.
    eps : float
        Added under the root; a small value keeps the gradient with respect to
        learned kernels finite on flat regions. Default 0.

    Returns
    -------
    magnitude : (N, 1, H, W) Tensor
    """
    return torch.sqrt((apply_stencils(image, kernels) ** 2).sum(dim=1, keepdim=True) + eps)


def relative_edge_strength(image: torch.Tensor, kernels: torch.Tensor, *, sigma: float = 0.0,
                           eps: float = 0.0) -> torch.Tensor:
    """``|K ⋆ G_σ * I|`` divided by its maximum in each image, in [0, 1]: what the remap of ``g`` reads.

    Parameters
    ----------
    image : (N, 1, H, W) Tensor
    kernels : (K, 1, 3, 3) Tensor
        Gradient stencils (fixed or learned).
    sigma : float
        Gaussian blur first (pixels); 0 for none. Default 0.
    eps : float
        As :func:`gradient_magnitude`. Default 0.

    Returns
    -------
    (N, 1, H, W) Tensor
        A flat image (maximum 0) gives 0 everywhere.
    """
    mag = gradient_magnitude(gaussian_blur(image, sigma), kernels, eps=eps)
    return mag / _per_image_max(mag)


def itksnap_remap(x: torch.Tensor, *, kappa: float, lam: float) -> torch.Tensor:
    """ITK-SNAP's edge remapping ``g = 1 / (1 + (x/κ)^λ)``, ``x`` already in [0, 1]."""
    return 1.0 / (1.0 + (x / kappa) ** lam)


def _per_image_max(x: torch.Tensor) -> torch.Tensor:
    # reducing only the spatial dimensions (not batch nor channels);
    # a flat image (max 0) is divided by 1 instead, giving g = 1 everywhere
    m = x.amax(dim=(-2, -1), keepdim=True)
    return torch.where(m > 0, m, torch.ones_like(m))


def edge_function(
    image: torch.Tensor,
    *,
    method: str = "itksnap",
    sigma: float | None = None,
    kappa: float = 0.04,
    lam: float = 3.0,
    **options,
) -> torch.Tensor:
    r"""The edge (speed) function ``g`` of an image.

    Parameters
    ----------
    image : (N, 1, H, W) or (H, W) Tensor or array
        Image; float dtypes are kept, anything else becomes float32.
    method : {"itksnap", "sobel4", "inverse_gaussian"}
        * ``"itksnap"`` (default): ITK-SNAP's edge preprocessing,
          ``x = |∇(G_σ * I)| / max``, ``g = 1/(1 + (x/κ)^λ)``, centred
          differences for ∇.
        * ``"sobel4"``: the authors' ``g = 1/(1 + 20 s)`` with
          ``s = (|Sobel ∇I|²)² / max``, no blur; equal to
          ``itksnap_remap(|Sobel ∇I|/max, kappa=20**-0.25, lam=4)``.
        * ``"inverse_gaussian"``: scikit-image's
          ``inverse_gaussian_gradient``, ``g = 1/sqrt(1 + a·|∇G_σ * I|)``
          with derivative-of-Gaussian filters.
    sigma : float, optional
        Gaussian standard deviation in pixels. Default 1.0 for ``"itksnap"``
        (ITK-SNAP's ``GaussianBlurScale``) and 5.0 for ``"inverse_gaussian"``
        (scikit-image's default); ``"sobel4"`` does not blur.
    kappa, lam : float
        Remapping steepness κ and exponent λ of ``"itksnap"`` (ITK-SNAP's
        defaults 0.04 and 3.0). Ignored, with a warning, by the other methods.
    **options
        ``alpha`` (default 100.0) for ``"inverse_gaussian"``.

    Returns
    -------
    g : Tensor, same shape as ``image``
        In (0, 1]; 1 where the image is flat.

    Raises
    ------
    InputError
        Unknown method or option, bad shape, or ``kappa``/``lam``/``sigma``
        not positive.

    Notes
    -----
    Every maximum is taken per image (over H, W only), so a batch gives the
    same result as one call per image.

    References
    ----------
    .. [1] P. A. Yushkevich et al., "User-guided 3D active contour segmentation
       of anatomical structures", NeuroImage 31 (2006),
       doi:10.1016/j.neuroimage.2006.01.015.

    Examples
    --------
    >>> import torch
    >>> img = torch.zeros(16, 16); img[4:12, 4:12] = 1.0
    >>> g = edge_function(img)
    >>> g.shape, bool(g.max() <= 1.0), bool(g.min() < 0.1)
    (torch.Size([16, 16]), True, True)
    """
    x, squeeze = _as_batch(image)
    allowed = {"inverse_gaussian": {"alpha"}}.get(method, set())
    if method not in METHODS:
        raise InputError(f"method={method!r} is not one of {set(METHODS)}")
    if set(options) - allowed:
        raise InputError(f"unknown options {sorted(set(options) - allowed)} for method={method!r}; allowed: {sorted(allowed)}")
    if not (kappa > 0 and lam > 0) or (sigma is not None and sigma < 0):
        raise InputError(f"kappa={kappa}, lam={lam} must be positive and sigma={sigma} non-negative")
    if method != "itksnap" and (kappa != 0.04 or lam != 3.0):
        warnings.warn(f"kappa and lam are ignored by method={method!r}", stacklevel=2)
    if method == "itksnap":
        strength = relative_edge_strength(x, as_weight([XC, YC], x), sigma=1.0 if sigma is None else sigma)
        g = itksnap_remap(strength, kappa=kappa, lam=lam)
    elif method == "sobel4":
        g = itksnap_remap(relative_edge_strength(x, as_weight([SOBEL_X, SOBEL_Y], x)), kappa=SOBEL4_KAPPA, lam=4.0)
    else:
        s = 5.0 if sigma is None else sigma
        gx, gy = gaussian_gradient(x, s)
        mag = torch.sqrt(gx**2 + gy**2)
        g = 1.0 / torch.sqrt(1.0 + options.get("alpha", 100.0) * mag)
    return g[0, 0] if squeeze else g


def _as_batch(image) -> tuple[torch.Tensor, bool]:
    x = torch.as_tensor(image)
    if not torch.is_floating_point(x):
        x = x.to(torch.float32)
    if x.ndim == 2:
        return x[None, None], True
    if x.ndim == 4 and x.shape[1] == 1:
        return x, False
    raise InputError(f"image has shape {tuple(x.shape)}; expected (N, 1, H, W) or (H, W)")
