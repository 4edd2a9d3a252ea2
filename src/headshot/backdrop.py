"""Procedural studio backdrops, rendered at output resolution in linear light.

Deterministic: the paper grain comes from a fixed seed, so the same style and size always give the
same pixels (a team shares its backdrop exactly).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .imageio import srgb_to_linear
from .presets import Backdrop

__all__ = ["render", "GRAIN_SEED"]

GRAIN_SEED = 20240611


@lru_cache(maxsize=8)
def _grain(height: int, width: int) -> np.ndarray:
    """Fixed paper grain: unit-variance noise, lightly smoothed so it reads as paper, not sensor noise."""
    import cv2

    rng = np.random.default_rng(GRAIN_SEED)
    g = rng.standard_normal((height, width), dtype=np.float32)
    g = cv2.GaussianBlur(g, (0, 0), 0.7)
    g /= max(float(g.std()), 1e-6)
    g.flags.writeable = False
    return g


def render(backdrop: Backdrop, width: int, height: int) -> np.ndarray:
    """Render a backdrop.

    Parameters
    ----------
    backdrop : Backdrop
        The style's backdrop description.
    width, height : int
        Output size in pixels.

    Returns
    -------
    ndarray, shape (height, width, 3), float32, linear RGB in [0, 1]
    """
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be positive, got {width}x{height}")
    centre = srgb_to_linear(np.asarray(backdrop.colour, dtype=np.float32))
    if backdrop.kind == "solid":
        img = np.broadcast_to(centre, (height, width, 3)).astype(np.float32)
    else:
        if backdrop.edge_colour is not None:
            edge = srgb_to_linear(np.asarray(backdrop.edge_colour, dtype=np.float32))
        else:
            # falloff 1 = the corners two stops below the centre.
            edge = centre * np.float32(2.0 ** (-2.0 * backdrop.falloff))
        diag = float(np.hypot(width, height))
        ys = (np.arange(height, dtype=np.float32) + 0.5 - backdrop.center[1] * height) / diag
        xs = (np.arange(width, dtype=np.float32) + 0.5 - backdrop.center[0] * width) / diag
        r2 = ys[:, None] ** 2 + xs[None, :] ** 2
        # A background light on paper: a smooth Gaussian pool of light.
        wgt = np.exp(-r2 / (2.0 * backdrop.spread**2 * 0.25), dtype=np.float32)
        img = edge[None, None, :] + (centre - edge)[None, None, :] * wgt[:, :, None]
    if backdrop.grain > 0:
        img = img * (1.0 + backdrop.grain * _grain(height, width)[:, :, None])
    return np.clip(img, 0.0, 1.0).astype(np.float32, copy=False)
