"""Separating the subject from its background: the alpha matte.

Version 1 (the foundation): MediaPipe's selfie segmentation (a 256x256 model that ships in the
pinned wheel) gives a coarse, blobby person mask; it is upsampled to a working resolution and refined
to the photo's own edges with a guided filter (He et al. 2010, OpenCV's ximgproc implementation), the
face oval from the landmarks is forced opaque, and an alpha channel carried by the file (a cut-out
PNG) is respected. True hair matting with pymatting is the matting issue's work; it replaces
:func:`compute` behind the same :class:`Matte` contract.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from .face import Face, region_mask
from .imageio import to_srgb8

__all__ = ["Matte", "compute", "WORK_SIDE"]

# Longest side of the matte. The render warps it to the output; at 1536 px a head-and-shoulders
# frame of a phone selfie is matted at roughly the output's own resolution.
WORK_SIDE = 1536


@dataclass(frozen=True)
class Matte:
    """The subject's alpha matte.

    Attributes
    ----------
    alpha : ndarray, shape (h, w), float32 in [0, 1]
        1 = subject, 0 = background, at the matte's resolution.
    scale : float
        Matte pixels per photo pixel (``alpha`` covers the whole photo: ``h ~ H * scale``).
    method : str
        How it was made, for the report.
    edges : tuple of str
        Photo edges the subject touches ("top", "bottom", "left", "right"): where the subject is cut
        by the frame of the original photo.
    decontaminate : ndarray, shape (h, w, 3), float32, or None
        Linear-RGB correction to add to the photo's colours on the subject's edge (same resolution
        as ``alpha``): estimated foreground colour minus observed colour, zero inside the subject.
        It removes the old background's colour from semi-transparent edge pixels (no halo).
    head_top : (x, y) or None
        The top of the hair above the face, in photo pixels, when the matte shows it (``None``
        when the head is cut by the photo's top edge).
    """

    alpha: np.ndarray
    scale: float
    method: str
    edges: tuple[str, ...]
    decontaminate: np.ndarray | None = None
    head_top: tuple[float, float] | None = None


@lru_cache(maxsize=1)
def _segmenter() -> tuple[Any, threading.Lock]:
    import mediapipe as mp

    # model_selection=0: the 256x256 "general" model (the landscape one is 144x256).
    return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0), threading.Lock()


def _touching_edges(alpha: np.ndarray, threshold: float = 0.5, min_fraction: float = 0.02) -> tuple[str, ...]:
    h, w = alpha.shape
    out = []
    for name, line, n in (
        ("top", alpha[0, :], w),
        ("bottom", alpha[-1, :], w),
        ("left", alpha[:, 0], h),
        ("right", alpha[:, -1], h),
    ):
        if np.count_nonzero(line > threshold) >= max(2, min_fraction * n):
            out.append(name)
    return tuple(out)


def _decontamination(image: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    """Foreground colour minus observed colour on the edge band (pymatting's multi-level estimate).

    Computed only inside the bounding box of the band of partial alpha, so its cost follows the
    silhouette's extent rather than the photo's size.
    """
    band = (alpha > 0.01) & (alpha < 0.99)
    if not band.any():
        return None
    from pymatting import estimate_foreground_ml  # numba-compiled: imported only when needed

    ys, xs = np.nonzero(band)
    pad = 8
    y0, y1 = max(0, ys.min() - pad), min(alpha.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(alpha.shape[1], xs.max() + pad + 1)
    img = image[y0:y1, x0:x1].astype(np.float64)
    a = alpha[y0:y1, x0:x1].astype(np.float64)
    fg = estimate_foreground_ml(img, a)
    delta = np.zeros(image.shape, dtype=np.float32)
    # Only where the pixel is a mix: opaque pixels keep the photo's own colours exactly.
    w = np.clip((1.0 - a) / 0.05, 0.0, 1.0)
    delta[y0:y1, x0:x1] = ((fg - img) * w[:, :, None]).astype(np.float32)
    return delta


def _head_top(alpha: np.ndarray, face: Face, scale: float) -> tuple[float, float] | None:
    """Walk up the face's axis from the eyes through the matte to where the hair ends.

    Several parallel lines across the middle half of the face are walked and the highest end kept,
    so a parting or a thin spot does not stop the walk early. Returns photo pixels, or None when the
    walk leaves the photo (the head is cut by the top edge).
    """
    up = face.up
    across = np.array([-up[1], up[0]])
    h, w = alpha.shape
    best = None
    step = 0.5
    n = int(face.chin_to_eyes * 4 * scale / step)
    for off in np.linspace(-0.25, 0.25, 7) * face.width:
        start = (face.eye_mid + across * off) * scale
        ts = np.arange(n) * step
        pts = start[None, :] + ts[:, None] * up[None, :]
        xi, yi = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        if not inside.all():
            first_out = int(np.argmin(inside))
            vals = alpha[yi[:first_out], xi[:first_out]]
            if vals.size and (vals > 0.5).all():
                return None  # subject runs off the top of the photo
        else:
            first_out = n
        vals = alpha[yi[:first_out], xi[:first_out]]
        below = np.nonzero(vals < 0.5)[0]
        end = int(below[0]) if below.size else first_out
        t = ts[max(end - 1, 0)]
        if best is None or t > best[0]:
            best = (t, pts[max(end - 1, 0)] / scale)
    if best is None:
        return None
    return (float(best[1][0]), float(best[1][1]))


def compute(
    image: np.ndarray,
    face: Face,
    *,
    photo_scale: float,
    file_alpha: np.ndarray | None = None,
) -> Matte:
    """Compute the subject's matte.

    Parameters
    ----------
    image : ndarray, shape (h, w, 3), float32, linear RGB in [0, 1]
        The photo at the matte's working resolution.
    face : Face
        The subject's face, landmarks in full-photo pixels.
    photo_scale : float
        ``rgb8`` pixels per full-photo pixel.
    file_alpha : ndarray, shape (h, w), float32 in [0, 1], optional
        Transparency carried by the file, at ``image``'s resolution.

    Returns
    -------
    Matte
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.float32:
        raise ValueError(f"image must be float32 (h, w, 3), got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    rgb8 = to_srgb8(image)
    seg, lock = _segmenter()
    with lock:
        coarse = seg.process(rgb8).segmentation_mask
    coarse = np.asarray(coarse, dtype=np.float32)
    if coarse.shape != (h, w):
        coarse = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)

    # The face oval is always subject: the segmenter sometimes thins out faces against skin-toned
    # backgrounds. Dilate it a little so the forehead-hair junction is not a hard polygon edge.
    oval = region_mask(face, "face", (h, w), scale=photo_scale)
    r = max(1, int(round(face.width * photo_scale * 0.04)))
    oval = cv2.GaussianBlur(oval, (0, 0), r)
    coarse = np.maximum(coarse, np.clip(oval * 1.5, 0, 1))

    # Edge-aware refinement: the guided filter snaps the soft mask to the photo's edges. Radius in
    # proportion to the face so the result does not depend on the photo's resolution.
    radius = max(2, int(round(face.width * photo_scale * 0.05)))
    guide = rgb8.astype(np.float32) / 255.0
    refined = cv2.ximgproc.guidedFilter(guide, coarse, radius, 1e-3)
    # Re-steepen: the filter leaves a gentle ramp where the segmenter was unsure; a photographic
    # edge is one to three pixels wide. Centred a little above 0.5 because the segmenter's mask
    # runs wide of the silhouette (it leaves a rim of the old background round the hair).
    alpha = np.clip((refined - 0.6) * 2.5 + 0.5, 0.0, 1.0)
    if file_alpha is not None:
        alpha = np.minimum(alpha, file_alpha.astype(np.float32))
        method = "selfie segmentation + guided filter, limited by the file's alpha"
    else:
        method = "selfie segmentation + guided filter"
    alpha = np.ascontiguousarray(alpha, dtype=np.float32)
    alpha.flags.writeable = False
    delta = _decontamination(image, alpha)
    if delta is not None:
        delta.flags.writeable = False
        method += ", edge colours decontaminated"
    return Matte(alpha=alpha, scale=float(photo_scale), method=method, edges=_touching_edges(alpha),
                 decontaminate=delta, head_top=_head_top(alpha, face, photo_scale))
