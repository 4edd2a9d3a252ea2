"""Framing: where the face goes in the output frame, and the warp that puts it there.

:func:`plan` is a pure function of the face geometry, the photo's size and the platform preset: it
returns a :class:`Crop`, one similarity transform (rotation that levels the eyes, uniform scale,
translation) from photo pixels to output pixels, plus what had to be compromised. The rules:

- the eye line lands on the platform's ``eye_line``; the head (chin to crown, hair excluded) is
  ``head_height`` of the frame; the face is centred horizontally;
- roll is straightened (the eyes level);
- where the photo's bottom edge cuts the subject (a selfie's shoulders), the head is enlarged up to
  ``max_zoom`` to keep that edge out of the frame; beyond that the subject fades softly into the
  backdrop below the edge, and the report says so. Room missing above or beside the subject is filled by the backdrop;
- without an explicit size, the output is made smaller (down to ``min_side``) rather than upscaling
  the face more than 2x; when that is not enough or the size was asked for, the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .face import FACE_OVAL, Face
from .presets import Platform

__all__ = ["Crop", "plan", "pyramid", "warp_image", "warp_alpha", "MAX_SILENT_UPSCALE"]

MAX_SILENT_UPSCALE = 2.0


@dataclass(frozen=True)
class Crop:
    """A framing decision.

    Attributes
    ----------
    matrix : ndarray, shape (2, 3), float64
        Affine map from photo pixels (x, y) to output pixels.
    width, height : int
        Output size in pixels.
    scale : float
        Output pixels per photo pixel (> 1 means the photo is enlarged).
    rotation : float
        Degrees the photo was rotated to level the eyes (= -roll).
    zoom : float
        Factor by which the head was enlarged beyond the platform's ``head_height`` (>= 1).
    extended : tuple of str
        Frame edges beyond the photo where the subject had to be continued ("bottom", "left",
        "right") or is visibly cut ("top").
    notes : tuple of str
        Sentences for the report (upscaling, reduced size, extensions).
    """

    matrix: np.ndarray
    width: int
    height: int
    scale: float
    rotation: float
    zoom: float
    extended: tuple[str, ...]
    notes: tuple[str, ...]

    def apply(self, pts: np.ndarray) -> np.ndarray:
        """Map (N, 2) photo points to output points."""
        pts = np.asarray(pts, dtype=np.float64)
        return pts @ self.matrix[:, :2].T + self.matrix[:, 2]

    def invert(self, pts: np.ndarray) -> np.ndarray:
        """Map (N, 2) output points back to photo points."""
        inv = cv2.invertAffineTransform(self.matrix)
        return np.asarray(pts, dtype=np.float64) @ inv[:, :2].T + inv[:, 2]

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly summary for the report."""
        corners = self.invert(np.array([[0, 0], [self.width, 0], [self.width, self.height], [0, self.height]]))
        return {
            "size": [self.width, self.height],
            "scale": round(self.scale, 4),
            "rotation_deg": round(self.rotation, 2),
            "zoom": round(self.zoom, 3),
            "source_quad": [[round(float(x), 1), round(float(y), 1)] for x, y in corners],
            "extended": list(self.extended),
        }


def _output_size(platform: Platform, size: int | None) -> tuple[int, int, list[str]]:
    notes: list[str] = []
    w, h = platform.width, platform.height
    if size is not None:
        if platform.fixed_size:
            notes.append(f"{platform.name} has a fixed size ({w}x{h}); the requested size {size} px was not used")
        else:
            k = size / max(w, h)
            w, h = max(16, round(w * k)), max(16, round(h * k))
    return w, h, notes


def _matrix(face: Face, w: int, h: int, eye_line: float, s: float, theta: float) -> np.ndarray:
    c, sn = math.cos(theta), math.sin(theta)
    r = np.array([[c, sn], [-sn, c]])  # levels the eye vector (cos t, sin t) onto +x
    anchor = face.eye_mid.astype(np.float64)
    oval = face.landmarks[list(FACE_OVAL), :2].astype(np.float64)
    xs = (oval - anchor) @ r.T
    centre = (xs[:, 0].min() + xs[:, 0].max()) / 2.0
    t = np.array([w / 2.0 - s * centre, eye_line * h])
    m = np.empty((2, 3))
    m[:, :2] = s * r
    m[:, 2] = t - s * (r @ anchor)
    return m


def _bottom_overflow(m: np.ndarray, w: int, h: int, photo_h: int) -> float:
    """How far (photo pixels) the frame's bottom corners reach below the photo's bottom edge."""
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0.0, h], [float(w), h]]) @ inv[:, :2].T + inv[:, 2]
    return float(corners[:, 1].max() - photo_h)


def plan(
    face: Face,
    photo_size: tuple[int, int],
    platform: Platform,
    *,
    size: int | None = None,
    touching: tuple[str, ...] = (),
    head_top: tuple[float, float] | None = None,
    straighten: bool = True,
) -> Crop:
    """Frame a face for a platform.

    Parameters
    ----------
    face : Face
        The subject's face (landmarks in photo pixels).
    photo_size : (width, height)
        The photo's size in pixels.
    platform : Platform
        Framing rules and output size.
    size : int, optional
        Longest output side in pixels; default: the platform's size (possibly reduced, see module doc).
    touching : tuple of str
        Photo edges the subject touches (from the matte): decides where the frame may be extended.
    head_top : (x, y), optional
        Top of the hair in photo pixels (from the matte): the head is not enlarged so far that the
        hair leaves the frame, and on ID platforms it is made smaller (down to ``min_head_height``)
        so that voluminous hair fits.
    straighten : bool
        Level the eyes (default). Off keeps the photo's roll.

    Returns
    -------
    Crop
    """
    pw, ph = photo_size
    w, h, notes = _output_size(platform, size)
    theta = math.radians(face.pose.roll) if straighten else 0.0
    head = max(face.head_height, 1.0)
    s = platform.head_height * h / head

    if size is None and not platform.fixed_size and s > MAX_SILENT_UPSCALE:
        # Rather than invent detail, deliver fewer, real pixels.
        k = max(MAX_SILENT_UPSCALE / s, platform.min_side / min(w, h))
        if k < 1.0:
            nw, nh = max(16, math.floor(w * k)), max(16, math.floor(h * k))  # down: never above 2x
            notes.append(
                f"output reduced from {w}x{h} to {nw}x{nh} px so the face is not enlarged more than "
                f"{MAX_SILENT_UPSCALE:g}x (the face in the photo is {face.width:.0f} px wide); "
                "a closer or higher-resolution photo gives a larger headshot"
            )
            w, h = nw, nh
            s = platform.head_height * h / head

    # The largest scale at which the hair still has its margin above it.
    s_hair = math.inf
    if head_top is not None:
        hair_up = float(np.dot(np.asarray(head_top) - face.eye_mid, face.up))
        if hair_up > 0:
            s_hair = (platform.eye_line - platform.hair_margin) * h / hair_up
    if s > s_hair and platform.min_head_height < platform.head_height:
        s_new = max(s_hair, platform.min_head_height * h / head)
        notes.append(
            f"head made {s_new / s:.2f}x smaller so the hair fits in the frame "
            f"(chin-to-crown {s_new * head / h:.0%} of the height)"
        )
        s = s_new

    m = _matrix(face, w, h, platform.eye_line, s, theta)
    zoom = 1.0
    extended: list[str] = []
    if "bottom" in touching and _bottom_overflow(m, w, h, ph) > 0:
        lo, hi = 1.0, max(1.0, min(platform.max_zoom, s_hair / s))
        if _bottom_overflow(_matrix(face, w, h, platform.eye_line, s * hi, theta), w, h, ph) > 0:
            zoom = hi
        else:
            for _ in range(30):
                mid = (lo + hi) / 2
                if _bottom_overflow(_matrix(face, w, h, platform.eye_line, s * mid, theta), w, h, ph) > 0:
                    lo = mid
                else:
                    hi = mid
            zoom = hi
        s *= zoom
        m = _matrix(face, w, h, platform.eye_line, s, theta)
        if zoom > 1.0 + 1e-3:
            notes.append(f"head enlarged {zoom:.2f}x so the photo's bottom edge stays out of the frame")
        if _bottom_overflow(m, w, h, ph) > 0.5:
            extended.append("bottom")
            notes.append("shoulders are cut off by the photo's bottom edge; they fade into the backdrop")

    inv = cv2.invertAffineTransform(m)
    quad = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]) @ inv[:, :2].T + inv[:, 2]
    if "left" in touching and quad[:, 0].min() < -0.5:
        extended.append("left")
    if "right" in touching and quad[:, 0].max() > pw + 0.5:
        extended.append("right")
    if any(e in extended for e in ("left", "right")):
        notes.append("the subject is cut by the photo's side edge; it fades into the backdrop there")
    if "top" in touching and quad[:, 1].min() < -0.5:
        extended.append("top")
        notes.append("the top of the head is cut off in the photo; leave room above your head next time")

    if s > MAX_SILENT_UPSCALE:
        notes.append(
            f"the face is enlarged {s:.1f}x (more than {MAX_SILENT_UPSCALE:g}x): expect a soft result; "
            "use a closer or higher-resolution photo, or a smaller --size"
        )
    return Crop(
        matrix=m,
        width=w,
        height=h,
        scale=float(s),
        rotation=float(-math.degrees(theta)),
        zoom=float(zoom),
        extended=tuple(extended),
        notes=tuple(notes),
    )


def _prepare(src: np.ndarray, m: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut the part of `src` the frame needs and pre-shrink it when the frame downsamples.

    ``cv2.warpAffine`` interpolates from 4 or 16 neighbours only, which aliases when the scale is
    well below 1; resizing with INTER_AREA first (an exact box filter) leaves the warp a rotation and
    a sub-pixel shift. Returns the prepared source and the matrix that maps it to the output.
    """
    sh, sw = src.shape[:2]
    inv = cv2.invertAffineTransform(m)
    quad = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]) @ inv[:, :2].T + inv[:, 2]
    pad = 4
    x0 = int(max(0, math.floor(quad[:, 0].min()) - pad))
    y0 = int(max(0, math.floor(quad[:, 1].min()) - pad))
    x1 = int(min(sw, math.ceil(quad[:, 0].max()) + pad))
    y1 = int(min(sh, math.ceil(quad[:, 1].max()) + pad))
    if x1 <= x0 or y1 <= y0:  # the frame misses the photo entirely: keep one edge pixel to replicate
        x0, y0 = min(max(0, x0), sw - 1), min(max(0, y0), sh - 1)
        x1, y1 = x0 + 1, y0 + 1
    part = src[y0:y1, x0:x1]
    m2 = m.copy()
    m2[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    if scale < 0.75:
        pw2 = max(1, round(part.shape[1] * scale))
        ph2 = max(1, round(part.shape[0] * scale))
        fx, fy = pw2 / part.shape[1], ph2 / part.shape[0]
        part = cv2.resize(part, (pw2, ph2), interpolation=cv2.INTER_AREA)
        m2 = m2 @ np.array([[1 / fx, 0, 0], [0, 1 / fy, 0], [0, 0, 1]])
        # pixel-centre convention: resize maps centres (i+0.5)/f - 0.5
        m2[:, 2] += m[:, :2] @ np.array([0.5 / fx - 0.5, 0.5 / fy - 0.5])
    return part, m2


def pyramid(pixels: np.ndarray, *, min_side: int = 600) -> tuple[np.ndarray, ...]:
    """Half, quarter... copies of the photo (exact 2x2 box filter), down to about `min_side` pixels.

    Made once per photo at analysis, so that each rendered variant resamples from the nearest level
    instead of shrinking the full-resolution photo again.
    """
    levels = []
    cur = pixels
    while min(cur.shape[:2]) // 2 >= min_side:
        cur = cv2.resize(cur, (cur.shape[1] // 2, cur.shape[0] // 2), interpolation=cv2.INTER_AREA)
        cur.flags.writeable = False
        levels.append(cur)
    return tuple(levels)


def warp_image(pixels: np.ndarray, crop: Crop, *, levels: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """Warp the photo into the output frame.

    Parameters
    ----------
    pixels : ndarray, shape (H, W, 3), float32, linear RGB in [0, 1]
    crop : Crop
    levels : tuple of ndarray
        Optional :func:`pyramid` of `pixels`; the smallest level that is still at least as large as
        the output's scale is used as the source (same result, less work).

    Returns
    -------
    ndarray, shape (crop.height, crop.width, 3), float32 in [0, 1]
        Past the photo's edges: its edge, blurred (the matte fades the subject out there).
    """
    src, matrix = pixels, crop.matrix
    for level in levels:
        f = level.shape[1] / pixels.shape[1]  # level pixels per photo pixel (~1/2, 1/4...)
        if f < crop.scale:
            break
        fy = level.shape[0] / pixels.shape[0]
        # photo pixel p -> level pixel (p + 0.5) * f - 0.5
        to_level = np.array([[f, 0, 0.5 * f - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1]])
        src, matrix = level, crop.matrix @ np.linalg.inv(to_level)
    part, m = _prepare(src, matrix, crop.width, crop.height)
    out = cv2.warpAffine(
        part, m, (crop.width, crop.height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    np.clip(out, 0.0, 1.0, out=out)
    # Past the photo's edges the repeated edge pixels would show as streaks while the subject fades
    # out (see warp_alpha): blend them progressively into a strongly blurred copy, so what fades is a
    # soft continuation of the clothing's colour. (Mirroring instead would repeat a chin or a hand.)
    maps = _past_edges(crop.matrix, pixels.shape, crop)
    if maps is not None and float(maps[1].max()) > 0:
        past = maps[1]
        k = 16
        small = cv2.resize(out, (max(1, crop.width // k), max(1, crop.height // k)), interpolation=cv2.INTER_AREA)
        soft = cv2.resize(cv2.GaussianBlur(small, (0, 0), 1.5), (crop.width, crop.height),
                          interpolation=cv2.INTER_LINEAR)
        t = np.clip(past / (0.25 * FADE_LENGTH * crop.height), 0.0, 1.0)
        rows = np.flatnonzero(t.max(axis=1) > 0)
        cols = np.flatnonzero(t.max(axis=0) > 0)
        ys, xs = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        o = out[ys, xs]
        o += (soft[ys, xs] - o) * t[ys, xs, None]
    return out


def warp_alpha(alpha: np.ndarray, alpha_scale: float, crop: Crop, *, top: bool = True) -> np.ndarray:
    """Warp a matte-resolution map (``alpha_scale`` map pixels per photo pixel) into the output frame.

    With ``top=True`` (the matte) the subject fades out past the photo's bottom and side edges and
    is absent above its top edge: nothing grows out of the top of a head.

    Parameters
    ----------
    alpha : ndarray, shape (h, w) or (h, w, C), float32
        The matte (in [0, 1]) or another map at the matte's resolution (then ``top=False``).
    alpha_scale : float
    crop : Crop
    top : bool
        Zero the map above the photo's top edge and clip it to [0, 1].

    Returns
    -------
    ndarray, shape (crop.height, crop.width[, C]), float32
    """
    m = crop.matrix @ np.array([[1 / alpha_scale, 0, 0], [0, 1 / alpha_scale, 0], [0, 0, 1]])
    # Matte pixel centres: photo x = (u + 0.5) / scale - 0.5.
    m[:, 2] += crop.matrix[:, :2] @ np.array([0.5 / alpha_scale - 0.5] * 2)
    part, m2 = _prepare(alpha, m, crop.width, crop.height)
    out = cv2.warpAffine(
        part, m2, (crop.width, crop.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    if not top:
        return out.astype(np.float32, copy=False)
    out *= _edge_fade(m, alpha.shape, crop)
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32, copy=False)


FADE_LENGTH = 0.12  # fraction of the output height over which a cut-off subject fades out


def _past_edges(m: np.ndarray, shape: tuple[int, ...], crop: Crop) -> tuple[np.ndarray, np.ndarray] | None:
    """For each output pixel: its source row, and how far (output pixels) it lies past the source's
    bottom or side edges (<= 0 inside). ``m`` maps source pixels of an array of ``shape`` to output.

    Returns None when the whole frame lies inside the source (nothing to fade). Both maps are smooth
    (piecewise affine), so they are computed on a grid 4x coarser and interpolated: at output sizes of
    several megapixels that is the difference between ~40 ms and ~3 ms per map.
    """
    h, w = shape[:2]
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0.0, 0.0], [crop.width, 0.0], [crop.width, crop.height], [0.0, crop.height]])
    src = corners @ inv[:, :2].T + inv[:, 2]
    if src[:, 0].min() >= -0.5 and src[:, 0].max() <= w - 0.5 and src[:, 1].min() >= -0.5 and src[:, 1].max() <= h - 0.5:
        return None
    g = 4
    gw, gh = -(-crop.width // g), -(-crop.height // g)
    # Grid points at the centres of g x g blocks, matching cv2.resize's pixel-centre convention.
    xs = (np.arange(gw, dtype=np.float32) * g + (g - 1) / 2)[None, :]
    ys = (np.arange(gh, dtype=np.float32) * g + (g - 1) / 2)[:, None]
    src_x = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    src_y = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    k = float(math.sqrt(abs(np.linalg.det(m[:, :2]))))  # source pixel -> output pixels
    # Euclidean distance outside the rectangle (the top is handled apart), so corners fade round.
    dx = np.maximum(np.maximum(-0.5 - src_x, src_x - (w - 0.5)), 0.0)
    dy = np.maximum(src_y - (h - 0.5), 0.0)
    past = (np.hypot(dx, dy) * k).astype(np.float32)
    size = (gw * g, gh * g)
    up_y = cv2.resize(src_y.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    up_past = cv2.resize(past, size, interpolation=cv2.INTER_LINEAR)
    return up_y[: crop.height, : crop.width], up_past[: crop.height, : crop.width]


def _edge_fade(m: np.ndarray, shape: tuple[int, ...], crop: Crop) -> np.ndarray:
    """Opacity of the subject where the frame reaches past the photo.

    Above the photo's top edge: nothing (a one-pixel transition). Past its bottom and side edges:
    the subject fades smoothly into the backdrop over ``FADE_LENGTH`` of the frame's height, the way
    a studio vignette ends a bust, rather than ending in a hard line.
    """
    maps = _past_edges(m, shape, crop)
    if maps is None:
        return np.ones((crop.height, crop.width), dtype=np.float32)
    src_y, past = maps
    fade = np.clip(src_y + 0.5, 0.0, 1.0)  # >= 0 inside the photo
    if float(past.max()) > 0:
        t = np.clip(past / (FADE_LENGTH * crop.height), 0.0, 1.0)
        fade *= 1.0 - t * t * (3.0 - 2.0 * t)  # smoothstep
    return fade
