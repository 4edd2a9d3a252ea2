"""Procedural studio backdrops, rendered at output resolution in linear light.

Deterministic: the paper grain comes from a fixed seed, so the same style and size always give the
same pixels (a team shares its backdrop exactly).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .imageio import srgb_to_linear
from .presets import Backdrop

__all__ = ["render", "GRAIN_SEED"]

GRAIN_SEED = 20240611


@lru_cache(maxsize=8)
def _grain(height: int, width: int) -> np.ndarray:
    """Fixed paper grain: unit-variance noise, lightly smoothed so it reads as paper, not sensor noise."""
    rng = np.random.default_rng(GRAIN_SEED)
    g = rng.standard_normal((height, width), dtype=np.float32)
    g = cv2.GaussianBlur(g, (0, 0), 0.7)
    g /= max(float(g.std()), 1e-6)
    g.flags.writeable = False
    return g


@lru_cache(maxsize=16)
def render(backdrop: Backdrop, width: int, height: int) -> np.ndarray:
    """Render a backdrop.

    Cached (a team run renders the same style at the same size for every person); the returned array
    is read-only.

    Parameters
    ----------
    backdrop : Backdrop
        The style's backdrop description.
    width, height : int
        Output size in pixels.

    Returns
    -------
    ndarray, shape (height, width, 3), float32, linear RGB in [0, 1], read-only
    """
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be positive, got {width}x{height}")
    centre = srgb_to_linear(np.asarray(backdrop.colour, dtype=np.float32))
    if backdrop.kind == "solid":
        img = np.empty((height, width, 3), dtype=np.float32)
        img[:] = centre
    else:
        if backdrop.edge_colour is not None:
            edge = srgb_to_linear(np.asarray(backdrop.edge_colour, dtype=np.float32))
        else:
            # falloff 1 = the corners two stops below the centre.
            edge = centre * np.float32(2.0 ** (-2.0 * backdrop.falloff))
        diag = float(np.hypot(width, height))
        ys = (np.arange(height, dtype=np.float32) + 0.5 - backdrop.center[1] * height) / diag
        xs = (np.arange(width, dtype=np.float32) + 0.5 - backdrop.center[0] * width) / diag
        # A background light on paper: a smooth Gaussian pool of light. A 2-D Gaussian is the outer
        # product of two 1-D ones, which saves evaluating exp() per pixel.
        k = np.float32(1.0 / (2.0 * backdrop.spread**2 * 0.25))
        wgt = np.outer(np.exp(-k * ys * ys), np.exp(-k * xs * xs)).astype(np.float32)
        img = np.empty((height, width, 3), dtype=np.float32)
        for c in range(3):
            img[:, :, c] = wgt * np.float32(centre[c] - edge[c]) + np.float32(edge[c])
    if backdrop.grain > 0:
        img *= (1.0 + backdrop.grain * _grain(height, width))[:, :, None]
    np.clip(img, 0.0, 1.0, out=img)
    img.flags.writeable = False
    return img
